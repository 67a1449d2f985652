/**
 * Skiff proxies as the benchmark runs them: real `skiff proxy --snapshot FILE` processes pinned to
 * the proxy core, their listener ports read from the log, and the optional telemetry switches
 * found by reading `skiff proxy --help` (a row is added only for a switch the proxy has).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROXY_CORE } from './backend.js';
import type { Endpoint } from './peers.js';
import { start } from './processes.js';
import type { Managed } from './processes.js';
import { checked } from './snapshots.js';
import type { ProxySnapshot } from '../src/snapshot/index.js';
import { pinned } from './tools.js';
import type { Tools } from './tools.js';
import { startTraceSink } from './trace-sink.js';
import type { TraceSink } from './trace-sink.js';

export const SKIFF_BIN = fileURLToPath(new URL('../../bin/skiff.js', import.meta.url));

export interface RunningSkiff {
  process: Managed;
  /** Bound address of each listener, by listener name. */
  listeners: Map<string, Endpoint>;
}

/** `a=127.0.0.1:1234 b=[::1]:99` from the proxy's "snapshot … applied; listeners: …" log line. */
export function parseListenerLine(line: string): Map<string, Endpoint> {
  const out = new Map<string, Endpoint>();
  const list = /listeners: (.*)$/m.exec(line);
  if (list === null) return out;
  for (const item of list[1].trim().split(/\s+/)) {
    const eq = item.indexOf('=');
    const colon = item.lastIndexOf(':');
    if (eq <= 0 || colon <= eq) continue;
    const address = item.slice(eq + 1, colon).replace(/^\[(.*)\]$/, '$1');
    out.set(item.slice(0, eq), { address, port: Number(item.slice(colon + 1)) });
  }
  return out;
}

export interface StartSkiffOptions {
  /** Arguments after the common ones (`baseArgs`), e.g. a telemetry switch. */
  extraArgs?: readonly string[];
  /** From `baseArgs(skiffProxyHelp())`: ports that must not collide between several proxies. */
  baseArgs?: readonly string[];
  /** Write a V8 CPU profile into this directory when the process exits. */
  cpuProfDir?: string;
  /** Runs the proxy inside another program (callgrind), unpinned, instead of pinned to the proxy core. */
  wrap?: (command: string, args: readonly string[]) => { command: string; args: string[] };
  /** How long the proxy may take to apply its snapshot (longer under valgrind). */
  readyTimeoutMs?: number;
}

/** Writes the snapshot, starts the proxy and waits for its listeners. */
export async function startSkiff(tools: Tools, name: string, snapshot: ProxySnapshot, workDir: string, opts: StartSkiffOptions = {}): Promise<RunningSkiff> {
  const file = join(workDir, `${name}.json`);
  writeFileSync(file, JSON.stringify(checked(snapshot), null, 1));
  const node = opts.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir];
  const args = [
    ...node,
    SKIFF_BIN,
    'proxy',
    '--snapshot',
    file,
    '--admin-port',
    '0',
    '--health-port',
    '0',
    '--health-address',
    '127.0.0.1',
    '--drain-ms',
    '200',
    ...(opts.baseArgs ?? []),
    ...(opts.extraArgs ?? []),
  ];
  const cmd = opts.wrap === undefined ? pinned(tools, PROXY_CORE, process.execPath, args) : opts.wrap(process.execPath, args);
  // stdout carries access-log lines when they are on: into a file, as a container runtime would take them.
  const proc = start(`skiff proxy (${name})`, cmd.command, cmd.args, { stdoutFile: join(workDir, `${name}.stdout`) });
  const m = await proc.waitFor(/snapshot \S+ applied; listeners: .*$/m, opts.readyTimeoutMs);
  const listeners = parseListenerLine(m[0]);
  if (listeners.size === 0) throw new Error(`${proc.name}: no listeners in "${m[0]}"`);
  return { process: proc, listeners };
}

// ---------------------------------------------------------------------------------------------
// Telemetry switches
// ---------------------------------------------------------------------------------------------

export interface HelpOption {
  flag: string;
  /** The placeholder of its value (`file` for `--access-log <file>`), or null for a switch. */
  arg: string | null;
}

/** The long options listed in a commander `--help` text. */
export function parseHelpOptions(help: string): HelpOption[] {
  const out: HelpOption[] = [];
  for (const m of help.matchAll(/^\s+(?:-\w, )?(--[a-z0-9][a-z0-9-]*)(?: [<[]([^>\]]+)[>\]])?/gm)) {
    out.push({ flag: m[1], arg: m[2] ?? null });
  }
  return out;
}

