/**
 * `npm run bench -- --profile`: one Skiff proxy under wrk load with `node --cpu-prof`, then its
 * hot spots (self and inclusive time per function, time per file) printed and the raw profile
 * kept beside the results for Chrome DevTools or speedscope.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend } from './backend.js';
import { formatSummary, summarizeProfile } from './cpuprofile.js';
import type { CpuProfile } from './cpuprofile.js';
import { runWrk, writeScripts } from './measure.js';
import type { BenchOptions } from './options.js';
import { loopbackAddresses } from './scenarios.js';
import { featureArgs, skiffProxyHelp, startSkiff } from './skiff.js';
import { GATEWAY_HOST, REQUEST_PATH, SIDECAR_HOST, gatewaySnapshot, sidecarSnapshot } from './snapshots.js';
import type { Tools } from './tools.js';

const PROFILED = ['skiff-outbound', 'skiff-inbound', 'skiff-gateway'] as const;
type Profiled = (typeof PROFILED)[number];

export async function runProfile(tools: Tools, opts: BenchOptions, workDir: string, resultsDir: string, log: (s: string) => void): Promise<string> {
  const which = (opts.only[0] ?? 'skiff-outbound') as Profiled;
  if (!PROFILED.includes(which)) throw new Error(`--profile works on one of ${PROFILED.join(', ')}; got --only ${opts.only.join(',')}`);
  const addresses = await loopbackAddresses();
  const backend = await startBackend(tools, workDir, addresses);
  const endpoints = addresses.map((address) => ({ address, port: backend.port }));
  const profDir = join(workDir, 'cpuprof');
  mkdirSync(profDir, { recursive: true });
  const snapshot =
    which === 'skiff-gateway' ? gatewaySnapshot(endpoints) : sidecarSnapshot({ id: 'productpage-v1', outboundEndpoints: endpoints, app: endpoints[0], inboundAddresses: ['127.0.0.1'] });
  // The same feature set as the table's rows (metrics, tracing at 1 % to a local sink).
  const features = await featureArgs(skiffProxyHelp(), workDir);
  const proxy = await startSkiff(tools, which, snapshot, workDir, { cpuProfDir: profDir, baseArgs: features.args });
  const listenerName = which === 'skiff-gateway' ? '0.0.0.0_8080' : which === 'skiff-inbound' ? 'inbound_9080' : '0.0.0.0_9080';
  const entry = proxy.listeners.get(listenerName);
  if (entry === undefined) throw new Error(`no listener ${listenerName}`);
  const target = { entry, host: which === 'skiff-gateway' ? GATEWAY_HOST : SIDECAR_HOST, path: REQUEST_PATH, proxies: [proxy.process] };
  const scripts = writeScripts(workDir, opts.fixedRate, opts.fixedConnections);
  log(`profiling ${which}: ${opts.warmupS}s warm-up, then ${opts.durationS}s at ${opts.connections} connections`);
  if (opts.warmupS > 0) await runWrk(tools, target, { connections: opts.connections, durationS: opts.warmupS, script: scripts.max });
  const run = await runWrk(tools, target, { connections: opts.connections, durationS: opts.durationS, script: scripts.max });
  // The profile is written when the process exits, which SIGTERM does after draining.
  await proxy.process.stop(10_000);
  await features.traceSink?.close();
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`the proxy wrote no CPU profile into ${profDir}:\n${proxy.process.output}`);
  const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile;
  mkdirSync(resultsDir, { recursive: true });
  const kept = join(resultsDir, `profile-${which}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  copyFileSync(join(profDir, file), kept);
  const cpuUs = run.cpuS === null ? null : (run.cpuS * 1e6) / run.wrk.requests;
  return [
    `${which}: ${Math.round(run.wrk.rps)} req/s under the profiler${cpuUs === null ? '' : `, ${cpuUs.toFixed(1)} µs CPU per request`} (profiling slows the proxy; the shares are what matter)`,
    'the profile covers the whole process life: start-up and warm-up are included',
    '',
    formatSummary(summarizeProfile(profile, 25)),
    '',
    `raw profile: ${kept} (open in Chrome DevTools › Performance, or speedscope)`,
  ].join('\n');
}
