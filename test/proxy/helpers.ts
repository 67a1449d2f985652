/**
 * Test helpers for the proxy: real backends on 127.0.0.1:0 (a strict HTTP echo server that
 * reports the raw header list and refuses repeated single-value fields), a proxy started from a
 * snapshot, and clients that speak raw bytes or HTTP.
 */
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { SkiffProxy } from '../../src/proxy/proxy.js';
import type { ProxyOptions } from '../../src/proxy/proxy.js';
import type { RequestRecord } from '../../src/telemetry/request-record.js';
import type { ListenerConfig, ProxySnapshot, RouteConfig, Route, ClusterConfigInput, VirtualHost } from '../../src/snapshot/index.js';

export interface Backend {
  port: number;
  server: http.Server;
  /** Requests served so far. */
  count: number;
  close(): Promise<void>;
}

export type BackendHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

/**
 * Header fields a request carries at most once. node:http silently keeps the first of some of
 * these and joins others, which would hide a proxy that forwards one twice: the test backends
 * refuse such a request instead (500 with the repeated field named).
 */
export const SINGLE_VALUE_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'content-type',
  'authorization',
  'proxy-authorization',
  'user-agent',
  'referer',
  'from',
  'max-forwards',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
  'range',
  'expect',
  'x-request-id',
  'x-forwarded-proto',
  'x-envoy-attempt-count',
  'x-envoy-original-path',
  'x-envoy-peer-metadata',
  'x-envoy-peer-metadata-id',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'traceparent',
]);

/** The request's header fields as they arrived: order, case and repetition kept. */
export function rawHeaderList(req: http.IncomingMessage): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) out.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
  return out;
}

/** The single-value fields that arrived more than once, with their values; empty when none. */
export function repeatedSingleValueHeaders(raw: readonly [string, string][]): string[] {
  const seen = new Map<string, string[]>();
  for (const [n, v] of raw) {
    const name = n.toLowerCase();
    if (SINGLE_VALUE_HEADERS.has(name)) seen.set(name, [...(seen.get(name) ?? []), v]);
  }
  return [...seen].filter(([, vs]) => vs.length > 1).map(([n, vs]) => `${n} (${vs.length} fields: ${vs.map((v) => JSON.stringify(v)).join(', ')})`);
}

/** What the echo backend answers: the request as it arrived. */
export interface Echo {
  name: string;
  method: string;
  url: string;
  /** Lowercase names; repeated fields joined with `, ` (a convenience: `rawHeaders` is what arrived). */
  headers: Record<string, string>;
  /** Every field as it arrived, in order. */
  rawHeaders: [string, string][];
  bodyLength: number;
  body: string;
}

/** A backend that answers every request with `status` and `body` as plain text. */
export function answering(status: number, body: string): BackendHandler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(body);
  };
}

/** The default backend: answers 200 with a JSON `Echo` of what it received. */
export function echo(name: string): BackendHandler {
  return (req, res, body) => {
    const rawHeaders = rawHeaderList(req);
    const headers: Record<string, string> = {};
    for (const [n, v] of rawHeaders) {
      const k = n.toLowerCase();
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    }
    const payload: Echo = { name, method: req.method ?? '', url: req.url ?? '', headers, rawHeaders, bodyLength: body.length, body: body.toString('latin1').slice(0, 200) };
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
    res.end(JSON.stringify(payload));
  };
}

/**
 * Starts an HTTP backend that reads each request body whole, then calls the handler. Every
 * request is first checked for repeated single-value header fields (`SINGLE_VALUE_HEADERS`):
 * one that has them is answered 500 with `x-backend-error: repeated-header` and a body naming
 * them, so a proxy that duplicates a field fails whatever test sent the request.
 */
export async function startBackend(handler: BackendHandler, opts: { streamBody?: boolean } = {}): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const backend: Backend = {
    port: 0,
    server: http.createServer((req, res) => {
      backend.count++;
      const repeated = repeatedSingleValueHeaders(rawHeaderList(req));
      if (repeated.length > 0) {
        req.resume();
        res.writeHead(500, { 'content-type': 'text/plain', 'x-backend-error': 'repeated-header' });
        res.end(`repeated single-value header: ${repeated.join('; ')}\n`);
        return;
      }
      if (opts.streamBody === true) {
        handler(req, res, Buffer.alloc(0));
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => handler(req, res, Buffer.concat(chunks)));
    }),
    count: 0,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => backend.server.close(() => resolve()));
    },
  };
  backend.server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  backend.server.listen(0, '127.0.0.1');
  await once(backend.server, 'listening');
  backend.port = (backend.server.address() as net.AddressInfo).port;
  return backend;
}

/** A port with nothing listening (bound, then released). */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export function cluster(name: string, ports: number[], extra: Partial<ClusterConfigInput> = {}): ClusterConfigInput {
  return { name, endpoints: ports.map((port) => ({ address: '127.0.0.1', port })), lb: { policy: 'ROUND_ROBIN' }, ...extra };
}

export function forward(name: string, clusterName: string, extra: Partial<Route> = {}): Route {
  return { name, match: [], action: { type: 'route', destinations: [{ cluster: clusterName, weight: 100 }] }, ...extra };
}

export function routeConfig(name: string, vhosts: VirtualHost[]): RouteConfig {
  return { name, virtualHosts: vhosts };
}

export function httpListener(name: string, routeConfigName: string, extra: Partial<ListenerConfig> = {}): ListenerConfig {
  return { name, address: '127.0.0.1', port: 0, direction: 'outbound', protocol: 'http', http: { routeConfig: routeConfigName }, ...extra };
}

export function snapshot(parts: Partial<ProxySnapshot>): ProxySnapshot {
  return { version: '1', node: { id: 'sidecar~test', kind: 'sidecar' }, listeners: [], routes: [], clusters: [], ...parts };
}

export interface TestProxy {
  proxy: SkiffProxy;
  records: RequestRecord[];
  port(listener: string): number;
  close(): Promise<void>;
}

/** A proxy with admin/health on port 0, a snapshot applied, records collected. */
export async function startProxy(snap: ProxySnapshot | null, opts: ProxyOptions = {}): Promise<TestProxy> {
  const records: RequestRecord[] = [];
  const proxy = await SkiffProxy.create({ adminPort: 0, healthPort: 0, healthAddress: '127.0.0.1', onRequestDone: (r) => records.push(r), drainTimeoutMs: 200, ...opts });
  if (snap !== null) await proxy.applySnapshot(snap);
  return {
    proxy,
    records,
    port: (name) => proxy.listenerAddress(name)!.port,
    close: () => proxy.close(),
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request on a fresh connection. `path` may be absolute-form (proxy style). */
export function request(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Sends raw bytes and collects everything the server sends until it closes (or `untilMs`). */
export function rawExchange(port: number, data: string | Buffer | (string | Buffer)[], opts: { untilMs?: number; endAfterWrite?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), opts.untilMs ?? 3000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.on('connect', () => {
      for (const d of Array.isArray(data) ? data : [data]) socket.write(d);
      if (opts.endAfterWrite === true) socket.end();
    });
    socket.once('error', reject);
  });
}

/** Polls `check` until it returns true (or throws after `timeoutMs` as a safety net). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function adminGet(p: TestProxy, path: string): Promise<Reply> {
  return request(p.proxy.adminAddress()!.port, path);
}
