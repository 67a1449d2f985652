/**
 * `npm run bench -- --profile`: Skiff proxies under wrk load with `node --cpu-prof`, then their
 * hot spots (self and inclusive time per function, time per file) printed and the raw profiles
 * kept beside the results for Chrome DevTools or speedscope. A one-hop row profiles its one proxy;
 * a two-hop row (`skiff-2hop`, `skiff-2hop-mtls`) both sidecars, the client's (outbound,
 * originating TLS in the mTLS row) and the server's (inbound, terminating it), each on its own.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend } from './backend.js';
import { formatSummary, summarizeProfile } from './cpuprofile.js';
import type { CpuProfile } from './cpuprofile.js';
import { runWrk, writeScripts } from './measure.js';
import { benchPki, withInboundMtls, withOutboundMtls } from './mtls.js';
import type { BenchOptions } from './options.js';
import type { Endpoint } from './peers.js';
import { loopbackAddresses } from './scenarios.js';
import { featureArgs, skiffProxyHelp, startSkiff } from './skiff.js';
import type { RunningSkiff } from './skiff.js';
import { GATEWAY_HOST, REQUEST_PATH, SIDECAR_HOST, gatewaySnapshot, sidecarAuthzSnapshot, sidecarSnapshot } from './snapshots.js';
import type { Tools } from './tools.js';

const PROFILED = ['skiff-outbound', 'skiff-inbound', 'skiff-inbound-authz', 'skiff-gateway', 'skiff-2hop', 'skiff-2hop-mtls'] as const;
type Profiled = (typeof PROFILED)[number];

/** A proxy under the profiler: its name in the report and the directory its profile goes to. */
interface ProfiledProxy {
  label: string;
  dir: string;
  proxy: RunningSkiff;
}

function listenerOf(proxy: RunningSkiff, name: string): Endpoint {
  const entry = proxy.listeners.get(name);
  if (entry === undefined) throw new Error(`no listener ${name} (has ${[...proxy.listeners.keys()].join(', ')})`);
  return entry;
}

export async function runProfile(tools: Tools, opts: BenchOptions, workDir: string, resultsDir: string, log: (s: string) => void): Promise<string> {
  const which = (opts.only[0] ?? 'skiff-outbound') as Profiled;
  if (!PROFILED.includes(which)) throw new Error(`--profile works on one of ${PROFILED.join(', ')}; got --only ${opts.only.join(',')}`);
  const addresses = await loopbackAddresses();
  const backend = await startBackend(tools, workDir, addresses);
  const endpoints = addresses.map((address) => ({ address, port: backend.port }));
  // The same feature set as the table's rows (metrics, tracing at 1 % to a local sink).
  const features = await featureArgs(skiffProxyHelp(), workDir);
  const profiled: ProfiledProxy[] = [];
  const startProfiled = async (label: string, snapshot: Parameters<typeof startSkiff>[2]): Promise<RunningSkiff> => {
    const dir = join(workDir, 'cpuprof', label);
    mkdirSync(dir, { recursive: true });
    const proxy = await startSkiff(tools, label, snapshot, workDir, { cpuProfDir: dir, baseArgs: features.args });
    profiled.push({ label, dir, proxy });
    return proxy;
  };
  let entry: Endpoint;
  if (which === 'skiff-2hop' || which === 'skiff-2hop-mtls') {
    const pki = which === 'skiff-2hop-mtls' ? benchPki(workDir) : null;
    const serverSnapshot = sidecarSnapshot({ id: 'reviews-v1', outboundEndpoints: endpoints, app: endpoints[0], inboundAddresses: addresses });
    const server = await startProfiled(`${which}-server`, pki === null ? serverSnapshot : withInboundMtls(serverSnapshot, pki));
    const inbound = [...server.listeners.entries()].filter(([name]) => name.startsWith('inbound_')).map(([, e]) => e);
    const clientSnapshot = sidecarSnapshot({ id: 'productpage-v1', outboundEndpoints: inbound, app: endpoints[0], inboundAddresses: ['127.0.0.1'] });
    const client = await startProfiled(`${which}-client`, pki === null ? clientSnapshot : withOutboundMtls(clientSnapshot, pki));
    entry = listenerOf(client, '0.0.0.0_9080');
  } else {
    const snapshot =
      which === 'skiff-gateway'
        ? gatewaySnapshot(endpoints)
        : (which === 'skiff-inbound-authz' ? sidecarAuthzSnapshot : sidecarSnapshot)({ id: 'productpage-v1', outboundEndpoints: endpoints, app: endpoints[0], inboundAddresses: ['127.0.0.1'] });
    const proxy = await startProfiled(which, snapshot);
    entry = listenerOf(proxy, which === 'skiff-gateway' ? '0.0.0.0_8080' : which === 'skiff-inbound' || which === 'skiff-inbound-authz' ? 'inbound_9080' : '0.0.0.0_9080');
  }
  const target = { entry, host: which === 'skiff-gateway' ? GATEWAY_HOST : SIDECAR_HOST, path: REQUEST_PATH, proxies: profiled.map((p) => p.proxy.process) };
  const scripts = writeScripts(workDir, opts.fixedRate, opts.fixedConnections);
  log(`profiling ${which}: ${opts.warmupS}s warm-up, then ${opts.durationS}s at ${opts.connections} connections`);
  if (opts.warmupS > 0) await runWrk(tools, target, { connections: opts.connections, durationS: opts.warmupS, script: scripts.max });
  const run = await runWrk(tools, target, { connections: opts.connections, durationS: opts.durationS, script: scripts.max });
  // A profile is written when its process exits, which SIGTERM does after draining.
  for (const p of profiled) await p.proxy.process.stop(10_000);
  await features.traceSink?.close();
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const cpuUs = run.cpuS === null ? null : (run.cpuS * 1e6) / run.wrk.requests;
  const out = [
    `${which}: ${Math.round(run.wrk.rps)} req/s under the profiler${cpuUs === null ? '' : `, ${cpuUs.toFixed(1)} µs CPU per request${profiled.length > 1 ? ' (the proxies together)' : ''}`} (profiling slows the proxy; the shares are what matter)`,
    'each profile covers its whole process life: start-up and warm-up are included',
  ];
  for (const p of profiled) {
    const file = readdirSync(p.dir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`${p.label} wrote no CPU profile into ${p.dir}:\n${p.proxy.process.output}`);
    const profile = JSON.parse(readFileSync(join(p.dir, file), 'utf8')) as CpuProfile;
    const kept = join(resultsDir, `profile-${p.label}-${stamp}.cpuprofile`);
    copyFileSync(join(p.dir, file), kept);
    out.push('', `## ${p.label}`, '', formatSummary(summarizeProfile(profile, 25)), '', `raw profile: ${kept} (open in Chrome DevTools › Performance, or speedscope)`);
  }
  return out.join('\n');
}
