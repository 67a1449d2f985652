/**
 * A real local mesh for acceptance tests, driven through the `skiff` command as a user drives it.
 *
 *   const mesh = await startMesh({ files: [...], images?: path });   // `skiff up --detach`
 *   await mesh.apply(fileOrYaml);  await mesh.delete(fileOrYaml);    // `skiff apply|delete -f`, then settle()
 *   await mesh.exec('deploy/curl', 'default', ['curl', '-s', url]);  // `skiff exec`
 *   await mesh.skiff(['get', 'pods']);                               // any other verb, on this mesh
 *   await mesh.get('/productpage', { cookie, headers });             // HTTP GET through the ingress gateway
 *   await mesh.post('/login', { username: 'jason' });                // form POST through the gateway
 *   await mesh.login('jason');                                       // Bookinfo sign-in → session cookie
 *   await countOutcomes(n, async () => classify(await mesh.get(p))); // outcome → count
 *   binomialBounds(n, 0.5);                                          // where a fair split's count falls (99.9 %)
 *   await mesh.stop();                                               // `skiff down`; asserts no process remains
 *
 * One mesh per test file: `skiff up --detach` in a temporary `--state-dir`, skiffd's API and push
 * server on free ports (`--api-port 0 --push-port 0`) and the ingress gateway on a free port.
 * `apply`/`delete` return once every proxy acknowledged the config they caused (see `settle`).
 * `eventually` polls a condition for steps whose effect must also be seen from outside.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../src/cli/skiffd-client.js';
import { allocatePorts } from '../../src/runtime/ports.js';
import { runSkiff } from '../helpers/cli.js';
import type { CliResult } from '../helpers/cli.js';
import { isIstioSample, requireIstioSamples } from '../helpers/shared.js';

export type { CliResult };

export interface MeshOptions {
  /** Manifests and Istio config given to `skiff up -f`, in order. */
  files: string[];
  /** `--images`: the image map for manifests written for containers (Istio's own samples). */
  images?: string;
  /** `--dashboard-port` (default 0: a free port, so tests never take a running mesh's 20001). */
  dashboardPort?: number;
  /** `--timeout` of `skiff up --detach`, in seconds (default 90). */
  readyTimeoutS?: number;
  /** `--gateway-port`: further Gateway server ports → local ports (e.g. 31400 → a free port). */
  gatewayPorts?: Record<number, number>;
  /** Further `skiff up` flags (e.g. `['--workload-cert-ttl', '10s']`). */
  upArgs?: string[];
}

/** A pod as `<state-dir>/runtime/pods.json` records it. */
export interface PodEntry {
  name: string;
  namespace: string;
  ports: { app: Record<string, number>; mesh: Record<string, number>; outbound?: number; admin?: number };
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** Sent as the Cookie header (e.g. what `login` returns). */
  cookie?: string;
  /** Per-request limit, a safety net only (default 30 s). */
  timeoutMs?: number;
}

export interface Mesh {
  stateDir: string;
  /** Where the ingress gateway listens, e.g. `http://127.0.0.1:41234`. */
  ingressUrl: string;
  apiUrl: string;
  /** The token skiffd's API requires (`<state-dir>/api-token`). */
  readonly apiToken: string;
  /** The header that carries it: `{ authorization: 'Bearer …' }`. */
  apiHeaders(): Record<string, string>;
  /** Where the dashboard is served, when it is. */
  dashboardUrl: string | undefined;
  /** What `skiff up --detach` printed. */
  upOutput: string;
  /** `skiff apply -f` a file path or YAML text; fails the test unless it succeeds. Returns its stdout. */
  apply(source: string): Promise<string>;
  /** `skiff delete -f` a file path or YAML text (`--ignore-not-found`). Returns its stdout. */
  delete(source: string): Promise<string>;
  /** `skiff exec <workload> -n <ns> -- argv...`, as `kubectl exec` would be used. */
  exec(workload: string, namespace: string, argv: string[]): Promise<CliResult>;
  /** Runs `skiff <args> --state-dir <this mesh's>`. */
  skiff(args: string[], input?: string): Promise<CliResult>;
  /** GET `path` through the ingress gateway. */
  get(path: string, opts?: RequestOptions): Promise<Response>;
  /** POST an url-encoded form to `path` through the ingress gateway. */
  post(path: string, form: Record<string, string>, opts?: RequestOptions): Promise<Response>;
  /** Bookinfo sign-in as its page does it (POST /login); returns the `session=...` cookie to send. */
  login(user: string): Promise<string>;
  /** Returns once every proxy acknowledged the latest config (see the module comment). */
  settle(): Promise<void>;
  /** Returns once every workload is ready and every proxy in sync (skiffd's `/api/v1/ready`), e.g. after applying Deployments. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** `skiff logs <workload> -n <ns>` (the app's output; `proxy: true` for the sidecar's). */
  logs(workload: string, namespace: string, opts?: { proxy?: boolean }): Promise<string>;
  /** The pods running now (from the runtime's state file), e.g. to reach a sidecar's admin port. */
  pods(): PodEntry[];
  /** `skiff down`; then asserts that no process of the mesh remains (killing any that does) and removes the state dir. */
  stop(): Promise<void>;
}

