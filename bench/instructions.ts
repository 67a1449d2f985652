/**
 * `npm run bench -- --suite instructions`: the instructions each proxy of the two-hop mutual-TLS
 * path runs per request, counted by callgrind (see `callgrind.ts`) — Skiff's client and server
 * sidecars (`skiff-2hop-mtls`) and the nginx pair doing the same TLS work (`nginx-2hop-mtls`),
 * measured in the same run.
 *
 * One proxy is counted at a time: it runs under callgrind, its peer as in the proxy suite, the
 * same snapshots, certificates and feature set (metrics, tracing at 1 %). The load is the same
 * requests one after another on one keep-alive connection: a warm-up that lets V8 compile the hot
 * path (its tiers move on by calls made, not by time, so the same warm-up gives the same code),
 * then the counted requests. The count covers user space only, every thread of the process; the
 * main thread is shown on its own, as V8's compiler and GC threads are where a JIT-compiled
 * proxy's count differs from run to run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend } from './backend.js';
import { dumpCounts, findCallgrind, setCounting, underCallgrind } from './callgrind.js';
import type { Callgrind, ThreadCounts } from './callgrind.js';
import { benchPki, startNginxMtlsPair, withInboundMtls, withOutboundMtls } from './mtls.js';
import type { BenchPki } from './mtls.js';
import type { Endpoint } from './peers.js';
import { loopbackAddresses } from './scenarios.js';
import { sequentialRequests } from './sequential-client.js';
import { featureArgs, skiffProxyHelp, startSkiff } from './skiff.js';
import type { RunningSkiff } from './skiff.js';
import { REQUEST_PATH, SIDECAR_HOST, sidecarSnapshot } from './snapshots.js';
import type { Tools } from './tools.js';

export const INSTRUCTION_ROWS = ['skiff-2hop-mtls', 'nginx-2hop-mtls'] as const;
export type InstructionRow = (typeof INSTRUCTION_ROWS)[number];
type Side = 'client' | 'server';

export interface InstructionOptions {
  /** Requests before counting starts. */
  warmup: number;
  /** Requests counted. */
  requests: number;
  /** Only these rows; empty = both. */
  only: readonly string[];
}

/** One proxy's count. */
export interface InstructionSample {
  row: InstructionRow;
  side: Side;
  requests: number;
  /** Every thread of the process, per request. */
  perRequest: number;
  /** The main thread (the event loop, or nginx's one process), per request. */
  mainPerRequest: number;
  threads: number;
}

export interface InstructionReport {
  date: string;
  warmup: number;
  requests: number;
  samples: InstructionSample[];
  skipped: { row: string; reason: string }[];
}

const STARTUP_UNDER_VALGRIND_MS = 180_000;

/** Counts the wanted rows' proxies, one at a time. */
export async function runInstructionSuite(tools: Tools, opts: InstructionOptions, workDir: string, log: (s: string) => void): Promise<InstructionReport> {
  const wanted = (row: InstructionRow): boolean => opts.only.length === 0 || opts.only.includes(row);
  const report: InstructionReport = { date: new Date().toISOString(), warmup: opts.warmup, requests: opts.requests, samples: [], skipped: [] };
  const cg = findCallgrind();
  if (cg === null) {
    for (const row of INSTRUCTION_ROWS.filter(wanted)) report.skipped.push({ row, reason: 'valgrind (with callgrind_control) is not installed: apt-get install -y valgrind' });
    return report;
  }
  const addresses = await loopbackAddresses();
  const backend = await startBackend(tools, workDir, addresses);
  const app = { address: addresses[0], port: backend.port };
  const pki = benchPki(workDir);
  const ctx: Context = { tools, cg, workDir, app, addresses, pki, opts, log };
  if (wanted('skiff-2hop-mtls')) {
    const features = await featureArgs(skiffProxyHelp(), workDir);
    try {
      for (const side of ['client', 'server'] as const) report.samples.push(await countSkiff(ctx, side, features.args));
    } finally {
      await features.traceSink?.close();
    }
  }
  if (wanted('nginx-2hop-mtls')) {
    const nginx = tools.nginx;
    if (nginx === null) report.skipped.push({ row: 'nginx-2hop-mtls', reason: 'nginx is not installed' });
    else for (const side of ['client', 'server'] as const) report.samples.push(await countNginx(ctx, nginx, side));
  }
  await backend.process.stop();
  return report;
}

interface Context {
  tools: Tools;
  cg: Callgrind;
  workDir: string;
  app: Endpoint;
  addresses: string[];
  pki: BenchPki;
  opts: InstructionOptions;
  log: (s: string) => void;
}

