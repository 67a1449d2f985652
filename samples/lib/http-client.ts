/**
 * The one outbound HTTP helper the sample applications and clients share: a single request
 * with a whole-exchange deadline, sent through the forward proxy named by HTTP_PROXY (absolute-form
 * request line, `Host` kept as the target's authority) or straight to the target, and failures
 * classified the way callers report them (DNS, refused, timeout, reset, TLS).
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { proxyFor } from './proxy-env.js';

/**
 * `tls`: the TLS handshake failed (an alert, a reset or the peer closing before it completed);
 * `partial`: the connection closed before the response body announced by its framing was complete.
 */
export type HttpErrorKind = 'dns' | 'connect' | 'timeout' | 'reset' | 'empty-reply' | 'partial' | 'tls' | 'tls-verify' | 'protocol' | 'proxy';

/** A failed exchange; `kind` says which stage failed so clients can map it to exit codes or statuses. */
export class HttpCallError extends Error {
  constructor(
    readonly kind: HttpErrorKind,
    message: string,
    readonly code?: string,
    /**
     * The cause as the socket or TLS library words it, for clients that print it as their
     * originals do: `Connection reset by peer`, `error:0A00010B:SSL routines::wrong version number`,
     * `end of response with 97 bytes missing`.
     */
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'HttpCallError';
  }
}

/** What the connection of one exchange went through, to tell a handshake failure from a later one. */
interface Progress {
  tls: boolean;
  handshaken: boolean;
}

const RESET_REASON = 'Connection reset by peer';

/** OpenSSL's own short form of a TLS error (`error:0A00010B:SSL routines::wrong version number`), as curl prints it. */
function opensslReason(err: NodeJS.ErrnoException): string {
  const m = /error:([0-9A-F]{8}):([^:]+):[^:]*:([^:\n]+)/.exec(err.message);
  return m === null ? err.message : `error:${m[1]}:${m[2]}::${m[3]}`;
}

/** A failure while the TLS handshake was still under way: everything but refusals and DNS is the handshake's. */
function handshakeError(err: NodeJS.ErrnoException, where: string): HttpCallError | undefined {
  const code = err.code;
  if (code === 'ECONNRESET' && /before secure TLS connection/.test(err.message)) {
    // The peer closed without a word: OpenSSL 3 calls that an unexpected EOF.
    return new HttpCallError('tls', `TLS handshake with ${where} failed: the server closed the connection`, code, 'error:0A000126:SSL routines::unexpected eof while reading');
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') return new HttpCallError('tls', `TLS handshake with ${where} failed: connection reset by peer`, code, RESET_REASON);
  // OpenSSL's errors arrive as ERR_SSL_* or, raised while writing the handshake, as EPROTO.
  if (code?.startsWith('ERR_SSL') === true || code === 'EPROTO') return new HttpCallError('tls', `TLS handshake with ${where} failed: ${err.message.trim()}`, code, opensslReason(err));
  return undefined;
}

export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
}

export interface HttpCallOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Uint8Array;
  /** Deadline for the whole exchange (connect, headers and body). No deadline when absent. */
  timeoutMs?: number;
  /** Deadline for establishing the TCP connection only. */
  connectTimeoutMs?: number;
  /** Connection reuse. Absent: a new connection per call, closed afterwards. */
  agent?: http.Agent;
  /** Environment consulted for HTTP_PROXY / NO_PROXY; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Explicit proxy choice: a URL, or null to connect directly regardless of the environment. */
  proxy?: URL | null;
  /** Connect here instead of resolving the URL's host (like curl --resolve); Host/SNI unchanged. */
  connectTo?: { host: string; port: number };
  tls?: TlsOptions;
  /** Called with every socket a request is sent on (to count connections). */
  onSocket?: (socket: Socket) => void;
}

export interface HttpResult {
  status: number;
  statusText: string;
  httpVersion: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  /** The request line target and headers as sent (for verbose output). */
  sent: { method: string; path: string; headers: OutgoingHttpHeaders; via?: URL };
}

const VERIFY_CODES = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_NOT_YET_VALID',
]);

