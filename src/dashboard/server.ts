/**
 * The dashboard's HTTP server on loopback: the single-page app (`ui/`), Cytoscape.js, and JSON
 * endpoints that read through `DashboardSources` only:
 *
 *   GET /api/graph?namespace=&window=   the service graph (`ServiceGraph`)
 *   GET /api/traces?limit=&service=     recent traces, newest first (`{ traces: TraceSummary[] }`)
 *   GET /api/traces/<id>                one trace's spans (`{ traceId, spans: TraceSpan[] }`), 404 when unknown
 *   GET /api/config                     applied resources with analyze's messages (`{ items: ConfigEntry[] }`)
 *   GET /api/proxies                    the proxy-status rows (`{ proxies: ProxyRow[] }`)
 *   GET /api/ratelimits?namespace=&window=  each proxy's rate-limit filters in force and its edges' 429s (`RateLimitsAnswer`)
 *
 * Unknown paths are 404, bad parameters 400, another Host or Origin 403 (`loopback.ts`) and a
 * failing source 500, each as `{ error }`; no request can stop the server.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { loadAssets } from './assets.js';
import { loopbackHosts, loopbackRefusal } from './loopback.js';
import type { Asset } from './assets.js';
import { BadRequest, graphQuery, traceId, tracesQuery } from './queries.js';
import type { DashboardSources } from './sources.js';

export const DEFAULT_DASHBOARD_PORT = 20001;

export interface DashboardServerOptions {
  sources: DashboardSources;
  /** Defaults to the files shipped under `src/dashboard/ui/` and the cytoscape package. */
  assets?: Map<string, Asset>;
  /** Told about sources that fail (the client gets a 500). */
  log?: (line: string) => void;
}


/** Everything comes from this server; Cytoscape sets inline styles on the elements it draws. */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
} as const;

type ApiHandler = (url: URL, rest: string) => Promise<{ status: number; body: unknown }>;

/** The dashboard's node:http server, not yet listening. */
export function createDashboardServer(opts: DashboardServerOptions): Server {
  const assets = opts.assets ?? loadAssets();
  const { sources } = opts;
  const api = new Map<string, ApiHandler>(Object.entries({
    graph: async (url) => ({ status: 200, body: await sources.graph(graphQuery(url.searchParams)) }),
    traces: async (url, rest) => {
      if (rest === '') return { status: 200, body: { traces: await sources.traces(tracesQuery(url.searchParams)) } };
      const id = traceId(rest);
      const spans = await sources.trace(id);
      return spans === undefined ? { status: 404, body: { error: `no trace ${id} (it may have aged out of the collector)` } } : { status: 200, body: { traceId: id, spans } };
    },
    config: async () => ({ status: 200, body: { items: await sources.config() } }),
    proxies: async () => ({ status: 200, body: { proxies: await sources.proxies() } }),
    ratelimits: async (url) => ({ status: 200, body: await sources.rateLimits(graphQuery(url.searchParams)) }),
  } satisfies Record<string, ApiHandler>));

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.log?.(`dashboard: ${req.method ?? ''} ${req.url ?? ''}: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Served to its own loopback names and origin only: a page from elsewhere that rebinds its
    // own name to 127.0.0.1, or fetches from it, must not read the mesh's config through the browser.
    const refused = loopbackRefusal(req, loopbackHosts(req.socket.localPort ?? 0), 'the dashboard');
    if (refused !== undefined) return sendJson(res, refused.status, { error: refused.error });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { error: `the dashboard only reads (GET), not ${req.method ?? ''}` });
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://dashboard');
    } catch {
      return sendJson(res, 400, { error: `not a request path: ${req.url ?? ''}` });
    }
    const apiMatch = /^\/api\/([a-z]+)(?:\/(.*))?$/.exec(url.pathname);
    if (apiMatch !== null) {
      const handler = api.get(apiMatch[1]);
      const rest = apiMatch[2] ?? '';
      if (handler === undefined || (rest !== '' && apiMatch[1] !== 'traces')) return sendJson(res, 404, { error: `no such endpoint: ${url.pathname}` });
      try {
        const { status, body } = await handler(url, rest);
        return sendJson(res, status, body);
      } catch (err) {
        if (err instanceof BadRequest) return sendJson(res, 400, { error: err.message });
        throw err;
      }
    }
    const asset = assets.get(url.pathname);
    if (asset === undefined) return sendJson(res, 404, { error: `not found: ${url.pathname}` });
    const body = await readFile(asset.file);
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.contentType, 'content-length': body.length, 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

export interface Dashboard {
  /** e.g. `http://127.0.0.1:20001` */
  readonly url: string;
  readonly port: number;
  /** Stops listening and ends open connections (the page's polls). Idempotent. */
  close(): Promise<void>;
}

/** Serves the dashboard on `host:port` (port 0: any free one); rejects when the port is taken. */
export async function startDashboard(opts: DashboardServerOptions & { port: number; host?: string }): Promise<Dashboard> {
  const server = createDashboardServer(opts);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
