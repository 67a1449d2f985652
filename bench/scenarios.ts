/**
 * The rows of the proxy benchmark and the processes behind them: the backend, the Skiff sidecars
 * (one for the one-hop rows, a client and a server sidecar for two hops), the gateway, optional
 * access-log variant, and nginx and HAProxy as the same reverse proxy.
 */
import { once } from 'node:events';
import net from 'node:net';
import { BODY_BYTES, startBackend } from './backend.js';
import type { Backend } from './backend.js';
import type { Target } from './measure.js';
import { probe } from './measure.js';
import type { Endpoint } from './peers.js';
import { startHaproxy, startNginxProxy } from './peers.js';
import { benchPki, startNginxMtlsPair, withInboundMtls, withOutboundMtls } from './mtls.js';
import { featureArgs, skiffProxyHelp, startSkiff } from './skiff.js';
import type { RunningSkiff } from './skiff.js';
import { BENCH_LOCAL_RATE_LIMIT, GATEWAY_HOST, REQUEST_PATH, SIDECAR_HOST, gatewaySnapshot, sidecarAuthzSnapshot, sidecarSnapshot } from './snapshots.js';
import type { Tools } from './tools.js';
import type { TraceSink } from './trace-sink.js';

export const SCENARIOS = ['direct', 'skiff-outbound', 'skiff-inbound', 'skiff-inbound-authz', 'skiff-2hop', 'skiff-2hop-mtls', 'skiff-gateway', 'skiff-gateway-ratelimit', 'nginx', 'nginx-2hop', 'nginx-2hop-mtls', 'haproxy'] as const;

export interface Scenario {
  name: string;
  description: string;
  target: Target;
}

export interface Setup {
  backend: Backend;
  scenarios: Scenario[];
  skipped: { scenario: string; reason: string }[];
  /** Endpoints of each Skiff cluster (2 when a second loopback address is usable). */
  endpointsPerCluster: number;
  /** The span sink every Skiff proxy exports its sampled spans to, when the proxy can export. */
  traceSink: TraceSink | null;
}

/** Loopback addresses to serve the backend on: 127.0.0.2 too where the OS routes all of 127/8 (Linux). */
export async function loopbackAddresses(): Promise<string[]> {
  const server = net.createServer();
  try {
    server.listen(0, '127.0.0.2');
    await once(server, 'listening');
    return ['127.0.0.1', '127.0.0.2'];
  } catch {
    return ['127.0.0.1'];
  } finally {
    server.close();
  }
}

function listener(s: RunningSkiff, name: string): Endpoint {
  const e = s.listeners.get(name);
  if (e === undefined) throw new Error(`${s.process.name} has no listener ${name} (has ${[...s.listeners.keys()].join(', ')})`);
  return e;
}

