/**
 * Test helpers for the sample applications: start a compiled sample as a real child process
 * on ephemeral ports (read back from its `listening on <port>` line), plus small recording
 * HTTP servers that stand in for an upstream service or a forward proxy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export const distRoot = fileURLToPath(new URL('../../', import.meta.url));

export const ENTRY = {
  productpage: 'samples/bookinfo/src/productpage/main.js',
  details: 'samples/bookinfo/src/details/main.js',
  reviews: 'samples/bookinfo/src/reviews/main.js',
  ratings: 'samples/bookinfo/src/ratings/main.js',
  httpbin: 'samples/httpbin/src/main.js',
  tcpEcho: 'samples/tcp-echo/src/main.js',
  curl: 'samples/curl/src/main.js',
  nc: 'samples/curl/src/nc.js',
  fortio: 'samples/fortio/src/main.js',
  extAuthz: 'samples/ext-authz/src/main.js',
} as const;

/** The environment children start from: ours without any proxy settings, so tests decide. */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (/^(https?|no|all)_proxy$/i.test(key)) delete env[key];
  return env;
}

export interface App {
  port: number;
  ports: number[];
  /** Everything the process printed on stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts a sample on PORT=0 (unless env says otherwise) and waits until it has printed
 * `listening on <port>` `expectPorts` times.
 */
export function startApp(entry: string, env: Record<string, string> = {}, args: string[] = [], expectPorts = 1): Promise<App> {
  const child: ChildProcess = spawn(process.execPath, [`${distRoot}${entry}`, ...args], {
    env: { ...baseEnv(), PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const app: App = {
    port: 0,
    ports: [],
    stdout: () => out,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} did not report listening within 5 s; stdout: ${out} stderr: ${err}`));
    }, 5000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const ports = [...out.matchAll(/listening on (\d+)/g)].map((m) => Number(m[1]));
      if (app.ports.length === 0 && ports.length >= expectPorts) {
        app.ports = ports;
        app.port = ports[0]!;
        clearTimeout(timer);
        resolve(app);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code} before listening; stderr: ${err}`));
    });
  });
}

/** Runs a sample command-line client to completion. */
export function runClient(entry: string, args: string[], env: Record<string, string> = {}, input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${distRoot}${entry}`, ...args], { env: { ...baseEnv(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Recorder {
  port: number;
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/**
 * An HTTP server that records every request (method, request target, headers, body) and answers
 * with `respond`. As a forward proxy it sees absolute-form targets (`http://host:port/path`).
 */
export async function startRecorder(respond: (req: Recorded, res: ServerResponse) => void = (_r, res) => res.end('ok')): Promise<Recorder> {
  const requests: Recorded[] = [];
  const server = http.createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      respond(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

/** A port nothing listens on: bound once to learn a free number, then released. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Fetched {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A plain HTTP request from the test itself (no proxy), returning status, headers and body. */
export function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`no response from ${url} within 15 s`)));
    req.end(opts.body);
  });
}

export function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** Polls `check` until it returns true (a safety limit of 5 s, never a timing assertion). */
export async function eventually(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 250 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  return check();
}