/**
 * Arguments every benchmarked proxy gets, for options the proxy has: one worker (the proxy is
 * pinned to one core and the targets are per core; a sidecar's default is 2), and any free port
 * for the metrics endpoint (its default, 15020, would collide between the several proxies of a
 * run), on loopback.
 */
export function baseArgs(help: string): string[] {
  const flags = new Set(parseHelpOptions(help).map((o) => o.flag));
  const out: string[] = [];
  if (flags.has('--concurrency')) out.push('--concurrency', '1');
  if (flags.has('--metrics-port')) out.push('--metrics-port', '0');
  if (flags.has('--metrics-address')) out.push('--metrics-address', '127.0.0.1');
  return out;
}

/** An extra Skiff row: the one-hop sidecar with a telemetry feature switched on. */
export interface TelemetryVariant {
  scenario: string;
  description: string;
  args: string[];
}

/** Tracing as every benchmarked Skiff proxy runs it: sampled at 1 %, spans exported when it can. */
export interface TracingArgs {
  args: string[];
  /** Option taking a Zipkin URL: the benchmark starts a span sink and passes its URL. */
  traceSinkFlag?: string;
}

export interface VariantPlan {
  /** Tracing switched on in every Skiff row (Istio's Bookinfo feature set), or null when the proxy has no switch. */
  tracing: TracingArgs | null;
  variants: TelemetryVariant[];
  /** Why a wanted feature or variant is not run. */
  skipped: string[];
}

/**
 * Reads which telemetry switches `skiff proxy` offers: tracing sampled at 1 % with spans exported
 * (to a local sink) for every Skiff row, and an access log on as an extra row. A switch whose
 * value the benchmark cannot supply sensibly is reported, not guessed.
 */
export function telemetryVariants(help: string, workDir: string): VariantPlan {
  const options = parseHelpOptions(help);
  const plan: VariantPlan = { tracing: null, variants: [], skipped: [] };

  const log = options.find((o) => /access-?log/.test(o.flag) && !/format|encoding/.test(o.flag));
  if (log === undefined) plan.skipped.push('access log on: `skiff proxy --help` lists no access-log option');
  else if (log.arg === null) plan.variants.push({ scenario: 'skiff-outbound-access-log', description: 'one sidecar hop, access log on', args: [log.flag] });
  else if (/file|path/i.test(log.arg)) {
    plan.variants.push({ scenario: 'skiff-outbound-access-log', description: 'one sidecar hop, access log on (to a file)', args: [log.flag, join(workDir, 'access.log')] });
  } else plan.skipped.push(`access log on: don't know what to pass to ${log.flag} <${log.arg}>`);

  const sampling = options.find((o) => /trac/.test(o.flag) && /sampl|percent|rate/.test(o.flag) && o.arg !== null);
  if (sampling === undefined) plan.skipped.push('tracing 1%: `skiff proxy --help` lists no trace sampling option');
  else {
    const value = /fraction|ratio/i.test(sampling.arg ?? '') ? '0.01' : '1';
    const zipkin = options.find((o) => /zipkin/.test(o.flag) && o.arg !== null);
    plan.tracing = { args: [sampling.flag, value], ...(zipkin === undefined ? {} : { traceSinkFlag: zipkin.flag }) };
  }
  return plan;
}

/**
 * The arguments of every benchmarked Skiff proxy — `baseArgs` plus the Bookinfo feature set:
 * metrics (on by default) and tracing at 1 %, exporting to a local span sink it starts — and the
 * plan of extra telemetry rows.
 */
export async function featureArgs(help: string, workDir: string): Promise<{ args: string[]; traceSink: TraceSink | null; plan: VariantPlan }> {
  const plan = telemetryVariants(help, workDir);
  const args = baseArgs(help);
  let traceSink: TraceSink | null = null;
  if (plan.tracing !== null) {
    args.push(...plan.tracing.args);
    if (plan.tracing.traceSinkFlag !== undefined) {
      traceSink = await startTraceSink();
      args.push(plan.tracing.traceSinkFlag, traceSink.url);
    }
  }
  return { args, traceSink, plan };
}

/** The text of `skiff proxy --help`. */
export function skiffProxyHelp(): string {
  return execFileSync(process.execPath, [SKIFF_BIN, 'proxy', '--help'], { encoding: 'utf8' });
}