/** Runs `skiff up --detach`; the returned mesh is ready (every pod and the gateway). Call `stop()` in `after`. */
export async function startMesh(opts: MeshOptions): Promise<Mesh> {
  // A mesh of Istio's own sample files needs ../shared: without it the test skips or, under SKIFF_REQUIRE_TOOLS, fails saying so.
  if (opts.files.some(isIstioSample)) requireIstioSamples();
  const stateDir = await mkdtemp(join(tmpdir(), 'skiff-e2e-'));
  const [ingressPort] = await allocatePorts(1);
  const args = ['up', '--detach', '--api-port', '0', '--push-port', '0', '--ingress-port', String(ingressPort), '--state-dir', stateDir];
  args.push('--dashboard-port', String(opts.dashboardPort ?? 0));
  if (opts.images !== undefined) args.push('--images', opts.images);
  for (const [gateway, local] of Object.entries(opts.gatewayPorts ?? {})) args.push('--gateway-port', `${gateway}=${local}`);
  args.push('--timeout', String(opts.readyTimeoutS ?? 90));
  args.push(...(opts.upArgs ?? []));
  for (const f of opts.files) args.push('-f', f);
  const up = await runSkiff(args, { timeoutMs: ((opts.readyTimeoutS ?? 90) + 30) * 1000 });
  const mesh = new LocalMesh(stateDir, `http://127.0.0.1:${ingressPort}`, up.stdout);
  if (up.code !== 0) {
    const log = readLog(join(stateDir, 'logs', 'skiffd.log'));
    await mesh.stop().catch(() => undefined);
    assert.fail(`skiff up --detach failed (${up.code}):\n${up.stdout}\n${up.stderr}\n--- skiffd.log (end) ---\n${log}`);
  }
  return mesh;
}

/** Calls `check` until it returns true; the limit is a safety net, not a timing assertion. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`gave up waiting: ${what}`);
    await delay(100);
  }
}

/** Runs `once` n times, `concurrency` at a time, and counts the outcomes it names. */
export async function countOutcomes(n: number, once: () => Promise<string>, concurrency = 4): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const outcome = await once();
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return counts;
}

/**
 * The range a Binomial(n, p) count falls in with two-sided confidence ~99.9 % (normal
 * approximation, z = 3.29, widened by one for the continuity correction).
 */
