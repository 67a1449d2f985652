/**
 * `npm run bench`: the proxy benchmark — direct, Skiff's sidecar, two-hop and gateway paths,
 * nginx and HAProxy — measured interleaved over rounds on one backend and one load, printed as a
 * Markdown table and written to bench/results/latest.json; then the control-plane suite's seam.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRows, checkTargets } from './aggregate.js';
import type { ScenarioSamples } from './aggregate.js';
import { BODY_BYTES } from './backend.js';
import { CONTROL_PLANE_QUICK_SIZES, CONTROL_PLANE_SIZES, controlPlaneTable, notRequested, runControlPlaneBench } from './controlplane.js';
import { INSTRUCTION_ROWS, instructionTable, runInstructionSuite, writeInstructionReport } from './instructions.js';
import { idleRssMb, measureRound, writeScripts } from './measure.js';
import { microTable, runMicroBench } from './micro/index.js';
import type { RoundSample } from './measure.js';
import { parseOptions, USAGE, UsageError } from './options.js';
import type { BenchOptions } from './options.js';
import { killChildrenOnExit, stopAll } from './processes.js';
import { runProfile } from './profile.js';
import { machineInfo, markdownTable, targetLines, writeReport } from './report.js';
import type { BenchReport } from './report.js';
import { SCENARIOS, setUp } from './scenarios.js';
import type { Setup } from './scenarios.js';
import { findTools, missingToolsReport } from './tools.js';
import type { Tools } from './tools.js';

const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);
const DEFAULT_RESULTS = fileURLToPath(new URL('../../bench/results', import.meta.url));

async function runProxySuite(tools: Tools, opts: BenchOptions, workDir: string): Promise<{ setup: Setup; samples: ScenarioSamples[] }> {
  const wanted = (name: string): boolean => opts.only.length === 0 || opts.only.includes(name);
  const setup = await setUp(tools, workDir, wanted);
  for (const s of setup.skipped) log(`skipped ${s.scenario}: ${s.reason}`);
  if (setup.scenarios.length === 0) throw new Error('no scenario to measure');
  log(`backend: ${setup.backend.kind} on ${setup.backend.addresses.join(', ')}:${setup.backend.port}; rows: ${setup.scenarios.map((s) => s.name).join(', ')}`);

  // Idle memory first, after the processes have settled and before any load has grown their heaps.
  await new Promise((r) => setTimeout(r, 1000));
  const all: ScenarioSamples[] = setup.scenarios.map((s) => ({
    scenario: s.name,
    description: s.description,
    proxies: s.target.proxies.length,
    rssIdleMb: idleRssMb(s.target),
    samples: [] as RoundSample[],
  }));

  const scripts = writeScripts(workDir, opts.fixedRate, opts.fixedConnections);
  const perRun = opts.warmupS + 2 * opts.durationS + 1;
  log(`${opts.rounds} round(s) × ${setup.scenarios.length} rows × ~${perRun} s ≈ ${Math.ceil((opts.rounds * setup.scenarios.length * perRun) / 60)} min`);
  const plan = { warmupS: opts.warmupS, durationS: opts.durationS, connections: opts.connections, fixedConnections: opts.fixedConnections };
  for (let round = 1; round <= opts.rounds; round++) {
    // Interleaved, and each round starts one row later, so no row always runs first or last.
    const n = setup.scenarios.length;
    for (let k = 0; k < n; k++) {
      const i = (k + round - 1) % n;
      const s = setup.scenarios[i];
      const sample = await measureRound(tools, s.target, scripts, plan, round);
      const dead = s.target.proxies.find((p) => p.exited);
      if (dead !== undefined) throw new Error(`${dead.name} exited during the ${s.name} run:\n${dead.output.trim()}`);
      all[i].samples.push(sample);
      log(
        `round ${round}/${opts.rounds} ${s.name.padEnd(28)} ${Math.round(sample.rps)} req/s` +
          (sample.p99Ms === null ? '' : `; at ${Math.round(sample.fixedRps)} req/s p50 ${sample.p50Ms?.toFixed(2)} p99 ${sample.p99Ms.toFixed(2)} ms`) +
          (sample.vcpuPer1kRps === null ? '' : `, ${sample.vcpuPer1kRps.toFixed(3)} vCPU/1k`) +
          (sample.errors > 0 ? `; ${sample.errors} ERRORS` : ''),
      );
    }
  }
  return { setup, samples: all };
}

async function main(): Promise<number> {
  let opts: BenchOptions | null;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  if (opts === null) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const unknown = opts.only.filter((n) => !(SCENARIOS as readonly string[]).includes(n) && !n.startsWith('skiff-outbound-'));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}\n`);
    return 2;
  }
  const notCounted = opts.suites.includes('instructions') ? opts.only.filter((n) => !(INSTRUCTION_ROWS as readonly string[]).includes(n)) : [];
  if (notCounted.length > 0) {
    process.stderr.write(`bench: the instructions suite counts ${INSTRUCTION_ROWS.join(' and ')}, not ${notCounted.join(', ')}\n`);
    return 2;
  }
  if (opts.suites.includes('micro') && !opts.profile) {
    const micro = runMicroBench(log);
    process.stdout.write(`Micro-benchmarks, ${new Date().toISOString()} (in-process, after a JIT warm-up; figures for reading, not targets)\n\n${microTable(micro)}\n\n`);
    if (opts.suites.length === 1) return 0;
  }
  killChildrenOnExit();
  const tools = findTools(opts.nice);
  if (opts.nice < 0 && process.getuid?.() !== 0) log(`--nice ${opts.nice} needs root; processes may fail to start`);
  for (const line of missingToolsReport(tools)) log(line);
  const resultsDir = opts.resultsDir ?? DEFAULT_RESULTS;
  const needsWrk = opts.profile || opts.suites.includes('proxy');
  if (needsWrk && tools.wrk === null) return 2;

  const workDir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
  try {
    if (opts.suites.includes('instructions') && !opts.profile) {
      const report = await runInstructionSuite(tools, { warmup: opts.instrWarmup, requests: opts.instrRequests, only: opts.only }, workDir, log);
      const files = report.samples.length > 0 ? writeInstructionReport(resultsDir, report) : [];
      process.stdout.write(`${instructionTable(report)}\n${files.length > 0 ? `\nresults: ${files.join(', ')}\n` : ''}`);
      return report.samples.length > 0 ? 0 : 1;
    }
    if (opts.profile) {
      process.stdout.write(`${await runProfile(tools, opts, workDir, resultsDir, log)}\n`);
      return 0;
    }
    const machine = machineInfo(tools);
    const date = new Date().toISOString();
    let proxy: Awaited<ReturnType<typeof runProxySuite>> | null = null;
    if (opts.suites.includes('proxy')) proxy = await runProxySuite(tools, opts, workDir);
    await stopAll();
    const notes: string[] = [];
    const sink = proxy?.setup.traceSink ?? null;
    if (sink !== null) {
      notes.push(`tracing (1 %, every Skiff row): ${sink.posts} span export request(s), ${sink.bytes} bytes reached the local sink`);
      await sink.close();
    }
    const controlPlane = opts.suites.includes('controlplane')
      ? await runControlPlaneBench({
          sizes: opts.quick ? CONTROL_PLANE_QUICK_SIZES : CONTROL_PLANE_SIZES,
          changes: opts.quick ? 3 : 5,
          log,
          ...(opts.cpuProfileDir !== null ? { cpuProfileDir: opts.cpuProfileDir } : {}),
        })
      : notRequested();

    const rows = proxy === null ? [] : buildRows(proxy.samples);
    const report: BenchReport = {
      date,
      machine,
      method: {
        rounds: opts.rounds,
        durationS: opts.durationS,
        warmupS: opts.warmupS,
        connections: opts.connections,
        fixedRate: opts.fixedRate,
        fixedConnections: opts.fixedConnections,
        backend: proxy?.setup.backend.kind ?? (tools.nginx === null ? 'node' : 'nginx'),
        bodyBytes: BODY_BYTES,
        endpointsPerCluster: proxy?.setup.endpointsPerCluster ?? 0,
        quick: opts.quick,
        nice: opts.nice,
      },
      rows,
      skipped: proxy?.setup.skipped ?? [],
      targets: checkTargets(rows),
      controlPlane,
      notes,
    };
    const files = writeReport(resultsDir, report);
    const out: string[] = [];
    if (rows.length > 0) {
      out.push(
        `Proxy benchmark, ${date} — ${machine.cpus} × ${machine.cpuModel}, load average ${machine.loadAverageAtStart.join(' ')} at start; ` +
          `${opts.rounds} round(s) of ${opts.durationS} s, medians; latency at ${opts.fixedRate} req/s; backend ${report.method.backend}${opts.nice !== 0 ? `; processes at nice ${opts.nice}` : ''}${opts.quick ? '; QUICK run: indicative only' : ''}`,
        '',
        markdownTable(rows),
        '',
        targetLines(report.targets),
      );
      if (rows.some((r) => r.errors > 0)) out.push('', 'Some rows had failed requests (errors column): their figures are suspect.');
      for (const n of notes) out.push('', n);
    }
    if (controlPlane.status === 'measured') {
      out.push('', `Control plane, ${date}: simulated proxies (sidecars) on one skiffd with 1000 services; a VirtualService change timed to the last ACK${opts.quick ? '; QUICK run' : ''}`, '');
    } else out.push('');
    out.push(controlPlaneTable(controlPlane));
    out.push('', `results: ${files.join(', ')}`);
    process.stdout.write(`${out.join('\n')}\n`);
    return rows.some((r) => r.errors > 0) ? 1 : 0;
  } finally {
    await stopAll();
    rmSync(workDir, { recursive: true, force: true });
  }
}

process.exitCode = await main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return 1;
});