function outDir(ctx: Context, row: InstructionRow, side: Side): string {
  const dir = join(ctx.workDir, 'callgrind', `${row}-${side}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Warms the path up through `entry`, then counts `requests` requests in process `pid`. */
async function count(ctx: Context, row: InstructionRow, side: Side, pid: number, dir: string, entry: Endpoint): Promise<InstructionSample> {
  const { warmup, requests } = ctx.opts;
  ctx.log(`instructions: ${row} ${side}: ${warmup} warm-up requests, then ${requests} counted`);
  await sequentialRequests(entry, SIDECAR_HOST, REQUEST_PATH, warmup);
  setCounting(ctx.cg, pid, true);
  await sequentialRequests(entry, SIDECAR_HOST, REQUEST_PATH, requests);
  setCounting(ctx.cg, pid, false);
  return sample(row, side, requests, await dumpCounts(ctx.cg, pid, dir));
}

/** Per-request figures from one process's per-thread counts. */
export function sample(row: InstructionRow, side: Side, requests: number, threads: readonly ThreadCounts[]): InstructionSample {
  if (threads.length === 0 || requests <= 0) throw new Error(`${row} ${side}: nothing counted`);
  const all = threads.reduce((sum, t) => sum + t.instructions, 0);
  return { row, side, requests, perRequest: all / requests, mainPerRequest: threads[0].instructions / requests, threads: threads.length };
}

function listener(s: RunningSkiff, name: string): Endpoint {
  const e = s.listeners.get(name);
  if (e === undefined) throw new Error(`${s.process.name} has no listener ${name}`);
  return e;
}

async function countSkiff(ctx: Context, side: Side, baseArgs: string[]): Promise<InstructionSample> {
  const dir = outDir(ctx, 'skiff-2hop-mtls', side);
  const counted = { wrap: (command: string, args: readonly string[]) => underCallgrind(ctx.cg, dir, command, args), readyTimeoutMs: STARTUP_UNDER_VALGRIND_MS };
  const endpoints = ctx.addresses.map((address) => ({ address, port: ctx.app.port }));
  // The server first: the client's cluster is its inbound listeners.
  const server = await startSkiff(
    ctx.tools,
    `instructions-${side}-server`,
    withInboundMtls(sidecarSnapshot({ id: 'reviews-v1', outboundEndpoints: endpoints, app: ctx.app, inboundAddresses: ctx.addresses }), ctx.pki),
    ctx.workDir,
    { baseArgs, ...(side === 'server' ? counted : {}) },
  );
  const inbound = [...server.listeners.entries()].filter(([name]) => name.startsWith('inbound_')).map(([, e]) => e);
  const client = await startSkiff(
    ctx.tools,
    `instructions-${side}-client`,
    withOutboundMtls(sidecarSnapshot({ id: 'productpage-v1', outboundEndpoints: inbound, app: ctx.app, inboundAddresses: ['127.0.0.1'] }), ctx.pki),
    ctx.workDir,
    { baseArgs, ...(side === 'client' ? counted : {}) },
  );
  try {
    const pid = (side === 'client' ? client : server).process.pid;
    return await count(ctx, 'skiff-2hop-mtls', side, pid, dir, listener(client, '0.0.0.0_9080'));
  } finally {
    await client.process.stop(10_000);
    await server.process.stop(10_000);
  }
}

async function countNginx(ctx: Context, nginx: string, side: Side): Promise<InstructionSample> {
  const dir = outDir(ctx, 'nginx-2hop-mtls', side);
  const pair = await startNginxMtlsPair(ctx.tools, nginx, ctx.workDir, ctx.app, ctx.pki, { side, tag: `instructions-${side}`, wrap: (command, args) => underCallgrind(ctx.cg, dir, command, args) });
  try {
    const pid = side === 'client' ? pair.process.pid : pair.back.pid;
    return await count(ctx, 'nginx-2hop-mtls', side, pid, dir, pair.listen);
  } finally {
    await pair.process.stop(10_000);
    await pair.back.stop(10_000);
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The report as Markdown: a row per proxy, then each pair's total and Skiff's against nginx's. */
export function instructionTable(r: InstructionReport): string {
  const out = [
    `Instructions per request (user space, callgrind), ${r.date}: ${r.warmup} warm-up requests, then ${r.requests} counted, one at a time on one keep-alive connection`,
    '',
    '| row | proxy | instructions/request | main thread | threads |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const s of r.samples) out.push(`| ${s.row} | ${s.side} | ${fmt(s.perRequest)} | ${fmt(s.mainPerRequest)} | ${s.threads} |`);
  const pair = (row: InstructionRow): { all: number; main: number } | null => {
    const ss = r.samples.filter((s) => s.row === row);
    if (ss.length !== 2) return null;
    return { all: ss[0].perRequest + ss[1].perRequest, main: ss[0].mainPerRequest + ss[1].mainPerRequest };
  };
  const skiff = pair('skiff-2hop-mtls');
  const nginx = pair('nginx-2hop-mtls');
  out.push('');
  if (skiff !== null) out.push(`- skiff-2hop-mtls, both sidecars: ${fmt(skiff.all)} per request (main threads ${fmt(skiff.main)})`);
  if (nginx !== null) out.push(`- nginx-2hop-mtls, both nginx: ${fmt(nginx.all)} per request`);
  if (skiff !== null && nginx !== null) {
    out.push(`- Skiff's pair ÷ nginx's pair: ${(skiff.all / nginx.all).toFixed(2)}× (main threads ${(skiff.main / nginx.main).toFixed(2)}×); kernel time, about alike for both, is not in these counts`);
  }
  for (const s of r.skipped) out.push(`- skipped ${s.row}: ${s.reason}`);
  return out.join('\n');
}

/** Writes the report as `instructions-latest.json` and a dated copy; returns the paths. */
export function writeInstructionReport(dir: string, r: InstructionReport): string[] {
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(r, null, 2)}\n`;
  const files = [join(dir, 'instructions-latest.json'), join(dir, `instructions-${r.date.replace(/[:.]/g, '-')}.json`)];
  for (const f of files) writeFileSync(f, json);
  return files;
}
