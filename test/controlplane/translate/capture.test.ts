/**
 * A captured sidecar's snapshot (a Kubernetes pod whose traffic iptables redirects to 15001 and
 * 15006): a target per visible Service ClusterIP:port routed as the outbound routes route that
 * service port, whatever name the client put in its Host; passthrough or black hole for every
 * other address; inbound listeners that 15006 hands connections to by port, reaching the app at
 * the pod's address from 127.0.0.6; and a sidecar that is not captured keeping its HTTP_PROXY
 * listener. Routing is checked with the proxy's own compiled route tables (`simulate`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigIndex, translateFor } from '../../../src/controlplane/translate/index.js';
import type { WorkloadInstance } from '../../../src/registry/types.js';
import type { ListenerConfig, ProxySnapshot } from '../../../src/snapshot/index.js';
import { loadCase, loadYaml, type TranslateCase } from './cases.js';
import { simulate } from './simulate.js';

const CASE = 'kube-captured-sidecar';
const REVIEWS_V1 = 'outbound|9080|v1|reviews.default.svc.cluster.local';
const REVIEWS_V2 = 'outbound|9080|v2|reviews.default.svc.cluster.local';

function listener(snapshot: ProxySnapshot | { listeners: readonly ListenerConfig[] }, name: string): ListenerConfig {
  const l = snapshot.listeners.find((x) => x.name === name);
  assert.ok(l !== undefined, `no listener ${name}: ${snapshot.listeners.map((x) => x.name).join(', ')}`);
  return l;
}

function productpage(c: TranslateCase): WorkloadInstance {
  assert.equal(c.proxy.kind, 'sidecar');
  return c.proxy.workload;
}

test('virtualOutbound binds 0.0.0.0:15001 and targets each visible Service ClusterIP:port, then each pod:port of the headless Service, then any address on an HTTP port', () => {
  const sim = simulate(loadCase(CASE));
  const vo = listener(sim.checked.snapshot, 'virtualOutbound');
  assert.deepEqual([vo.address, vo.port, vo.bindToPort], ['0.0.0.0', 15001, undefined]);
  assert.deepEqual(
    vo.capture?.targets,
    [
      { destination: '10.96.0.20:9080', listener: '10.96.0.20_9080' },
      { destination: '10.96.0.40:9080', listener: '10.96.0.40_9080' },
      { destination: '10.96.0.30:9080', listener: '10.96.0.30_9080' },
      { destination: '10.96.0.50:9000', listener: '10.96.0.50_9000' },
      { destination: '10.244.0.15:27017', listener: '10.244.0.15_27017' },
      { destination: ':9080', listener: '0.0.0.0_9080' },
    ],
  );
  for (const t of vo.capture.targets) {
    const l = listener(sim.checked.snapshot, t.listener);
    assert.equal(l.bindToPort, false);
    assert.equal(`${l.address === '0.0.0.0' ? '' : l.address}:${l.port}`, t.destination);
  }
  // mongodb is headless (no ClusterIP): its clients dial its pod, whose listener reaches that pod alone.
  assert.deepEqual(listener(sim.checked.snapshot, '10.244.0.15_27017').tcp?.routes, [{ destinations: [{ cluster: 'outbound|27017|10.244.0.15|mongodb.default.svc.cluster.local', weight: 100 }] }]);
});

test("an HTTP ClusterIP listener routes by the service's VirtualService whichever name the Host carries", () => {
  const sim = simulate(loadCase(CASE));
  for (const authority of ['reviews:9080', 'reviews', 'reviews.default.svc.cluster.local', 'reviews.default.svc.cluster.local:9080', '10.96.0.30', '10.96.0.30:9080']) {
    assert.equal(sim.cluster({ authority }, '10.96.0.30_9080'), REVIEWS_V1, authority);
    assert.equal(sim.cluster({ authority, headers: { 'end-user': 'jason' } }, '10.96.0.30_9080'), REVIEWS_V2, authority);
  }
  // A service without a VirtualService gets its default route.
  assert.equal(sim.cluster({ authority: '10.96.0.40:9080' }, '10.96.0.40_9080'), 'outbound|9080||ratings.default.svc.cluster.local');
});

test('an opaque TCP port is a TCP listener to the service cluster; anything else passes through under ALLOW_ANY', () => {
  const sim = simulate(loadCase(CASE));
  const tcp = listener(sim.checked.snapshot, '10.96.0.50_9000');
  assert.equal(tcp.protocol, 'tcp');
  assert.deepEqual(tcp.tcp?.routes, [{ destinations: [{ cluster: 'outbound|9000||tcp-echo.default.svc.cluster.local', weight: 100 }] }]);
  assert.deepEqual(listener(sim.checked.snapshot, 'virtualOutbound').tcp?.routes, [{ destinations: [{ cluster: 'PassthroughCluster', weight: 100 }] }]);
  assert.equal(sim.clusterConfig('PassthroughCluster')?.discovery, 'original-dst');
});

test('under REGISTRY_ONLY every address outside the registry goes to BlackHoleCluster; the ClusterIPs still route', () => {
  const sim = simulate(loadCase(CASE), { mesh: { outboundTrafficPolicy: 'REGISTRY_ONLY' } });
  assert.deepEqual(listener(sim.checked.snapshot, 'virtualOutbound').tcp?.routes, [{ destinations: [{ cluster: 'BlackHoleCluster', weight: 100 }] }]);
  assert.equal(sim.cluster({ authority: 'reviews:9080' }, '10.96.0.30_9080'), REVIEWS_V1);
});

test('a Sidecar egress that hides a service leaves its ClusterIP to the fallback', () => {
  const c = loadCase(CASE);
  const egress = loadYaml(
    'sidecar.yaml',
    `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress:
  - hosts: [./reviews.default.svc.cluster.local]
`,
  );
  const sim = simulate(c, { config: [...c.config, ...egress] });
  assert.deepEqual(
    listener(sim.checked.snapshot, 'virtualOutbound').capture?.targets.map((t) => t.destination),
    ['10.96.0.30:9080', ':9080'],
  );
});

test('virtualInbound binds 0.0.0.0:15006 and hands each container port to its inbound listener, which reaches the app at the pod address from 127.0.0.6', () => {
  const c = loadCase(CASE);
  const sim = simulate(c);
  const pod = productpage(c).address;
  const vi = listener(sim.checked.snapshot, 'virtualInbound');
  assert.deepEqual([vi.address, vi.port, vi.direction], ['0.0.0.0', 15006, 'inbound']);
  assert.deepEqual(vi.capture?.targets, [{ destination: ':9080', listener: 'inbound_9080' }]);
  const inbound = listener(sim.checked.snapshot, 'inbound_9080');
  assert.deepEqual([inbound.port, inbound.bindToPort, inbound.protocol], [9080, false, 'http']);
  // PERMISSIVE by default, as every inbound port.
  assert.deepEqual(inbound.filterChains?.map((f) => f.transport?.mode), ['PERMISSIVE']);
  const app = sim.clusterConfig('inbound|9080||');
  assert.deepEqual(app?.endpoints.map((e) => `${e.address}:${e.port}`), [`${pod}:9080`]);
  assert.equal(app?.upstreamBindAddress, '127.0.0.6');
  // A port no inbound listener takes reaches the app as addressed, from 127.0.0.6 as well (no loop back to 15006).
  assert.deepEqual(vi.tcp?.routes, [{ destinations: [{ cluster: 'InboundPassthroughCluster', weight: 100 }] }]);
  const passthrough = sim.clusterConfig('InboundPassthroughCluster');
  assert.deepEqual([passthrough?.discovery, passthrough?.upstreamBindAddress], ['original-dst', '127.0.0.6']);
});

test("STRICT PeerAuthentication holds on 15006's own connections too", () => {
  const c = loadCase(CASE);
  const strict = loadYaml('pa.yaml', 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: default}\nspec: {mtls: {mode: STRICT}}\n');
  const sim = simulate(c, { config: [...c.config, ...strict] });
  assert.deepEqual(listener(sim.checked.snapshot, 'virtualInbound').filterChains?.map((f) => f.transport?.mode), ['STRICT']);
  assert.deepEqual(listener(sim.checked.snapshot, 'inbound_9080').filterChains?.map((f) => f.transport?.mode), ['STRICT']);
});

test('a captured sidecar has no HTTP_PROXY listener, no loopback service ports and no whole outbound route table', () => {
  const c = loadCase(CASE);
  const w = productpage(c);
  const captured = { ...w, sidecar: { ...w.sidecar!, localServices: [{ service: 'reviews', port: 9080, localPort: 31000 }] } };
  const snapshot = translateFor(new ConfigIndex(c.config, c.registry), { kind: 'sidecar', id: w.sidecar!.proxyId, workload: captured });
  assert.deepEqual(
    snapshot.listeners.map((l) => l.name),
    ['virtualOutbound', '10.96.0.20_9080', '10.96.0.40_9080', '10.96.0.30_9080', '10.96.0.50_9000', '10.244.0.15_27017', '0.0.0.0_9080', 'virtualInbound', 'inbound_9080'],
  );
  assert.ok(!snapshot.routes.some((r) => r.name === 'outbound'));
});

test('a sidecar that is not captured keeps the HTTP_PROXY listener on its address and no capture listener', () => {
  const c = loadCase(CASE);
  const w = productpage(c);
  const { capture: _capture, ...plain } = w.sidecar!;
  const snapshot = translateFor(new ConfigIndex(c.config, c.registry), { kind: 'sidecar', id: w.sidecar!.proxyId, workload: { ...w, sidecar: plain } });
  // Mesh port = app port without capture: nothing in front of the app (the local runtime gives them different ports).
  assert.deepEqual(
    snapshot.listeners.map((l) => [l.name, l.address, l.port, l.protocol, l.bindToPort, l.capture]),
    [['virtualOutbound', w.address, 15001, 'http', undefined, undefined]],
  );
  assert.equal(snapshot.routes[0].name, 'outbound');
  assert.ok(!snapshot.clusters.some((cl) => cl.name === 'InboundPassthroughCluster' || cl.upstreamBindAddress !== undefined));
});

test('captured sidecars of one scope share virtualOutbound, their ClusterIP listeners and route configs', () => {
  const c = loadCase(CASE);
  const index = new ConfigIndex(c.config, c.registry);
  const [a, b] = c.registry.workloads.filter((w) => w.labels.app === 'reviews');
  const snapA = translateFor(index, { kind: 'sidecar', id: a.sidecar!.proxyId, workload: a });
  const snapB = translateFor(index, { kind: 'sidecar', id: b.sidecar!.proxyId, workload: b });
  assert.equal(listener(snapA, 'virtualOutbound'), listener(snapB, 'virtualOutbound'));
  assert.equal(listener(snapA, '10.96.0.30_9080'), listener(snapB, '10.96.0.30_9080'));
  assert.equal(snapA.routes.find((r) => r.name.startsWith('captured|')), snapB.routes.find((r) => r.name.startsWith('captured|')));
  // Their own sides differ: each inbound cluster reaches its own pod.
  const app = (s: ProxySnapshot): string | undefined => s.clusters.find((cl) => cl.name === 'inbound|9080||')?.endpoints?.[0]?.address;
  assert.deepEqual([app(snapA), app(snapB)], [a.address, b.address]);
});

test("an EnvoyFilter's listener.portNumber on SIDECAR_OUTBOUND selects the ClusterIP listeners and the per-port listener of that service port", () => {
  const c = loadCase(CASE);
  const filter = loadYaml(
    'envoy-filter.yaml',
    `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: outbound-9080-limit, namespace: default}
spec:
  workloadSelector: {labels: {app: productpage}}
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_OUTBOUND
      listener:
        portNumber: 9080
        filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/udpa.type.v1.TypedStruct
          type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
          value:
            stat_prefix: http_local_rate_limiter
            token_bucket: {max_tokens: 4, tokens_per_fill: 4, fill_interval: 60s}
            filter_enabled: {runtime_key: local_rate_limit_enabled, default_value: {numerator: 100, denominator: HUNDRED}}
            filter_enforced: {runtime_key: local_rate_limit_enforced, default_value: {numerator: 100, denominator: HUNDRED}}
`,
  );
  const sim = simulate(c, { config: [...c.config, ...filter] });
  assert.deepEqual(sim.warnings, []);
  const limited = sim.checked.snapshot.listeners.filter((l) => (l.http?.rateLimits ?? []).length > 0).map((l) => l.name);
  assert.deepEqual(limited, ['10.96.0.20_9080', '10.96.0.40_9080', '10.96.0.30_9080', '0.0.0.0_9080']);
});