/** Maps a Node.js socket/HTTP error to an HttpCallError with a readable message. */
export function classifyError(err: unknown, where: string, progress?: Progress): HttpCallError {
  if (err instanceof HttpCallError) return err;
  const e = err as NodeJS.ErrnoException;
  if (progress?.tls === true && !progress.handshaken && e instanceof Error) {
    const during = handshakeError(e, where);
    if (during !== undefined) return during;
  }
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const detail = e instanceof Error ? e.message : String(err);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NODATA') return new HttpCallError('dns', `could not resolve host ${where}`, code);
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') {
    return new HttpCallError('connect', `failed to connect to ${where}: ${detail}`, code);
  }
  if (code === 'ECONNRESET' && detail === 'socket hang up') return new HttpCallError('empty-reply', `empty reply from ${where}`, code);
  if (code === 'ECONNRESET' || code === 'EPIPE') return new HttpCallError('reset', `connection to ${where} reset by peer`, code, RESET_REASON);
  if (code !== undefined && VERIFY_CODES.has(code)) return new HttpCallError('tls-verify', `certificate problem with ${where}: ${detail}`, code);
  if (code?.startsWith('ERR_SSL') || code?.startsWith('ERR_TLS')) return new HttpCallError('tls', `TLS handshake with ${where} failed: ${detail}`, code, opensslReason(e));
  if (code?.startsWith('HPE_')) return new HttpCallError('protocol', `malformed HTTP response from ${where}: ${detail}`, code);
  return new HttpCallError('reset', `request to ${where} failed: ${detail}`, code);
}

function hostOf(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '');
}

function defaultPort(url: URL): number {
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}

