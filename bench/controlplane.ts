/**
 * The control-plane benchmark: N simulated proxies connected to skiffd with 1000 services, timing
 * a config change to the last proxy's ACK, with skiffd's CPU and memory. skiffd runs in its own
 * process (its CPU and RSS read from /proc) and the simulated proxies in others, so the client
 * side of the streams is not counted as skiffd's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ForkedChild } from './controlplane-child.js';
import { proxyId, servicesYaml, virtualServiceYaml } from './controlplane-messages.js';
import type { SimCommand, SimEvent, SkiffdCommand, SkiffdEvent } from './controlplane-messages.js';
import { summariseChanges } from './controlplane-report.js';
import type { ChangeSample, ControlPlaneFailure, ControlPlaneMeasurement, ControlPlaneResult } from './controlplane-report.js';
import { cpuSeconds, rssMb } from './procfs.js';

export { CONTROL_PLANE_TARGET_MS, controlPlaneTable } from './controlplane-report.js';
export type { ControlPlaneFailure, ControlPlaneMeasurement, ControlPlaneResult } from './controlplane-report.js';

/** Proxy counts measured, and the services in the registry for each. */
export const CONTROL_PLANE_SIZES = [100, 1000, 2000] as const;
export const CONTROL_PLANE_QUICK_SIZES = [100, 1000] as const;
export const CONTROL_PLANE_SERVICES = 1000;
/** Simulated proxies per process. */
const SIMS_PER_PROCESS = 1000;
const STEP_TIMEOUT_MS = 180_000;
/** The initial sync's limit grows with the fleet: skiffd translates every proxy's snapshot in turn. */
const syncTimeoutMs = (proxies: number): number => Math.max(STEP_TIMEOUT_MS, 300 * proxies);
/** Changes stop early (after at least one) once they took this long together: skiffd's time per change grows with the proxies. */
const CHANGES_BUDGET_MS = 150_000;

const entry = (name: string): string => fileURLToPath(new URL(`./${name}.js`, import.meta.url));

export interface ControlPlaneBenchOptions {
  sizes: readonly number[];
  /** Config changes timed per size (the median is reported). */
  changes: number;
  log: (line: string) => void;
  /** When set, skiffd runs with `--cpu-prof` and writes its profile here. */
  cpuProfileDir?: string;
}

type Skiffd = ForkedChild<SkiffdCommand, SkiffdEvent>;
type Sims = ForkedChild<SimCommand, SimEvent>;

/** skiffd's API and the token it requires. */
interface Api {
  apiUrl: string;
  apiToken: string;
}

async function api({ apiUrl, apiToken }: Api, method: 'GET' | 'POST', path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`skiffd ${method} ${path}: ${res.status} ${text.slice(0, 2000)}`);
}

const apply = (target: Api, name: string, text: string): Promise<void> => api(target, 'POST', '/api/v1/apply', { files: [{ name, text }] });
/** Resolves once skiffd's pushes are done and every connected proxy acknowledged its latest snapshot. */
const settled = (target: Api): Promise<void> => api(target, 'GET', `/api/v1/ready?timeoutMs=${STEP_TIMEOUT_MS}`);

async function measureSize(proxies: number, opts: ControlPlaneBenchOptions): Promise<ControlPlaneMeasurement> {
  const services = CONTROL_PLANE_SERVICES;
  const workloads = Math.max(proxies, services);
  const stateDir = mkdtempSync(join(tmpdir(), 'skiff-cp-bench-'));
  const profile = opts.cpuProfileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`] : [];
  const skiffd: Skiffd = new ForkedChild('skiffd', entry('controlplane-skiffd'), [stateDir, String(workloads), String(services)], profile);
  const sims: Sims[] = [];
  try {
    const { apiUrl, apiToken, pushUrl } = await skiffd.next('ready', 30_000);
    const target: Api = { apiUrl, apiToken };
    await apply(target, 'services.yaml', `${servicesYaml(services)}---\n${virtualServiceYaml(1)}`);
    await settled(target);

    for (let first = 0; first < proxies; first += SIMS_PER_PROCESS) sims.push(new ForkedChild(`simulated proxies from ${first}`, entry('controlplane-sims'), []));
    await Promise.all(sims.map((s) => s.next('started', 30_000)));
    const connectStart = Date.now();
    sims.forEach((s, k) => {
      const ids = Array.from({ length: Math.min(SIMS_PER_PROCESS, proxies - k * SIMS_PER_PROCESS) }, (_, j) => proxyId(k * SIMS_PER_PROCESS + j));
      s.send({ cmd: 'connect', url: pushUrl, ids });
    });
    const synced = await Promise.all(sims.map((s) => s.next('synced', syncTimeoutMs(proxies))));
    const initialSyncMs = Math.max(...synced.map((e) => e.lastAckAt)) - connectStart;
    const snapshotKb = Math.max(...synced.map((e) => e.snapshotBytes)) / 1024;
    opts.log(`control plane: ${proxies} proxies connected and synced in ${initialSyncMs} ms (snapshot ${Math.round(snapshotKb)} KB)`);
    await settled(target);
    await new Promise((r) => setTimeout(r, 500));

    const samples: ChangeSample[] = [];
    const changesStart = Date.now();
    for (let k = 1; k <= opts.changes && (k === 1 || Date.now() - changesStart < CHANGES_BUDGET_MS); k++) {
      sims.forEach((s) => s.send({ cmd: 'arm' }));
      await Promise.all(sims.map((s) => s.next('armed', 10_000)));
      const cpuBefore = cpuSeconds([skiffd.pid]);
      const writtenAt = Date.now();
      await apply(target, 'vs.yaml', virtualServiceYaml(1 + k));
      const acked = await Promise.all(sims.map((s) => s.next('acked', STEP_TIMEOUT_MS)));
      const sample = {
        writtenAt,
        lastAckAt: Math.max(...acked.map((e) => e.lastAckAt)),
        cpuS: cpuSeconds([skiffd.pid]) - cpuBefore,
        messageBytes: Math.max(...acked.map((e) => e.messageBytes)),
      };
      samples.push(sample);
      opts.log(`control plane: ${proxies} proxies, change ${k}/${opts.changes}: last ACK after ${sample.lastAckAt - writtenAt} ms, skiffd ${sample.cpuS.toFixed(2)} CPU s`);
      await settled(target);
      await new Promise((r) => setTimeout(r, 300));
    }
    return { proxies, services, workloads, initial_sync_ms: initialSyncMs, ...summariseChanges(samples), skiffd_rss_mb: rssMb([skiffd.pid]), snapshot_kb: snapshotKb };
  } finally {
    await Promise.all(sims.map((s) => s.stop({ cmd: 'close' })));
    await skiffd.stop({ cmd: 'stop' }, 15_000);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export async function runControlPlaneBench(opts: ControlPlaneBenchOptions): Promise<ControlPlaneResult> {
  const rows: ControlPlaneMeasurement[] = [];
  const failed: ControlPlaneFailure[] = [];
  for (const n of opts.sizes) {
    try {
      rows.push(await measureSize(n, opts));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      opts.log(`control plane: ${n} proxies not measured: ${reason}`);
      failed.push({ proxies: n, reason });
    }
  }
  return { status: 'measured', rows, failed };
}

export function notRequested(): ControlPlaneResult {
  return { status: 'not-run', reason: 'not requested (run with --suite all or --suite controlplane)' };
}
