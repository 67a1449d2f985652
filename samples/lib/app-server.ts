/**
 * The HTTP server scaffolding every sample application shares: port from `PORT` and address
 * from `HOST` (the local runtime sets `HOST=127.0.0.1` so an app is reached only through its
 * sidecar; unset, every interface, as in a container), a `<name> listening on <port>` line once
 * bound, one log line per request on stdout, a 500 instead of a crash when a handler throws, and
 * a graceful stop on SIGTERM/SIGINT.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface AppServerOptions {
  /** Application name used in log lines. */
  name: string;
  /** Port used when `PORT` is unset. */
  defaultPort?: number;
  /** The port, when the app has already decided it (overrides `PORT` and `defaultPort`). */
  port?: number;
  /** The address, when the app has already decided it; default `HOST`, else every interface. */
  host?: string;
  handler: Handler;
  /** Formats the per-request log line; default `GET /path 200`. */
  accessLog?: (req: IncomingMessage, res: ServerResponse) => string;
}

/** Reads a TCP port from an environment variable, exiting with a clear message when it is invalid. */
export function portFromEnv(variable: string, fallback: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw.trim() === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`${variable}=${raw} is not a valid TCP port (0-65535)\n`);
    process.exit(2);
  }
  return port;
}

/** The address to listen on: `HOST` when set, else undefined (every interface). */
export function hostFromEnv(): string | undefined {
  const host = process.env.HOST?.trim();
  return host === undefined || host === '' ? undefined : host;
}

/** Reads the whole request body (bounded, to keep a misbehaving client from exhausting memory). */
export async function readBody(req: IncomingMessage, limit = 1 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error(`request body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, contentType = 'application/json'): void {
  const body = typeof value === 'string' ? value : JSON.stringify(value);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendText(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Stops the process cleanly on SIGTERM/SIGINT: closes `close` and exits once done (or after a grace period). */
export function exitOnSignals(name: string, close: (done: () => void) => void, graceMs = 5000): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${name} stopping on ${signal}\n`);
    setTimeout(() => process.exit(0), graceMs).unref();
    close(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** Starts the application's HTTP server and wires logging and shutdown. */
export function runHttpApp(opts: AppServerOptions): http.Server {
  const port = opts.port ?? portFromEnv('PORT', opts.defaultPort ?? 8080);
  const host = opts.host ?? hostFromEnv();
  const accessLog = opts.accessLog ?? ((req, res) => `${req.method} ${req.url} ${res.statusCode}`);
  const server = http.createServer((req, res) => {
    res.on('finish', () => process.stdout.write(`${accessLog(req, res)}\n`));
    const fail = (err: unknown): void => {
      process.stderr.write(`${opts.name}: ${req.method} ${req.url} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      if (!res.headersSent) sendText(res, 500, 'Internal Server Error\n');
      else res.destroy();
    };
    try {
      const result = opts.handler(req, res);
      if (result instanceof Promise) result.catch(fail);
    } catch (err) {
      fail(err);
    }
  });
  server.on('error', (err) => {
    process.stderr.write(`${opts.name}: cannot listen on ${host ?? ''}:${port}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    process.stdout.write(`${opts.name} listening on ${(server.address() as AddressInfo).port}\n`);
  });
  exitOnSignals(opts.name, (done) => {
    server.close(() => done());
    server.closeIdleConnections();
  });
  return server;
}