function proxyAuth(proxy: URL): string | undefined {
  if (proxy.username === '') return undefined;
  const creds = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Basic ${Buffer.from(creds).toString('base64')}`;
}

/** Opens a CONNECT tunnel through `proxy` to the target's host:port. */
function openTunnel(proxy: URL, url: URL, track: (req: http.ClientRequest) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const authority = `${url.hostname}:${defaultPort(url)}`;
    const headers: OutgoingHttpHeaders = { host: authority };
    const auth = proxyAuth(proxy);
    if (auth !== undefined) headers['proxy-authorization'] = auth;
    const req = http.request({ host: hostOf(proxy.hostname), port: Number(proxy.port || 80), method: 'CONNECT', path: authority, headers, agent: false });
    track(req);
    req.on('connect', (res, socket) => {
      if (res.statusCode === 200) resolve(socket);
      else {
        socket.destroy();
        reject(new HttpCallError('proxy', `proxy ${proxy.host} refused CONNECT ${authority} with status ${res.statusCode}`, undefined, `CONNECT tunnel failed, response ${res.statusCode}`));
      }
    });
    req.on('error', (err) => reject(classifyError(err, `proxy ${proxy.host}`)));
    req.end();
  });
}

/** The error for a response whose connection closed before its body was complete. */
function partialBody(res: http.IncomingMessage, received: number, where: string): HttpCallError {
  const length = Number(res.headers['content-length']);
  const reason = Number.isSafeInteger(length) && length > received ? `end of response with ${length - received} bytes missing` : 'transfer closed with outstanding read data remaining';
  return new HttpCallError('partial', `response from ${where} was cut off: ${reason}`, undefined, reason);
}

/** Sends one HTTP request and buffers the response. Rejects with HttpCallError on any transport failure. */
export async function httpCall(target: string | URL, opts: HttpCallOptions = {}): Promise<HttpResult> {
  const url = typeof target === 'string' ? new URL(target) : target;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HttpCallError('protocol', `unsupported URL scheme "${url.protocol}" in ${url.href}`);
  }
  const method = (opts.method ?? 'GET').toUpperCase();
  const proxy = opts.proxy === undefined ? proxyFor(url, opts.env) : (opts.proxy ?? undefined);
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(opts.headers ?? {})) headers[name.toLowerCase()] = value;
  headers.host ??= url.host;
  if (opts.body !== undefined) headers['content-length'] ??= Buffer.byteLength(opts.body);

  let current: http.ClientRequest | undefined;
  let failed: HttpCallError | undefined;
  const abort = (err: HttpCallError): void => {
    failed ??= err;
    current?.destroy(err);
  };
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => abort(new HttpCallError('timeout', `no complete response from ${url.host} within ${opts.timeoutMs} ms`)), opts.timeoutMs);
  try {
    let tlsSocket: tls.TLSSocket | undefined;
    const progress: Progress = { tls: url.protocol === 'https:', handshaken: false };
    // SNI carries host names only; an empty name keeps Node from sending an address there.
    const servername = isIP(hostOf(url.hostname)) === 0 ? url.hostname : '';
    const usingTunnel = url.protocol === 'https:' && proxy !== undefined;
    if (usingTunnel) {
      const raw = await openTunnel(proxy, url, (r) => (current = r));
      if (failed) throw failed;
      tlsSocket = tls.connect({ socket: raw, servername, ...opts.tls });
      tlsSocket.once('secureConnect', () => (progress.handshaken = true));
    }
    return await new Promise<HttpResult>((resolve, reject) => {
      const viaProxy = url.protocol === 'http:' && proxy !== undefined;
      const path = viaProxy ? url.href : `${url.pathname}${url.search}`;
      if (viaProxy) {
        const auth = proxyAuth(proxy);
        if (auth !== undefined) headers['proxy-authorization'] = auth;
      }
      const dest = viaProxy ? { host: hostOf(proxy.hostname), port: Number(proxy.port || 80) } : (opts.connectTo ?? { host: hostOf(url.hostname), port: defaultPort(url) });
      const where = viaProxy ? `proxy ${proxy.host}` : `${url.hostname} port ${dest.port}`;
      const base: http.RequestOptions = { host: dest.host, port: dest.port, method, path, headers, setHost: false, agent: opts.agent ?? false };
      const req =
        url.protocol === 'https:'
          ? https.request({
              ...base,
              ...opts.tls,
              servername,
              // With a tunnel the TLS socket already exists; no agent, so Node uses it as is.
              ...(tlsSocket ? { createConnection: () => tlsSocket, agent: undefined } : {}),
            })
          : http.request(base);
      current = req;
      if (failed) req.destroy(failed);
      req.on('socket', (socket) => {
        opts.onSocket?.(socket);
        if (socket instanceof tls.TLSSocket && socket !== tlsSocket) socket.once('secureConnect', () => (progress.handshaken = true));
        if (opts.connectTimeoutMs !== undefined && socket.connecting) {
          const connectTimer = setTimeout(() => abort(new HttpCallError('timeout', `connection to ${where} not established within ${opts.connectTimeoutMs} ms`)), opts.connectTimeoutMs);
          socket.once('connect', () => clearTimeout(connectTimer));
          socket.once('close', () => clearTimeout(connectTimer));
        }
      });
      req.on('error', (err) => reject(classifyError(failed ?? err, where, progress)));
      req.on('response', (res) => {
        progress.handshaken = true;
        const chunks: Buffer[] = [];
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          received += chunk.length;
        });
        // A reset reaches the request's error handler first; what arrives here is a clean close
        // before the body's framing was satisfied.
        const cutOff = (): HttpCallError => failed ?? partialBody(res, received, where);
        res.on('error', () => reject(cutOff()));
        res.on('aborted', () => reject(cutOff()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            httpVersion: res.httpVersion,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks),
            sent: { method, path, headers, via: proxy },
          }),
        );
      });
      req.end(opts.body);
    });
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/**
 * Copies the named headers (lower case) and every header starting with one of `prefixes` from an
 * incoming request, for propagation on an outbound call. Absent headers are skipped.
 */
export function pickHeaders(incoming: IncomingHttpHeaders, names: readonly string[], prefixes: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const wanted = [...names, ...Object.keys(incoming).filter((n) => prefixes.some((p) => n.startsWith(p)))];
  for (const name of wanted) {
    const value = incoming[name];
    if (typeof value === 'string') out[name] = value;
    else if (Array.isArray(value)) out[name] = value.join(', ');
  }
  return out;
}
