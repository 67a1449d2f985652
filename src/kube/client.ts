/**
 * A small Kubernetes API client on node:http/https: JSON requests, lists read page by page, and
 * watch streams read line by line. It knows no kinds; paths are the API's own
 * (`/api/v1/namespaces/istio-system/configmaps`). Chosen over @kubernetes/client-node (1.4.x is
 * the last line that runs on Node 20; ~70 packages and 70 MB, 1.6 s to import) because list and
 * watch are all skiffd needs, and the informer above it must add what that client lacks anyway:
 * backoff on relist, and a watchdog for a stalled stream.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConnection } from './kubeconfig.js';

/** A Kubernetes object as the API returns it. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [field: string]: unknown;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

/** An error the API server answered (`Status`), or failing to reach it (`code` 0). */
export class KubeApiError extends Error {
  override name = 'KubeApiError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
}

export interface WatchHandle {
  /** Resolves when the stream ends: cleanly ('end'), or cut or failed ('error', with the cause). */
  readonly done: Promise<{ how: 'end' | 'error'; error?: Error }>;
  /** Ends the stream from this side. */
  abort(): void;
}

export class KubeClient {
  private readonly agent: http.Agent;
  private readonly tls: boolean;

  constructor(readonly conn: KubeConnection) {
    this.tls = conn.server.startsWith('https:');
    const tlsOptions = { ...(conn.ca !== undefined ? { ca: conn.ca } : {}), ...(conn.cert !== undefined ? { cert: conn.cert, key: conn.key } : {}), rejectUnauthorized: conn.insecureSkipTlsVerify !== true };
    this.agent = this.tls ? new https.Agent({ keepAlive: true, ...tlsOptions }) : new http.Agent({ keepAlive: true });
  }

  close(): void {
    this.agent.destroy();
  }

  private open(method: string, path: string, headers: Record<string, string>): http.ClientRequest {
    const url = new URL(path, `${this.conn.server}/`);
    const token = this.conn.token?.();
    const options: http.RequestOptions = {
      method,
      agent: this.agent,
      headers: { accept: 'application/json', 'user-agent': 'skiffd', ...(token !== undefined && token !== '' ? { authorization: `Bearer ${token}` } : {}), ...headers },
    };
    return this.tls ? https.request(url, options) : http.request(url, options);
  }

  /** One JSON request; resolves with the decoded body of a 2xx answer, else rejects with `KubeApiError`. */
  request<T = KubeObject>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return this.send<T>(method, path, text, contentType, true);
  }

  private send<T>(method: string, path: string, text: string | undefined, contentType: string, mayRetry: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = this.open(method, path, text === undefined ? {} : { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)) });
      let answered = false;
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive connection the server closed while idle fails the next request sent on it
        // before any answer: the server never read that request, so it is sent again, once, on a
        // new connection (as Node's documentation advises for `reusedSocket`).
        if (mayRetry && !answered && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
          this.send<T>(method, path, text, contentType, false).then(resolve, reject);
          return;
        }
        reject(new KubeApiError(0, 'Unreachable', `${method} ${this.conn.server}${path}: ${err.message}`));
      });
      req.on('response', (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new KubeApiError(0, 'Unreachable', `${method} ${path}: ${err.message}`)));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = raw === '' ? {} : JSON.parse(raw);
          } catch {
            parsed = undefined;
          }
          if (code >= 200 && code < 300 && parsed !== undefined) resolve(parsed as T);
          else {
            const status = (parsed ?? {}) as { reason?: string; message?: string };
            reject(new KubeApiError(code, status.reason ?? 'Unknown', `${method} ${path}: ${code} ${status.message ?? raw.slice(0, 200)}`));
          }
        });
      });
      req.end(text);
    });
  }

  /** Every object at `path` matching `params`, read in pages of `limit` (the server may answer whole). */
  async list(path: string, params: Record<string, string> = {}, limit = 500): Promise<ListResult> {
    const items: KubeObject[] = [];
    let cont = '';
    let rv = '';
    do {
      const q = new URLSearchParams({ ...params, limit: String(limit), ...(cont !== '' ? { continue: cont } : {}) });
      const page = await this.request<{ items?: KubeObject[]; metadata?: { resourceVersion?: string; continue?: string } }>('GET', `${path}?${q.toString()}`);
      items.push(...(page.items ?? []));
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue ?? '';
    } while (cont !== '');
    return { items, resourceVersion: rv };
  }

  /** Opens a watch; `onEvent` gets each event as it arrives, in order. */
  watch(path: string, params: Record<string, string>, onEvent: (e: WatchEvent) => void): WatchHandle {
    const q = new URLSearchParams({ ...params, watch: 'true' });
    let req: http.ClientRequest | undefined;
    let aborted = false;
    const done = new Promise<{ how: 'end' | 'error'; error?: Error }>((resolve) => {
      req = this.open('GET', `${path}?${q.toString()}`, {});
      req.on('error', (error) => resolve(aborted ? { how: 'end' } : { how: 'error', error }));
      req.on('response', (res) => {
        const code = res.statusCode ?? 0;
        if (code !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8');
            let status: { reason?: string; message?: string } = {};
            try {
              status = JSON.parse(raw) as typeof status;
            } catch {
              // not a Status
            }
            resolve({ how: 'error', error: new KubeApiError(code, status.reason ?? 'Unknown', `watch ${path}: ${code} ${status.message ?? raw.slice(0, 200)}`) });
          });
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.trim() === '') continue;
            let e: WatchEvent;
            try {
              e = JSON.parse(line) as WatchEvent;
            } catch {
              req?.destroy(new Error(`watch ${path}: a line that is not JSON: ${line.slice(0, 100)}`));
              return;
            }
            onEvent(e);
          }
        });
        res.on('end', () => resolve({ how: 'end' }));
        res.on('aborted', () => resolve(aborted ? { how: 'end' } : { how: 'error', error: new Error(`watch ${path}: the connection was cut`) }));
        res.on('error', (error) => resolve(aborted ? { how: 'end' } : { how: 'error', error }));
      });
      req.end();
    });
    return {
      done,
      abort: () => {
        aborted = true;
        req?.destroy();
      },
    };
  }
}
