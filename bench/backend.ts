/**
 * The backend every row talks to in the end: nginx serving a fixed 1 KB body on two loopback
 * addresses (so Skiff's clusters have two endpoints to balance across), or, without nginx, a
 * Node raw-socket server doing the same. It runs on the load generator's core.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, start, waitForPort } from './processes.js';
import type { Managed } from './processes.js';
import { pinned } from './tools.js';
import type { Tools } from './tools.js';

/** Size of every response body. */
export const BODY_BYTES = 1024;

/** Cores: the proxy under test gets core 0; backend and load generator share core 1. */
export const PROXY_CORE = 0;
export const LOAD_CORE = 1;

export interface Backend {
  kind: 'nginx' | 'node';
  port: number;
  /** Loopback addresses it listens on (the same port on each). */
  addresses: string[];
  process: Managed;
}

/** Directives for nginx's temp directories, so it never needs /var/lib/nginx (a normal user cannot write there). */
export function nginxTempPaths(dir: string, nginxV: string): string {
  const lines = [`client_body_temp_path ${join(dir, 'body')};`, `proxy_temp_path ${join(dir, 'proxy')};`];
  // nginx-light and custom builds leave some of these modules out; naming their directive would fail.
  for (const mod of ['fastcgi', 'uwsgi', 'scgi']) {
    if (!nginxV.includes(`--without-http_${mod}_module`)) lines.push(`${mod}_temp_path ${join(dir, mod)};`);
  }
  return lines.join('\n  ');
}

/** `nginx -V` (build options), for nginxTempPaths. */
export function nginxBuildInfo(nginx: string): string {
  try {
    return execFileSync(nginx, ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // nginx -V writes to stderr; some versions exit non-zero.
    const e = err as { stderr?: string; stdout?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

/**
 * An nginx config with one worker, no access log and keep-alive as long as the benchmark runs,
 * around `servers` (the `http` block's own directives: upstreams and servers).
 */
export function nginxConfig(dir: string, nginxV: string, servers: string): string {
  return `worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  ${nginxTempPaths(dir, nginxV)}
${servers}
}
`;
}

/** The nginx backend's config: one worker, no logging, the fixed body for every path. */
export function nginxBackendConfig(dir: string, port: number, addresses: readonly string[], nginxV: string): string {
  return nginxConfig(
    dir,
    nginxV,
    `  server {
    ${addresses.map((a) => `listen ${a}:${port};`).join('\n    ')}
    location / { default_type text/plain; return 200 "${'x'.repeat(BODY_BYTES)}"; }
  }`,
  );
}

/** Starts the backend (nginx when available) and waits until it accepts connections. */
export async function startBackend(tools: Tools, workDir: string, addresses: readonly string[]): Promise<Backend> {
  const port = await freePort(addresses[0]);
  let process: Managed;
  let kind: Backend['kind'];
  if (tools.nginx !== null) {
    kind = 'nginx';
    const dir = join(workDir, 'backend-nginx');
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, nginxBackendConfig(dir, port, addresses, nginxBuildInfo(tools.nginx)));
    const cmd = pinned(tools, LOAD_CORE, tools.nginx, ['-p', dir, '-c', conf]);
    process = start('backend (nginx)', cmd.command, cmd.args);
  } else {
    kind = 'node';
    const script = fileURLToPath(new URL('./node-backend.js', import.meta.url));
    const cmd = pinned(tools, LOAD_CORE, globalThis.process.execPath, [script, String(port), ...addresses]);
    process = start('backend (node)', cmd.command, cmd.args);
  }
  for (const a of addresses) await waitForPort(a, port, process);
  return { kind, port, addresses: [...addresses], process };
}
