/**
 * One measurement of one scenario: wrk on the load core against the scenario's entry point, with
 * the CPU time and memory of the scenario's proxy processes read from /proc around and during it.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { LOAD_CORE, PROXY_CORE } from './backend.js';
import type { Endpoint } from './peers.js';
import { coreBusySeconds, cpuSeconds, processTree, rssMb } from './procfs.js';
import { start } from './processes.js';
import type { Managed } from './processes.js';
import { pinned } from './tools.js';
import type { Tools } from './tools.js';
import { DONE_HOOK, errorCount, pacedScript, parseWrkOutput } from './wrk-output.js';
import type { WrkResult } from './wrk-output.js';

/** Where a scenario's load goes and which processes do its proxying. */
export interface Target {
  entry: Endpoint;
  host: string;
  path: string;
  /** Root processes of the proxies under test (their children count too); empty for direct. */
  proxies: readonly Managed[];
}

export interface Scripts {
  max: string;
  paced: string;
}

/** Writes the wrk Lua scripts into `dir`. */
export function writeScripts(dir: string, rate: number, connections: number): Scripts {
  const max = join(dir, 'done.lua');
  const paced = join(dir, 'paced.lua');
  writeFileSync(max, DONE_HOOK);
  writeFileSync(paced, pacedScript(rate, connections));
  return { max, paced };
}

function proxyPids(t: Target): number[] {
  return t.proxies.flatMap((p) => processTree(p.pid));
}

export interface LoadRun {
  wrk: WrkResult;
  /** CPU seconds the proxies used during the run; null for direct. */
  cpuS: number | null;
  /** Highest RSS of the proxies (summed) sampled during the run; null for direct. */
  peakRssMb: number | null;
  /**
   * Share of the proxy core kept busy by anything but the proxies during the run (other work on
   * a shared machine, plus kernel network work not charged to a process): a noise gauge.
   */
  otherBusyOnProxyCore: number | null;
}

/** Runs wrk once; throws with wrk's output when it fails or prints nothing usable. */
export async function runWrk(tools: Tools, t: Target, opts: { connections: number; durationS: number; script: string }): Promise<LoadRun> {
  const wrkPath = tools.wrk;
  if (wrkPath === null) throw new Error('wrk is not installed');
  const url = `http://${t.entry.address}:${t.entry.port}${t.path}`;
  const args = ['-t1', `-c${opts.connections}`, `-d${Math.max(1, Math.round(opts.durationS))}s`, '--timeout', '5s', '--latency', '-s', opts.script, '-H', `Host: ${t.host}`, url];
  const cmd = pinned(tools, LOAD_CORE, wrkPath, args);
  const direct = t.proxies.length === 0;
  const pids = direct ? [] : proxyPids(t);
  const cpuBefore = direct ? 0 : cpuSeconds(pids);
  const coreBefore = coreBusySeconds(PROXY_CORE);
  const started = performance.now();
  let peak = direct ? null : rssMb(pids);
  const sampler = direct
    ? null
    : setInterval(() => {
        const now = rssMb(proxyPids(t));
        if (peak === null || now > peak) peak = now;
      }, 500);
  const wrk = start('wrk', cmd.command, cmd.args);
  await wrk.done();
  if (sampler !== null) clearInterval(sampler);
  const cpuS = direct ? null : cpuSeconds(proxyPids(t)) - cpuBefore;
  const coreAfter = coreBusySeconds(PROXY_CORE);
  const wallS = (performance.now() - started) / 1000;
  const other = coreBefore === null || coreAfter === null || tools.taskset === null ? null : Math.max(0, (coreAfter - coreBefore - (cpuS ?? 0)) / wallS);
  if (wrk.child.exitCode !== 0) throw new Error(`wrk failed (exit ${wrk.child.exitCode}): ${wrk.output.trim()}`);
  return { wrk: parseWrkOutput(wrk.output), cpuS, peakRssMb: peak, otherBusyOnProxyCore: other };
}

/** One round of one scenario: its max throughput, then its latency at the fixed rate. */
export interface RoundSample {
  round: number;
  rps: number;
  /** Proxy CPU per request at max throughput, µs. */
  cpuUsPerReq: number | null;
  rssLoadMb: number | null;
  /** Latency at the fixed rate, ms. */
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  /** Request rate the paced run achieved. */
  fixedRps: number;
  /** Proxy CPU seconds per 1000 requests at the fixed rate = vCPU per 1000 req/s. */
  vcpuPer1kRps: number | null;
  /** Failed requests (socket errors and non-2xx/3xx) in either run. */
  errors: number;
  /** Other work on the proxy core during the max-throughput run, 0..1 (null when unpinned). */
  otherBusyOnProxyCore: number | null;
}

export interface RoundPlan {
  warmupS: number;
  durationS: number;
  connections: number;
  fixedConnections: number;
}

export async function measureRound(tools: Tools, t: Target, scripts: Scripts, plan: RoundPlan, round: number): Promise<RoundSample> {
  if (plan.warmupS > 0) await runWrk(tools, t, { connections: plan.connections, durationS: plan.warmupS, script: scripts.max });
  const max = await runWrk(tools, t, { connections: plan.connections, durationS: plan.durationS, script: scripts.max });
  const fixed = await runWrk(tools, t, { connections: plan.fixedConnections, durationS: plan.durationS, script: scripts.paced });
  return {
    round,
    rps: max.wrk.rps,
    cpuUsPerReq: max.cpuS === null || max.wrk.requests === 0 ? null : (max.cpuS * 1e6) / max.wrk.requests,
    rssLoadMb: max.peakRssMb,
    p50Ms: fixed.wrk.p50Ms,
    p90Ms: fixed.wrk.p90Ms,
    p99Ms: fixed.wrk.p99Ms,
    fixedRps: fixed.wrk.rps,
    vcpuPer1kRps: fixed.cpuS === null || fixed.wrk.requests === 0 ? null : (fixed.cpuS * 1000) / fixed.wrk.requests,
    errors: errorCount(max.wrk.errors) + errorCount(fixed.wrk.errors),
    otherBusyOnProxyCore: max.otherBusyOnProxyCore,
  };
}

/** Resident memory of the scenario's proxies now (before any load: idle). */
export function idleRssMb(t: Target): number | null {
  return t.proxies.length === 0 ? null : rssMb(proxyPids(t));
}

/**
 * One request through the scenario before measuring: a row whose route is wrong would otherwise
 * show a fast 404. Resolves with an error message, or null when the answer is 200 with the body.
 */
export function probe(t: Target, bodyBytes: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: t.entry.address, port: t.entry.port, path: t.path, headers: { host: t.host }, agent: false, timeout: 5000 }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => (n += d.length));
      res.on('end', () => {
        if (res.statusCode !== 200) resolve(`answered ${res.statusCode} (${String(res.headers['x-envoy-response-flags'] ?? '')}) instead of 200`);
        else if (n !== bodyBytes) resolve(`answered ${n} body bytes instead of ${bodyBytes}`);
        else resolve(null);
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 5 s')));
    req.on('error', (err) => resolve(`request failed: ${err.message}`));
  });
}