/** Starts what the wanted scenarios need; a scenario whose tool is missing is listed in `skipped`. */
export async function setUp(tools: Tools, workDir: string, wanted: (name: string) => boolean): Promise<Setup> {
  const addresses = await loopbackAddresses();
  const backend = await startBackend(tools, workDir, addresses);
  const backendEndpoints = addresses.map((address) => ({ address, port: backend.port }));
  const app = backendEndpoints[0];
  const scenarios: Scenario[] = [];
  const skipped: Setup['skipped'] = [];
  const help = skiffProxyHelp();
  // Every Skiff row runs with the Bookinfo feature set: metrics (on by default) and tracing at 1 %.
  const { args, traceSink, plan } = await featureArgs(help, workDir);
  const base = { baseArgs: args };
  const sidecarTarget = (entry: Endpoint, proxies: Target['proxies']): Target => ({ entry, host: SIDECAR_HOST, path: REQUEST_PATH, proxies });

  if (wanted('direct')) scenarios.push({ name: 'direct', description: 'wrk straight to the backend (the limit)', target: sidecarTarget(app, []) });

  if (wanted('skiff-outbound') || wanted('skiff-inbound')) {
    const sidecar = await startSkiff(tools, 'sidecar', sidecarSnapshot({ id: 'productpage-v1', outboundEndpoints: backendEndpoints, app, inboundAddresses: ['127.0.0.1'] }), workDir, base);
    if (wanted('skiff-outbound')) {
      scenarios.push({ name: 'skiff-outbound', description: "one sidecar hop: the client sidecar's outbound listener, routed by Host", target: sidecarTarget(listener(sidecar, '0.0.0.0_9080'), [sidecar.process]) });
    }
    if (wanted('skiff-inbound')) {
      scenarios.push({ name: 'skiff-inbound', description: "one sidecar hop: the server sidecar's inbound listener in front of the app", target: sidecarTarget(listener(sidecar, 'inbound_9080'), [sidecar.process]) });
    }
  }

  if (wanted('skiff-inbound-authz')) {
    const sidecar = await startSkiff(tools, 'sidecar-authz', sidecarAuthzSnapshot({ id: 'productpage-v1', outboundEndpoints: backendEndpoints, app, inboundAddresses: ['127.0.0.1'] }), workDir, base);
    scenarios.push({
      name: 'skiff-inbound-authz',
      description: 'skiff-inbound with one ALLOW AuthorizationPolicy and one RequestAuthentication in force (requests without a token)',
      target: sidecarTarget(listener(sidecar, 'inbound_9080'), [sidecar.process]),
    });
  }

  if (wanted('skiff-2hop')) {
    const server = await startSkiff(tools, 'sidecar-server', sidecarSnapshot({ id: 'reviews-v1', outboundEndpoints: backendEndpoints, app, inboundAddresses: addresses }), workDir, base);
    const inbound = [...server.listeners.entries()].filter(([name]) => name.startsWith('inbound_')).map(([, e]) => e);
    const client = await startSkiff(tools, 'sidecar-client', sidecarSnapshot({ id: 'productpage-v1', outboundEndpoints: inbound, app, inboundAddresses: ['127.0.0.1'] }), workDir, base);
    scenarios.push({
      name: 'skiff-2hop',
      description: "the mesh path: client sidecar outbound → server sidecar inbound → app (plain HTTP)",
      target: sidecarTarget(listener(client, '0.0.0.0_9080'), [client.process, server.process]),
    });
  }

  const pki = wanted('skiff-2hop-mtls') || wanted('nginx-2hop-mtls') ? benchPki(workDir) : null;
  if (wanted('skiff-2hop-mtls') && pki !== null) {
    const server = await startSkiff(tools, 'sidecar-server-mtls', withInboundMtls(sidecarSnapshot({ id: 'reviews-v1', outboundEndpoints: backendEndpoints, app, inboundAddresses: addresses }), pki), workDir, base);
    const inbound = [...server.listeners.entries()].filter(([name]) => name.startsWith('inbound_')).map(([, e]) => e);
    const client = await startSkiff(tools, 'sidecar-client-mtls', withOutboundMtls(sidecarSnapshot({ id: 'productpage-v1', outboundEndpoints: inbound, app, inboundAddresses: ['127.0.0.1'] }), pki), workDir, base);
    scenarios.push({
      name: 'skiff-2hop-mtls',
      description: 'the mesh path with mutual TLS between the sidecars (ECDSA P-256, TLS 1.3, pooled connections)',
      target: sidecarTarget(listener(client, '0.0.0.0_9080'), [client.process, server.process]),
    });
  }

  if (wanted('skiff-gateway')) {
    const gw = await startSkiff(tools, 'gateway', gatewaySnapshot(backendEndpoints), workDir, base);
    scenarios.push({
      name: 'skiff-gateway',
      description: 'ingress gateway: Gateway + VirtualService, Host-matched route',
      target: { entry: listener(gw, '0.0.0.0_8080'), host: GATEWAY_HOST, path: REQUEST_PATH, proxies: [gw.process] },
    });
  }

  if (wanted('skiff-gateway-ratelimit')) {
    const gw = await startSkiff(tools, 'gateway-ratelimit', gatewaySnapshot(backendEndpoints, { localRateLimit: BENCH_LOCAL_RATE_LIMIT }), workDir, base);
    scenarios.push({
      name: 'skiff-gateway-ratelimit',
      description: 'the gateway row with a local rate limit on its listener, too large to trigger (the filter on every request)',
      target: { entry: listener(gw, '0.0.0.0_8080'), host: GATEWAY_HOST, path: REQUEST_PATH, proxies: [gw.process] },
    });
  }

  for (const v of plan.variants) {
    if (!wanted(v.scenario) && !wanted('skiff-outbound')) continue;
    const extraArgs = [...v.args];
    const snapshot = sidecarSnapshot({ id: 'productpage-v1', outboundEndpoints: backendEndpoints, app, inboundAddresses: ['127.0.0.1'] });
    const s = await startSkiff(tools, v.scenario, snapshot, workDir, { ...base, extraArgs });
    scenarios.push({ name: v.scenario, description: v.description, target: sidecarTarget(listener(s, '0.0.0.0_9080'), [s.process]) });
  }
  for (const reason of plan.skipped) skipped.push({ scenario: 'skiff (telemetry)', reason });

  if (wanted('nginx')) {
    if (tools.nginx === null) skipped.push({ scenario: 'nginx', reason: 'nginx is not installed' });
    else {
      const p = await startNginxProxy(tools, tools.nginx, workDir, app);
      scenarios.push({ name: 'nginx', description: 'nginx, 1 worker, upstream keepalive 64', target: sidecarTarget(p.listen, [p.process]) });
    }
  }
  if (wanted('nginx-2hop')) {
    // The plaintext pair beside nginx-2hop-mtls, as skiff-2hop beside skiff-2hop-mtls: the
    // difference between the two rows of a pair is what its TLS work costs.
    if (tools.nginx === null) skipped.push({ scenario: 'nginx-2hop', reason: 'nginx is not installed' });
    else {
      const back = await startNginxProxy(tools, tools.nginx, workDir, app, 'nginx-2hop-server');
      const front = await startNginxProxy(tools, tools.nginx, workDir, back.listen, 'nginx-2hop-client');
      scenarios.push({ name: 'nginx-2hop', description: 'two nginx (1 worker each) in plain HTTP, keep-alive upstreams', target: sidecarTarget(front.listen, [front.process, back.process]) });
    }
  }
  if (wanted('nginx-2hop-mtls') && pki !== null) {
    if (tools.nginx === null) skipped.push({ scenario: 'nginx-2hop-mtls', reason: 'nginx is not installed' });
    else {
      const p = await startNginxMtlsPair(tools, tools.nginx, workDir, app, pki);
      scenarios.push({ name: 'nginx-2hop-mtls', description: 'two nginx (1 worker each): client-certificate TLS between them, keep-alive upstreams', target: sidecarTarget(p.listen, [p.process, p.back]) });
    }
  }
  if (wanted('haproxy')) {
    if (tools.haproxy === null) skipped.push({ scenario: 'haproxy', reason: 'haproxy is not installed' });
    else {
      const p = await startHaproxy(tools, tools.haproxy, workDir, app);
      scenarios.push({ name: 'haproxy', description: 'HAProxy, nbthread 1, http-reuse always', target: sidecarTarget(p.listen, [p.process]) });
    }
  }

  // A row that does not answer 200 with the body would measure an error path: leave it out, say why.
  const working: Scenario[] = [];
  for (const s of scenarios) {
    const problem = await probe(s.target, BODY_BYTES);
    if (problem === null) working.push(s);
    else skipped.push({ scenario: s.name, reason: `probe request ${problem}` });
  }
  return { backend, scenarios: working, skipped, endpointsPerCluster: addresses.length, traceSink };
}
