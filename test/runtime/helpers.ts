/**
 * Test helpers for the local runtime: manifests loaded and validated as `skiff up` loads them,
 * a runtime in a temporary state dir that is always stopped, plain HTTP requests and polling.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '../../src/api/types.js';
import { loadText } from '../../src/config/load.js';
import { MemoryRegistry } from '../../src/registry/memory.js';
import { createLocalRuntime } from '../../src/runtime/index.js';
import type { LocalRuntime, LocalRuntimeOptions } from '../../src/runtime/index.js';
import { repoRoot } from '../helpers/cli.js';

export { repoRoot };

/** Loads manifests from YAML text; any error finding fails the test. */
export function manifests(text: string, file = 'test.yaml'): Resource[] {
  const result = loadText(file, text);
  const errors = result.findings.filter((f) => f.severity === 'error');
  assert.deepEqual(errors.map((e) => `${e.resource ?? ''} ${e.message}`), [], 'manifests load without errors');
  return result.resources.map((r) => r.resource);
}

export function manifestFile(path: string, keep: (r: Resource) => boolean = () => true): Resource[] {
  return manifests(readFileSync(path, 'utf8'), path).filter(keep);
}

export interface TestRuntime {
  runtime: LocalRuntime;
  registry: MemoryRegistry;
  stateDir: string;
  lines: string[];
}

/** Runs `fn` with a fresh runtime (no sidecars unless `opts` says so); stops it and removes its temporary state dir whatever happens. */
export async function withRuntime(opts: Partial<Omit<LocalRuntimeOptions, 'registry'>> & { registry?: MemoryRegistry }, fn: (t: TestRuntime) => Promise<void>): Promise<void> {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'skiff-runtime-'));
  const registry = opts.registry ?? new MemoryRegistry();
  const lines: string[] = [];
  const runtime = createLocalRuntime({
    registry,
    stateDir,
    repoRoot,
    controlPlaneUrl: 'http://127.0.0.1:1',
    sidecars: false,
    deregisterDelayMs: 0,
    log: (line) => lines.push(line),
    ...opts,
  });
  try {
    await fn({ runtime, registry, stateDir, lines });
  } finally {
    await runtime.stop();
    if (opts.stateDir === undefined) rmSync(stateDir, { recursive: true, force: true });
  }
}

export interface Fetched {
  status: number;
  body: string;
}

export function get(url: string, opts: { proxy?: string; headers?: Record<string, string> } = {}): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const via = opts.proxy === undefined ? target : new URL(opts.proxy);
    const req = http.request(
      { host: via.hostname, port: via.port, path: opts.proxy === undefined ? `${target.pathname}${target.search}` : url, headers: { host: target.host, ...opts.headers }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`no response from ${url} within 10 s`)));
    req.end();
  });
}

/** Polls `check` until it holds; the limit is a safety net, not a timing assertion. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, limitMs = 15_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * True while `pid` runs. An exited orphan (its parent, a killed runtime host, is gone) stays a
 * zombie until init reaps it; it runs no more, so it counts as gone.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return true;
  }
}

/** A Deployment running the env-app fixture, with the given extra container fields. */
export function envAppDeployment(name: string, opts: { replicas?: number; container?: string; template?: string; namespace?: string } = {}): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${opts.namespace ?? 'default'}
spec:
  replicas: ${opts.replicas ?? 1}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}, version: v1}
      annotations:
        skiff.dev/command: "node dist/test/runtime/fixtures/env-app.js"
    spec:
${opts.template ?? ''}
      containers:
      - name: app
        image: example.com/env-app:1
${opts.container ?? ''}
`;
}
