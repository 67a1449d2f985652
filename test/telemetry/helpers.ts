/**
 * Test helpers for telemetry: a two-sidecar mesh on loopback (client sidecar outbound → server
 * sidecar inbound → real backends) with telemetry and metrics ports, a Prometheus text parser,
 * a capturing output stream for access logs, and a Zipkin/OTLP receiver.
 */
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { SkiffProxy } from '../../src/proxy/proxy.js';
import type { ProxySnapshot } from '../../src/snapshot/index.js';
import { checkScrape } from '../helpers/promtool.js';
import { MetricsServer } from '../../src/telemetry/metrics/server.js';
import { ProxyTelemetry } from '../../src/telemetry/proxy-telemetry.js';
import type { ProxyTelemetryOptions } from '../../src/telemetry/proxy-telemetry.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition (the subset proxies emit); throws on a malformed line. */
export function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/g;
    let consumed = 0;
    for (let lm = re.exec(body); lm !== null; lm = re.exec(body)) {
      labels[lm[1]] = lm[2].replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
      consumed = re.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`malformed labels: ${line}`);
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Samples of `name` whose labels include every pair of `where`. */
export function select(samples: readonly Sample[], name: string, where: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v));
}

export function sum(samples: readonly Sample[]): number {
  return samples.reduce((a, s) => a + s.value, 0);
}

/** GET a URL on 127.0.0.1. */
export function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A stream that keeps every line written to it. */
export class CapturedOutput extends PassThrough {
  private text = '';
  constructor() {
    super();
    this.on('data', (c: Buffer) => {
      this.text += c.toString();
    });
  }
  get lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '');
  }
}

/** A proxy with telemetry and a metrics port, both on 127.0.0.1:0. */
export interface TelemetryProxy {
  proxy: SkiffProxy;
  telemetry: ProxyTelemetry;
  metrics: MetricsServer;
  log: CapturedOutput;
  port(listener: string): number;
  scrape(): Promise<Sample[]>;
  close(): Promise<void>;
}

export async function startTelemetryProxy(snap: ProxySnapshot, opts: ProxyTelemetryOptions = {}): Promise<TelemetryProxy> {
  const log = new CapturedOutput();
  const telemetry = new ProxyTelemetry({ accessLogStream: log, ...opts });
  const proxy = await SkiffProxy.create({ adminPort: null, healthPort: null, telemetry, drainTimeoutMs: 100 });
  await proxy.applySnapshot(snap);
  const metrics = await MetricsServer.start(0, '127.0.0.1', () => telemetry.renderPrometheus(proxy));
  return {
    proxy,
    telemetry,
    metrics,
    log,
    port: (name) => proxy.listenerAddress(name)!.port,
    scrape: async () => {
      const res = await get(metrics.address().port, '/stats/prometheus');
      if (res.status !== 200) throw new Error(`scrape answered ${res.status}`);
      await checkScrape(res.body, `${snap.node.id}'s /stats/prometheus`);
      return parsePrometheus(res.body);
    },
    close: async () => {
      await metrics.close();
      await proxy.close();
      await telemetry.close();
    },
  };
}

export interface HttpBackend {
  port: number;
  /** Headers of every request received, in order. */
  seen: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** An HTTP server answering every request through `handler` (default: 200 with a small body). */
export async function startHttpBackend(handler?: http.RequestListener): Promise<HttpBackend> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => {
      if (handler !== undefined) return handler(req, res);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('hello from the backend\n');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A TCP echo server. */
export async function startTcpEcho(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sends `data` over TCP, reads until the echo has `data.length` bytes, then closes. */
export function tcpRoundTrip(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.length >= data.length) s.end();
    });
    s.on('close', () => resolve(got));
    s.on('error', reject);
    s.on('connect', () => s.write(data));
  });
}

export interface ReceivedSpans {
  port: number;
  zipkin: Record<string, unknown>[];
  otlp: unknown[];
  close(): Promise<void>;
}

/** A Zipkin (`POST /api/v2/spans`) and OTLP/HTTP (`POST /v1/traces`) receiver. */
export async function startSpanReceiver(): Promise<ReceivedSpans> {
  const received: ReceivedSpans = { port: 0, zipkin: [], otlp: [], close: () => Promise.resolve() };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as unknown;
      if (req.url === '/api/v2/spans' && Array.isArray(body)) received.zipkin.push(...(body as Record<string, unknown>[]));
      else if (req.url === '/v1/traces') received.otlp.push(body);
      else {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(202);
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  received.port = (server.address() as net.AddressInfo).port;
  received.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return received;
}
