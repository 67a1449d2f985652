/**
 * What a benchmark run produces: the JSON document (`bench/results/latest.json` and a dated copy)
 * and the Markdown table printed on stdout, with the machine and method the figures came from.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Row, TargetCheck } from './aggregate.js';
import type { ControlPlaneResult } from './controlplane.js';
import type { Tools } from './tools.js';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryMb: number;
  kernel: string;
  node: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine. */
  loadAverageAtStart: number[];
  pinned: boolean;
  versions: Record<string, string | null>;
}

export interface MethodInfo {
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  fixedRate: number;
  fixedConnections: number;
  backend: 'nginx' | 'node';
  bodyBytes: number;
  /** Endpoints of the cluster a Skiff request goes to (LEAST_REQUEST picks among them). */
  endpointsPerCluster: number;
  quick: boolean;
  /** Niceness the benchmark processes ran at (0 = as started). */
  nice: number;
}

export interface BenchReport {
  date: string;
  machine: MachineInfo;
  method: MethodInfo;
  rows: Row[];
  skipped: { scenario: string; reason: string }[];
  targets: TargetCheck[];
  controlPlane: ControlPlaneResult;
  /** Anything else the run observed (e.g. spans the Skiff rows exported to the local sink). */
  notes: string[];
}

function versionOf(command: string | null, args: string[], re: RegExp): string | null {
  if (command === null) return null;
  try {
    const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return re.exec(out)?.[1] ?? out.trim().split('\n')[0];
  } catch (err) {
    // nginx -v and wrk -v print to stderr and wrk exits 1.
    const e = err as { stdout?: string; stderr?: string };
    const text = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    return re.exec(text)?.[1] ?? (text.trim().split('\n')[0] || null);
  }
}

export function machineInfo(tools: Tools): MachineInfo {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryMb: Math.round(os.totalmem() / 2 ** 20),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    pinned: tools.taskset !== null,
    versions: {
      wrk: versionOf(tools.wrk, ['-v'], /wrk (\S+)/),
      nginx: versionOf(tools.nginx, ['-v'], /nginx\/(\S+)/),
      haproxy: versionOf(tools.haproxy, ['-v'], /version (\S+)/i),
    },
  };
}

const cell = (v: number | null, digits?: number): string => (v === null ? '—' : digits === undefined ? String(v) : v.toFixed(digits));

/** The results as a Markdown table, one line per row. */
export function markdownTable(rows: readonly Row[]): string {
  const head = ['scenario', 'max req/s', '×nginx', 'p50 ms', 'p90 ms', 'p99 ms', 'added p99', 'CPU µs/req', 'vCPU/1k rps', 'RSS idle MB', 'RSS load MB', 'errors', 'noise'];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows) {
    lines.push(
      `| ${[
        r.scenario,
        cell(r.rps),
        r.rps_vs_nginx === null ? '—' : `${r.rps_vs_nginx.toFixed(2)}×`,
        cell(r.p50_ms, 2),
        cell(r.p90_ms, 2),
        cell(r.p99_ms, 2),
        r.added_p99_ms === null ? '—' : `${r.added_p99_ms >= 0 ? '+' : ''}${r.added_p99_ms.toFixed(2)}`,
        cell(r.cpu_us_per_req, 1),
        cell(r.vcpu_per_1k_rps, 3),
        cell(r.rss_idle_mb, 0),
        cell(r.rss_load_mb, 0),
        String(r.errors),
        r.other_busy_on_proxy_core === null ? '—' : `${Math.round(r.other_busy_on_proxy_core * 100)}%`,
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

export function targetLines(checks: readonly TargetCheck[]): string {
  return checks.map((c) => `- [${c.met === null ? ' ' : c.met ? 'x' : ' '}] ${c.target}: ${c.measured}${c.met === false ? ' (not met)' : c.met === null ? ' (not measured)' : ''}`).join('\n');
}

const MERGE_NOTE = /^(proxy rows|control plane rows)[^]* from the run of /;

/** "<what> from the run of <date>": the date of the run that measured them, which `previous` may itself have kept. */
function keptNote(previous: Partial<BenchReport>, what: string): string {
  const prefix = `${what} from the run of `;
  return (previous.notes ?? []).find((n) => n.startsWith(prefix)) ?? `${prefix}${previous.date ?? 'an earlier run'}`;
}

/** What an earlier `latest.json` holds, as far as merging needs it; anything else is not trusted. */
function previousReport(file: string): Partial<BenchReport> | null {
  if (!existsSync(file)) return null;
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v) : null;
  } catch {
    return null;
  }
}

/**
 * The report with the results of the suite it did not run taken from `previous`, so that running
 * one suite (`--suite controlplane`) does not wipe the other's figures from `latest.json`. A
 * suite ran when it left rows or skipped rows (proxy) or is not `not-run` (control plane). Each
 * part kept says in `notes` which run it came from.
 */
export function mergeReports(report: BenchReport, previous: Partial<BenchReport> | null): BenchReport {
  if (previous === null) return report;
  const out: BenchReport = { ...report, notes: [...report.notes] };
  const proxyRan = report.rows.length > 0 || report.skipped.length > 0;
  if (!proxyRan && Array.isArray(previous.rows) && previous.rows.length > 0) {
    out.rows = previous.rows;
    out.skipped = previous.skipped ?? [];
    out.targets = previous.targets ?? report.targets;
    if (previous.method !== undefined) out.method = previous.method;
    // The notes of a run describe its proxy rows (trace export counts); the merge notes are redone here.
    const earlier = (previous.notes ?? []).filter((n) => !MERGE_NOTE.test(n));
    out.notes.push(...earlier, keptNote(previous, 'proxy rows, targets and method'));
  }
  if (report.controlPlane.status === 'not-run' && previous.controlPlane?.status === 'measured') {
    out.controlPlane = previous.controlPlane;
    out.notes.push(keptNote(previous, 'control plane rows'));
  }
  return out;
}

/** Writes `latest.json` (merged with the previous one, see `mergeReports`) and `<timestamp>.json` into `dir`; returns their paths. */
export function writeReport(dir: string, report: BenchReport): string[] {
  mkdirSync(dir, { recursive: true });
  const latest = join(dir, 'latest.json');
  const merged = mergeReports(report, previousReport(latest));
  const stamp = report.date.replace(/[:.]/g, '-');
  writeFileSync(latest, `${JSON.stringify(merged, null, 2)}\n`);
  // The dated copy is this run alone.
  const dated = join(dir, `${stamp}.json`);
  writeFileSync(dated, `${JSON.stringify(report, null, 2)}\n`);
  return [latest, dated];
}