export function binomialBounds(n: number, p: number, z = 3.29): { low: number; high: number } {
  const sd = Math.sqrt(n * p * (1 - p));
  return { low: Math.max(0, Math.floor(n * p - z * sd - 1)), high: Math.min(n, Math.ceil(n * p + z * sd + 1)) };
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A file path, or YAML text (anything with a newline) passed on stdin. */
function fileArgs(source: string): { args: string[]; input?: string } {
  return source.includes('\n') ? { args: ['-f', '-'], input: source } : { args: ['-f', source] };
}

function readLog(file: string, lines = 40): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

interface ProxyState {
  id: string;
  sentVersion: string | null;
  ackedVersion: string | null;
  state: string;
}

/** skiffd coalesces config changes for at most this long before pushing (push protocol). */
const MAX_PUSH_DEBOUNCE_MS = 500;

class LocalMesh implements Mesh {
  private stopped = false;
  readonly apiUrl: string;
  readonly dashboardUrl: string | undefined;

  constructor(
    readonly stateDir: string,
    readonly ingressUrl: string,
    readonly upOutput: string,
  ) {
    this.apiUrl = /API:\s+(\S+)/.exec(upOutput)?.[1] ?? '';
    this.dashboardUrl = /dashboard:\s+(\S+)/.exec(upOutput)?.[1];
  }

  get apiToken(): string {
    return readFileSync(join(this.stateDir, 'api-token'), 'utf8').trim();
  }

  apiHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.apiToken}` };
  }

  async apply(source: string): Promise<string> {
    return this.change('apply', source, []);
  }

  async delete(source: string): Promise<string> {
    return this.change('delete', source, ['--ignore-not-found']);
  }

  private async change(verb: 'apply' | 'delete', source: string, extra: string[]): Promise<string> {
    const before = await this.proxies();
    const { args, input } = fileArgs(source);
    const res = await runSkiff([verb, ...args, ...extra, '--state-dir', this.stateDir], input === undefined ? {} : { input });
    assert.equal(res.code, 0, `skiff ${verb} failed:\n${res.stdout}\n${res.stderr}`);
    await this.settleAfter(before);
    return res.stdout;
  }

  async settle(): Promise<void> {
    await this.settleAfter(await this.proxies());
  }

  /**
   * Waits for the push a change causes: until some proxy was sent a new snapshot (or the
   * protocol's longest debounce passed: the change altered no proxy's config), then until
   * every proxy acknowledged what it was sent and nothing moved between two looks.
   */
  private async settleAfter(before: ProxyState[]): Promise<void> {
    const sentBefore = new Map(before.map((p) => [p.id, p.sentVersion]));
    const start = Date.now();
    let last = '';
    await eventually(async () => {
      const now = await this.proxies();
      const pushed = now.some((p) => sentBefore.get(p.id) !== p.sentVersion);
      if (!pushed && Date.now() - start < MAX_PUSH_DEBOUNCE_MS * 3) return false;
      const synced = now.every((p) => p.sentVersion !== null && p.sentVersion === p.ackedVersion);
      const key = now.map((p) => `${p.id}=${p.ackedVersion ?? ''}`).sort().join(',');
      const stable = synced && key === last;
      last = synced ? key : '';
      return stable;
    }, 'every proxy to acknowledge the new config');
  }

  private async proxies(): Promise<ProxyState[]> {
    const res = await request('GET', `${this.apiUrl}/api/v1/proxies`, { headers: this.apiHeaders() });
    assert.equal(res.status, 200, `skiffd ${this.apiUrl}/api/v1/proxies: ${res.body}`);
    return (JSON.parse(res.body) as { proxies: ProxyState[] }).proxies;
  }

  async waitReady(timeoutMs = 60_000): Promise<void> {
    const res = await request('GET', `${this.apiUrl}/api/v1/ready?timeoutMs=${timeoutMs}`, { timeoutMs: timeoutMs + 10_000, headers: this.apiHeaders() });
    assert.equal(res.status, 200, `workloads not ready: ${res.body}`);
  }

  async logs(workload: string, namespace: string, opts: { proxy?: boolean } = {}): Promise<string> {
    const res = await runSkiff(['logs', workload, '-n', namespace, '--state-dir', this.stateDir, ...(opts.proxy === true ? ['--proxy'] : [])]);
    assert.equal(res.code, 0, `skiff logs ${workload} failed:\n${res.stderr}`);
    return res.stdout;
  }

  pods(): PodEntry[] {
    return (JSON.parse(readFileSync(join(this.stateDir, 'runtime', 'pods.json'), 'utf8')) as { pods: PodEntry[] }).pods;
  }

  exec(workload: string, namespace: string, argv: string[]): Promise<CliResult> {
    return runSkiff(['exec', workload, '-n', namespace, '--state-dir', this.stateDir, '--', ...argv], { timeoutMs: 60_000 });
  }

  skiff(args: string[], input?: string): Promise<CliResult> {
    return runSkiff([...args, '--state-dir', this.stateDir], input === undefined ? {} : { input });
  }

  get(path: string, opts: RequestOptions = {}): Promise<Response> {
    return request('GET', `${this.ingressUrl}${path}`, opts);
  }

  post(path: string, form: Record<string, string>, opts: RequestOptions = {}): Promise<Response> {
    const body = new URLSearchParams(form).toString();
    return request('POST', `${this.ingressUrl}${path}`, { ...opts, headers: { 'content-type': 'application/x-www-form-urlencoded', ...opts.headers } }, body);
  }

  async login(user: string): Promise<string> {
    // The sign-in dialog posts to `login` from the product page, which is the Referer it returns to.
    const res = await this.post('/login', { username: user, passwd: 'password' }, { headers: { referer: `${this.ingressUrl}/productpage` } });
    assert.equal(res.status, 302, `POST /login answers with a redirect: ${res.status} ${res.body}`);
    const cookie = (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).find((c) => c.startsWith('session='));
    assert.ok(cookie !== undefined, `POST /login sets a session cookie: ${JSON.stringify(res.headers['set-cookie'])}`);
    return cookie;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const pids = this.pids();
    try {
      const down = await runSkiff(['down', '--state-dir', this.stateDir], { timeoutMs: 60_000 });
      const left = pids.filter(isAlive);
      for (const pid of left) process.kill(pid, 'SIGKILL');
      assert.equal(down.code, 0, `skiff down failed:\n${down.stdout}\n${down.stderr}`);
      assert.deepEqual(left, [], 'skiff down leaves no process of the mesh');
    } finally {
      await rm(this.stateDir, { recursive: true, force: true });
    }
  }

  /** skiffd and every app, sidecar and gateway process it runs. */
  private pids(): number[] {
    const pids: number[] = [];
    try {
      pids.push((JSON.parse(readFileSync(join(this.stateDir, 'skiffd.json'), 'utf8')) as { pid: number }).pid);
    } catch {
      // not running
    }
    try {
      const file = JSON.parse(readFileSync(join(this.stateDir, 'runtime', 'pods.json'), 'utf8')) as { pods: Array<{ pids: { app?: number; proxy?: number } }> };
      for (const p of file.pods) pids.push(...[p.pids.app, p.pids.proxy].filter((x): x is number => x !== undefined));
    } catch {
      // no runtime state
    }
    return pids;
  }
}

function request(method: 'GET' | 'POST', url: string, opts: RequestOptions = {}, body?: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.cookie !== undefined) headers.cookie = opts.cookie;
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const req = http.request({ method, host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const limit = opts.timeoutMs ?? 30_000;
    req.setTimeout(limit, () => req.destroy(new Error(`no response from ${method} ${url} within ${limit} ms`)));
    req.end(body);
  });
}
