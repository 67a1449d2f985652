/**
 * Behaviour of translated snapshots, routed by the proxy's own router: which cluster a request
 * reaches, which faults, timeouts and limits apply, and what the proxy answers otherwise — for the
 * Istio tasks the testdata cases reproduce.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WorkloadInstance } from '../../../src/registry/types.js';
import { loadCase, loadYaml } from './cases.js';
import { simulate } from './simulate.js';

const REVIEWS = 'reviews.default.svc.cluster.local';
const jason = { 'end-user': 'jason' };

describe('sidecar outbound routing', () => {
  test('without VirtualServices every name of a service reaches its default cluster', () => {
    const sim = simulate(loadCase('bookinfo-no-vs'));
    for (const authority of ['reviews:9080', 'reviews.default:9080', 'reviews.default.svc:9080', `${REVIEWS}:9080`, 'REVIEWS:9080']) {
      assert.equal(sim.cluster({ authority, path: '/reviews/0' }), `outbound|9080||${REVIEWS}`, authority);
    }
    assert.ok(sim.hasCluster(`outbound|9080||${REVIEWS}`));
    // Istio's default retry policy; no timeout.
    const r = sim.route({ authority: 'reviews:9080' });
    assert.equal(r?.retry?.attempts, 2);
    assert.equal(r?.timeoutMs, 0);
  });

  test('hosts outside the registry pass through under ALLOW_ANY', () => {
    const sim = simulate(loadCase('bookinfo-no-vs'));
    assert.equal(sim.cluster({ authority: 'example.com' }), 'PassthroughCluster');
    // Port 80 is what `http://reviews/` means; reviews only serves 9080.
    assert.equal(sim.cluster({ authority: 'reviews' }), 'PassthroughCluster');
  });

  test('under REGISTRY_ONLY hosts outside the registry get a 502', () => {
    const sim = simulate(loadCase('registry-only'));
    const r = sim.route({ authority: 'example.com' });
    assert.equal(r?.kind, 'direct');
    assert.equal(r?.directStatus, 502);
    assert.equal(sim.cluster({ authority: 'httpbin:8000' }), 'outbound|8000||httpbin.default.svc.cluster.local');
  });

  test('virtual-service-all-v1 sends every service to its v1 subset', () => {
    const sim = simulate(loadCase('bookinfo-all-v1'));
    for (const svc of ['productpage', 'reviews', 'ratings', 'details']) {
      const cluster = sim.cluster({ authority: `${svc}:9080`, headers: jason });
      assert.equal(cluster, `outbound|9080|v1|${svc}.default.svc.cluster.local`);
      assert.ok(sim.hasCluster(cluster), `${cluster} exists`);
    }
  });

  test('a subset no DestinationRule defines routes to a missing cluster (503 NC)', () => {
    const sim = simulate(loadCase('subset-missing'));
    const cluster = sim.cluster({ authority: 'reviews:9080' });
    assert.equal(cluster, `outbound|9080|v1|${REVIEWS}`);
    assert.equal(sim.hasCluster(cluster), false);
  });

  test('reviews-test-v2: jason gets v2, everyone else v1 (header match is exact)', () => {
    const sim = simulate(loadCase('reviews-test-v2'));
    assert.equal(sim.cluster({ authority: 'reviews:9080', path: '/reviews/0', headers: jason }), `outbound|9080|v2|${REVIEWS}`);
    assert.equal(sim.cluster({ authority: 'reviews:9080', path: '/reviews/0' }), `outbound|9080|v1|${REVIEWS}`);
    assert.equal(sim.cluster({ authority: 'reviews:9080', path: '/reviews/0', headers: { 'end-user': 'Jason' } }), `outbound|9080|v1|${REVIEWS}`);
    assert.ok(sim.hasCluster(`outbound|9080|v2|${REVIEWS}`));
  });

  test('reviews-50-v3 splits 50/50 between v1 and v3', () => {
    const sim = simulate(loadCase('reviews-50-v3'));
    assert.deepEqual(sim.destinations({ authority: 'reviews:9080' }), { [`outbound|9080|v1|${REVIEWS}`]: 50, [`outbound|9080|v3|${REVIEWS}`]: 50 });
  });

  test('ratings delay applies to jason only, on the caller (reviews v2)', () => {
    const sim = simulate(loadCase('ratings-test-delay'));
    const forJason = sim.route({ authority: 'ratings:9080', path: '/ratings/0', headers: jason });
    assert.deepEqual(forJason?.filters.fault?.draw(() => 0), { delayMs: 7000, abort: null });
    assert.equal(sim.route({ authority: 'ratings:9080', path: '/ratings/0' })?.filters.fault?.draw(() => 0) ?? null, null);
  });

  test('ratings abort answers 500 for jason only', () => {
    const sim = simulate(loadCase('ratings-test-abort'));
    const decision = sim.route({ authority: 'ratings:9080', headers: jason })?.filters.fault?.draw(() => 0);
    assert.equal(decision?.abort?.httpStatus, 500);
    assert.equal(sim.route({ authority: 'ratings:9080' })?.filters.fault?.draw(() => 0) ?? null, null);
  });

  test('reviews timeout 0.5s and ratings 2s delay', () => {
    const sim = simulate(loadCase('reviews-timeout'));
    const reviews = sim.route({ authority: 'reviews:9080' });
    assert.equal(reviews?.timeoutMs, 500);
    assert.equal(sim.cluster({ authority: 'reviews:9080' }), `outbound|9080|v2|${REVIEWS}`);
    assert.equal(sim.route({ authority: 'ratings:9080' })?.filters.fault?.draw(() => 0)?.delayMs, 2000);
  });

  test('circuit-breaker DestinationRule becomes the httpbin cluster limits and outlier detection', () => {
    const sim = simulate(loadCase('circuit-breaker'));
    const c = sim.clusterConfig('outbound|8000||httpbin.default.svc.cluster.local');
    assert.ok(c);
    assert.equal(c.connectionPool.maxConnections, 1);
    assert.equal(c.connectionPool.http1MaxPendingRequests, 1);
    assert.equal(c.connectionPool.maxRequestsPerConnection, 1);
    assert.equal(c.outlierDetection?.consecutive5xxErrors, 1);
    assert.equal(c.outlierDetection?.intervalMs, 1000);
    assert.equal(c.outlierDetection?.baseEjectionTimeMs, 180_000);
    assert.equal(c.outlierDetection?.maxEjectionPercent, 100);
    // The endpoint is the httpbin replica's sidecar inbound port, not the app's.
    assert.deepEqual(c.endpoints.map((e) => `${e.address}:${e.port}`), ['127.0.0.1:20070']);
  });

  test('ServiceEntry hosts route by VirtualService, opaque ports by CONNECT', () => {
    const sim = simulate(loadCase('serviceentry'));
    const r = sim.route({ authority: 'httpbin.org', path: '/delay/5' });
    assert.equal(r?.destinations[0].cluster, 'outbound|80||httpbin.org');
    assert.equal(r?.timeoutMs, 3000);
    assert.equal(sim.cluster({ authority: 'www.google.com:443', method: 'CONNECT' }), 'outbound|443||www.google.com');
    const green = sim.clusterConfig('outbound|8080|green|db.legacy.internal');
    assert.deepEqual(green?.endpoints.map((e) => `${e.address}:${e.port}`), ['127.0.0.2:28080']);
  });

  test('TLS ports: CONNECT to a host takes the tls rule whose sniHosts name it (egress through a VirtualService)', () => {
    const c = loadCase('serviceentry');
    const vs = loadYaml(
      'tls-vs.yaml',
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: google-tls }
spec:
  hosts: [www.google.com]
  tls:
  - match:
    - { port: 443, sniHosts: [www.google.com] }
    route:
    - destination: { host: db.legacy.internal, subset: green, port: { number: 8080 } }
`,
    );
    const sim = simulate(c, { config: [...c.config, ...vs] });
    assert.equal(sim.cluster({ authority: 'www.google.com:443', method: 'CONNECT' }), 'outbound|8080|green|db.legacy.internal');
  });

  test('opaque TCP: CONNECT tcp-echo:9000 is split 80/20, port 9001 keeps the default route', () => {
    const sim = simulate(loadCase('tcp-mesh-weights'));
    const tcpEcho = 'tcp-echo.default.svc.cluster.local';
    assert.deepEqual(sim.destinations({ authority: 'tcp-echo:9000', method: 'CONNECT' }), {
      [`outbound|9000|v1|${tcpEcho}`]: 80,
      [`outbound|9000|v2|${tcpEcho}`]: 20,
    });
    assert.equal(sim.cluster({ authority: 'tcp-echo:9001', method: 'CONNECT' }), `outbound|9001||${tcpEcho}`);
    assert.equal(sim.route({ authority: 'tcp-echo:9000', method: 'CONNECT' })?.retry, null);
  });
});

describe('visibility and scoping', () => {
  test('a VirtualService exported only to its own namespace does not reach callers elsewhere', () => {
    const c = loadCase('exportto-hidden');
    assert.equal(simulate(c).cluster({ authority: 'reviews:9080' }), `outbound|9080||${REVIEWS}`);
    // A caller in `other` sees it (and uses the namespaced name: short names are same-namespace only).
    const base = c.registry.workloads.find((w) => w.name.startsWith('productpage'))!;
    const caller: WorkloadInstance = { ...base, name: 'client-0', namespace: 'other', sidecar: { ...base.sidecar!, proxyId: 'client-0.other' } };
    const other = simulate(c, { proxy: { kind: 'sidecar', id: 'client-0.other', workload: caller } });
    assert.equal(other.cluster({ authority: 'reviews.default:9080' }), `outbound|9080|v3|${REVIEWS}`);
    assert.equal(other.cluster({ authority: 'reviews:9080' }), 'PassthroughCluster');
  });

  test('Sidecar egress hosts hide services of other namespaces', () => {
    const c = loadCase('sidecar-egress');
    const httpbinOther = 'outbound|8000||httpbin.other.svc.cluster.local';
    const scoped = simulate(c);
    assert.equal(scoped.cluster({ authority: 'httpbin.other:8000' }), 'PassthroughCluster');
    assert.equal(scoped.hasCluster(httpbinOther), false);
    assert.equal(scoped.cluster({ authority: 'reviews:9080' }), `outbound|9080||${REVIEWS}`);
    const unscoped = simulate(c, { config: [] });
    assert.equal(unscoped.cluster({ authority: 'httpbin.other:8000' }), httpbinOther);
  });
});

describe('gateways', () => {
  test('bookinfo-gateway exposes the product page paths and answers 404 for the rest', () => {
    const sim = simulate(loadCase('gateway-bookinfo'));
    const l = '127.0.0.1_18080';
    for (const path of ['/productpage', '/static/img.png', '/login', '/logout', '/api/v1/products/0']) {
      assert.equal(sim.cluster({ authority: 'localhost:8080', path }, l), 'outbound|9080||productpage.default.svc.cluster.local', path);
    }
    for (const path of ['/', '/health', '/index.html']) assert.equal(sim.route({ authority: 'localhost:8080', path }, l), null, path);
  });

  test('httpbin gateway serves only its host and exposed paths (port in Host ignored)', () => {
    const sim = simulate(loadCase('gateway-httpbin-host'));
    const l = '127.0.0.1_18080';
    assert.equal(sim.cluster({ authority: 'httpbin.example.com', path: '/status/200' }, l), 'outbound|8000||httpbin.default.svc.cluster.local');
    assert.equal(sim.cluster({ authority: 'httpbin.example.com:18080', path: '/delay/1' }, l), 'outbound|8000||httpbin.default.svc.cluster.local');
    assert.equal(sim.route({ authority: 'httpbin.example.com', path: '/headers' }, l), null);
    assert.equal(sim.route({ authority: 'other.example.com', path: '/status/200' }, l), null);
  });

  test('a VirtualService not bound to the gateway does not route there, and mesh routes stay off gateways', () => {
    const c = loadCase('gateway-httpbin-host');
    const unbound = c.config.map((r) => (r.kind === 'VirtualService' ? { ...r, spec: { ...(r.spec as object), gateways: ['mesh'] } } : r));
    const sim = simulate(c, { config: unbound });
    assert.equal(sim.route({ authority: 'httpbin.example.com', path: '/status/200' }, '127.0.0.1_18080'), null);
  });

  test('tcp-echo 31400 listens on its own port and splits connections 80/20', () => {
    const sim = simulate(loadCase('gateway-tcp-echo'));
    const l = sim.checked.snapshot.listeners.find((x) => x.port === 31400);
    assert.equal(l?.protocol, 'tcp');
    const dests = l?.tcp?.routes[0].destinations;
    assert.deepEqual(dests, [
      { cluster: 'outbound|9000|v1|tcp-echo.default.svc.cluster.local', weight: 80 },
      { cluster: 'outbound|9000|v2|tcp-echo.default.svc.cluster.local', weight: 20 },
    ]);
    const v2 = sim.clusterConfig(dests?.[1].cluster ?? '');
    assert.deepEqual(v2?.endpoints.map((e) => e.labels?.version), ['v2']);
  });
});

describe('VirtualService conditions decided per proxy', () => {
  const VS = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  gateways: [mesh, gw]
  http:
  - match:
    - gateways: [gw]
      uri: { prefix: /edge }
    route: [{ destination: { host: reviews, port: { number: 9080 } } }]
  - match:
    - sourceLabels: { app: productpage }
    route: [{ destination: { host: reviews, subset: v2 } }]
  - match:
    - port: 9999
    route: [{ destination: { host: reviews, subset: v3 } }]
  - route: [{ destination: { host: reviews, subset: v1 } }]
`;
  const config = loadYaml('conditions.yaml', VS);

  test('source labels select the rule for the matching caller only', () => {
    const c = loadCase('bookinfo-no-vs');
    const sim = simulate(c, { config });
    assert.equal(sim.cluster({ authority: 'reviews:9080', path: '/edge' }), `outbound|9080|v2|${REVIEWS}`, 'the gw-only rule is not on sidecars');
    const details = c.registry.workloads.find((w) => w.name.startsWith('details'))!;
    const fromDetails = simulate(c, { config, proxy: { kind: 'sidecar', id: 'd', workload: details } });
    assert.equal(fromDetails.cluster({ authority: 'reviews:9080' }), `outbound|9080|v1|${REVIEWS}`, 'port 9999 rule never applies to 9080');
  });

  test('match-level gateways limit a rule to that gateway', () => {
    const c = loadCase('gateway-bookinfo');
    const sim = simulate(c, { config });
    const l = '127.0.0.1_18080';
    assert.equal(sim.cluster({ authority: `${REVIEWS}`, path: '/edge/x' }, l), `outbound|9080||${REVIEWS}`);
    assert.equal(sim.cluster({ authority: `${REVIEWS}`, path: '/other' }, l), `outbound|9080|v1|${REVIEWS}`, 'gateway has no productpage labels');
    assert.equal(sim.route({ authority: 'reviews', path: '/edge' }, l), null, 'the gateway serves the VS host, not short names');
  });

  test('delegate rules are inlined under the root rule\'s matches', () => {
    const yaml = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - match: [{ uri: { prefix: /api } }]
    delegate: { name: reviews-api }
  - route: [{ destination: { host: reviews, subset: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews-api }
spec:
  http:
  - match: [{ uri: { prefix: /api/v2 } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - match: [{ uri: { prefix: /other } }]
    route: [{ destination: { host: reviews, subset: v3 } }]
  - route: [{ destination: { host: reviews, subset: v3 } }]
`;
    const sim = simulate(loadCase('bookinfo-no-vs'), { config: loadYaml('delegate.yaml', yaml) });
    assert.equal(sim.cluster({ authority: 'reviews:9080', path: '/api/v2/x' }), `outbound|9080|v2|${REVIEWS}`);
    assert.equal(sim.cluster({ authority: 'reviews:9080', path: '/api/v1' }), `outbound|9080|v3|${REVIEWS}`);
    assert.equal(sim.cluster({ authority: 'reviews:9080', path: '/other' }), `outbound|9080|v1|${REVIEWS}`, 'a delegate match outside the root prefix is dropped');
  });
});
