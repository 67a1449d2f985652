/**
 * The service graph from window figures: workload → service → workload edges from destination
 * reports, source-only reports for local replies (an injected fault), rates, error rates, codes,
 * flags and percentiles, node health, and the namespace filter.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGraph, healthOf } from '../../../src/controlplane/observe/index.js';
import type { HttpCounters, WindowTotals } from '../../../src/controlplane/observe/metrics-history.js';
import { labelText } from '../../../src/telemetry/metrics/labels.js';

function side(prefix: 'source' | 'destination', workload: string, ns: string, app: string, version: string): [string, string][] {
  return [
    [`${prefix}_workload`, workload],
    [`${prefix}_workload_namespace`, ns],
    [`${prefix}_app`, app],
    [`${prefix}_version`, version],
  ];
}

function series(reporter: 'source' | 'destination', from: [string, string][], to: [string, string][], service: string, code: number, flags = '-', extra: [string, string][] = []): string {
  return labelText([
    ['reporter', reporter],
    ...from,
    ...to,
    ['destination_service', service],
    ['destination_service_namespace', service.split('.')[1] ?? 'unknown'],
    ['request_protocol', 'http'],
    ['response_code', String(code)],
    ['response_flags', flags],
    ...extra,
  ]);
}

const GW = side('source', 'istio-ingressgateway', 'istio-system', 'istio-ingressgateway', 'unknown');
const PP_SRC = side('source', 'productpage-v1', 'default', 'productpage', 'v1');
const PP_DST = side('destination', 'productpage-v1', 'default', 'productpage', 'v1');
const RV_SRC = side('source', 'reviews-v2', 'default', 'reviews', 'v2');
const RV_DST = side('destination', 'reviews-v2', 'default', 'reviews', 'v2');
const UNKNOWN_DST = side('destination', 'unknown', 'unknown', 'unknown', 'unknown');
const PP = 'productpage.default.svc.cluster.local';
const RV = 'reviews.default.svc.cluster.local';
const RT = 'ratings.default.svc.cluster.local';

/** Non-cumulative duration buckets: `n` requests in the 5..10 ms bucket. */
const buckets = (n: number): number[] => [0, 0, 0, n];

function totals(entries: [string, HttpCounters][]): WindowTotals {
  return { http: new Map(entries), tcp: new Map(), newest: 42 };
}

describe('buildGraph', () => {
  const t = totals([
    [series('destination', GW, PP_DST, PP, 200), { requests: 60, durationBuckets: buckets(60) }],
    // The gateway's own report duplicates what productpage's sidecar reported: not counted twice.
    [series('source', GW, PP_DST, PP, 200), { requests: 60, durationBuckets: buckets(60) }],
    [series('destination', PP_SRC, RV_DST, RV, 200), { requests: 57, durationBuckets: buckets(57) }],
    [series('destination', PP_SRC, RV_DST, RV, 503), { requests: 3, durationBuckets: buckets(3) }],
    // An injected abort: only the caller saw it.
    [series('source', RV_SRC, UNKNOWN_DST, RT, 503, 'FI'), { requests: 30, durationBuckets: [30] }],
  ]);

  test('edges from destination reports, plus local replies only the source reported', () => {
    const g = buildGraph(t, {}, 60, 0);
    assert.equal(g.timestamp, 42);
    assert.deepEqual(g.namespaces, ['default', 'istio-system']);
    const edge = (source: string, target: string): (typeof g.edges)[number] | undefined => g.edges.find((e) => e.source === source && e.target === target);
    const gwToPp = edge('workload:istio-system/istio-ingressgateway', `service:${PP}`);
    assert.equal(gwToPp?.rate, 1);
    assert.deepEqual(gwToPp?.byCode, { '200': 1 });
    assert.equal(gwToPp?.p50Ms, 7.5);
    assert.equal(edge(`service:${PP}`, 'workload:default/productpage-v1')?.rate, 1);
    const ppToRv = edge('workload:default/productpage-v1', `service:${RV}`);
    assert.equal(ppToRv?.rate, 1);
    assert.equal(ppToRv?.errorRate, 0.05);
    assert.deepEqual(ppToRv?.byCode, { '200': 0.95, '503': 0.05 });
    assert.equal(ppToRv?.health, 'degraded');
    const fault = edge('workload:default/reviews-v2', `service:${RT}`);
    assert.deepEqual(fault?.byFlags, { FI: 0.5 });
    assert.equal(fault?.errorRate, 1);
    assert.equal(fault?.health, 'failing');
    // Nothing reached a ratings workload.
    assert.equal(g.edges.filter((e) => e.source === `service:${RT}`).length, 0);
    const node = (id: string): (typeof g.nodes)[number] | undefined => g.nodes.find((n) => n.id === id);
    assert.deepEqual(node('workload:default/reviews-v2'), { id: 'workload:default/reviews-v2', kind: 'workload', namespace: 'default', workload: 'reviews-v2', app: 'reviews', version: 'v2', health: 'degraded' });
    assert.equal(node(`service:${RT}`)?.health, 'failing');
    assert.equal(node('workload:istio-system/istio-ingressgateway')?.health, 'healthy');
    assert.equal(node('workload:istio-system/istio-ingressgateway')?.version, undefined);
  });

  test('rate-limited requests (429 RL) are their own category: not errors of the destination, nor of its node', () => {
    const RATINGS_SRC = side('source', 'ratings-v1', 'default', 'ratings', 'v1');
    const g = buildGraph(
      totals([
        // The productpage sidecar's local limit: reported by the destination's proxy.
        [series('destination', RATINGS_SRC, PP_DST, PP, 200), { requests: 48, durationBuckets: buckets(48) }],
        [series('destination', RATINGS_SRC, PP_DST, PP, 429, 'RL'), { requests: 12, durationBuckets: buckets(12) }],
        // The gateway's global limit: only the gateway saw those.
        [series('destination', GW, PP_DST, PP, 200), { requests: 30, durationBuckets: buckets(30) }],
        [series('source', GW, UNKNOWN_DST, PP, 429, 'RL'), { requests: 30, durationBuckets: buckets(30) }],
        // A 429 the application itself answered is neither.
        [series('destination', PP_SRC, RV_DST, RV, 429), { requests: 6, durationBuckets: buckets(6) }],
      ]),
      {},
      60,
      0,
    );
    const edge = (source: string, target: string): (typeof g.edges)[number] | undefined => g.edges.find((e) => e.source === source && e.target === target);
    const local = edge('workload:default/ratings-v1', `service:${PP}`);
    assert.equal(local?.rateLimitedRate, 0.2);
    assert.equal(local?.errorRate, 0);
    assert.equal(local?.health, 'healthy');
    assert.deepEqual(local?.byFlags, { RL: 0.2 });
    const global = edge('workload:istio-system/istio-ingressgateway', `service:${PP}`);
    assert.equal(global?.rateLimitedRate, 0.5);
    assert.equal(global?.errorRate, 0);
    assert.equal(edge(`service:${PP}`, 'workload:default/productpage-v1')?.rateLimitedRate, 0.133, 'of 90 requests reaching the workload\'s proxy, the 12 its sidecar limited');
    assert.equal(g.nodes.find((n) => n.id === 'workload:default/productpage-v1')?.health, 'healthy');
    assert.equal(edge('workload:default/productpage-v1', `service:${RV}`)?.rateLimitedRate, 0, 'an application\'s own 429 carries no RL');
  });

  test('requests authorization denied (RBAC 403 without flag, gRPC PERMISSION_DENIED, ext_authz UAEX) are counted on their edges, by deciding proxy and caller, and are not errors', () => {
    const RATINGS_SRC = side('source', 'ratings-v1', 'default', 'ratings', 'v1');
    const principal = (sa: string): [string, string][] => [['source_principal', `spiffe://cluster.local/ns/default/sa/${sa}`]];
    const grpc = (status: string): [string, string][] => [['request_protocol', 'grpc'], ['grpc_response_status', status]];
    const g = buildGraph(
      totals([
        [series('destination', GW, PP_DST, PP, 200), { requests: 30, durationBuckets: buckets(30) }],
        // productpage's sidecar denied ratings (RBAC) and, through its CUSTOM policy, some of them again (ext_authz).
        [series('destination', RATINGS_SRC, PP_DST, PP, 403, '-', principal('bookinfo-ratings')), { requests: 12, durationBuckets: buckets(12) }],
        [series('destination', RATINGS_SRC, PP_DST, PP, 403, 'UAEX', principal('bookinfo-ratings')), { requests: 6, durationBuckets: buckets(6) }],
        // The gateway's own policy: only the gateway reported it.
        [series('source', GW, UNKNOWN_DST, PP, 403, '-'), { requests: 3, durationBuckets: buckets(3) }],
        // gRPC: RBAC's PERMISSION_DENIED is a denial; another non-OK status stays an error.
        [series('destination', PP_SRC, RV_DST, RV, 200, '-', [...principal('bookinfo-productpage'), ...grpc('7')]), { requests: 4, durationBuckets: buckets(4) }],
        [series('destination', PP_SRC, RV_DST, RV, 200, '-', [...principal('bookinfo-productpage'), ...grpc('14')]), { requests: 1, durationBuckets: buckets(1) }],
        [series('destination', PP_SRC, RV_DST, RV, 200, '-', [...principal('bookinfo-productpage'), ...grpc('0')]), { requests: 5, durationBuckets: buckets(5) }],
      ]),
      {},
      60,
      0,
    );
    const edge = (source: string, target: string): (typeof g.edges)[number] | undefined => g.edges.find((e) => e.source === source && e.target === target);
    const fromRatings = edge('workload:default/ratings-v1', `service:${PP}`);
    assert.equal(fromRatings?.denied, 18);
    assert.equal(fromRatings?.deniedRate, 1);
    assert.equal(fromRatings?.errorRate, 0);
    assert.equal(fromRatings?.health, 'healthy');
    assert.deepEqual(fromRatings?.denials, [
      { by: 'rbac', workload: 'productpage-v1', namespace: 'default', principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-ratings', requests: 12 },
      { by: 'ext_authz', workload: 'productpage-v1', namespace: 'default', principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-ratings', requests: 6 },
    ]);
    // The gateway's calls: 30 allowed by productpage, 3 denied at the gateway itself.
    const fromGateway = edge('workload:istio-system/istio-ingressgateway', `service:${PP}`);
    assert.equal(fromGateway?.denied, 3);
    assert.equal(fromGateway?.deniedRate, 0.091);
    assert.deepEqual(fromGateway?.denials, [{ by: 'rbac', workload: 'istio-ingressgateway', namespace: 'istio-system', principal: 'unknown', requests: 3 }]);
    // The hop into productpage carries what its sidecar denied (the gateway's own denials never reached it).
    assert.equal(edge(`service:${PP}`, 'workload:default/productpage-v1')?.denied, 18);
    const grpcEdge = edge('workload:default/productpage-v1', `service:${RV}`);
    assert.equal(grpcEdge?.denied, 4);
    assert.equal(grpcEdge?.errorRate, 0.1, 'UNAVAILABLE is an error, PERMISSION_DENIED is not');
    assert.equal(g.nodes.find((n) => n.id === 'workload:default/productpage-v1')?.health, 'healthy');
  });

  test('a namespace filter keeps its nodes and the edges touching them', () => {
    const g = buildGraph(t, { namespaces: ['istio-system'] }, 60, 0);
    assert.deepEqual(g.edges.map((e) => e.id), [`workload:istio-system/istio-ingressgateway->service:${PP}/http`]);
    assert.deepEqual(g.nodes.map((n) => n.id).sort(), [`service:${PP}`, 'workload:istio-system/istio-ingressgateway']);
    assert.deepEqual(g.namespaces, ['istio-system']);
  });

  test('no figures, no graph', () => {
    const g = buildGraph({ http: new Map(), tcp: new Map(), newest: 0 }, {}, 60, 7);
    assert.deepEqual({ nodes: g.nodes, edges: g.edges, timestamp: g.timestamp }, { nodes: [], edges: [], timestamp: 7 });
  });

  test("an edge's mutual TLS share is what the destination's proxy counted as mutual_tls (the padlock)", () => {
    const secured = (text: string): string => text.replace('response_flags="-"', 'response_flags="-",connection_security_policy="mutual_tls"');
    const g = buildGraph(
      totals([
        [secured(series('destination', PP_SRC, RV_DST, RV, 200)), { requests: 45, durationBuckets: buckets(45) }],
        [series('destination', PP_SRC, RV_DST, RV, 200).replace('response_flags="-"', 'response_flags="-",connection_security_policy="none"'), { requests: 15, durationBuckets: buckets(15) }],
        [secured(series('destination', GW, PP_DST, PP, 200)), { requests: 60, durationBuckets: buckets(60) }],
      ]),
      {},
      60,
      0,
    );
    const share = (source: string, target: string): number | undefined => g.edges.find((e) => e.source === source && e.target === target)?.mtlsShare;
    assert.equal(share('workload:default/productpage-v1', `service:${RV}`), 0.75);
    assert.equal(share(`service:${RV}`, 'workload:default/reviews-v2'), 0.75);
    assert.equal(share('workload:istio-system/istio-ingressgateway', `service:${PP}`), 1);
    assert.ok(buildGraph(t, {}, 60, 0).edges.every((e) => e.mtlsShare === 0), 'plaintext edges carry no padlock');
  });

  test('health thresholds', () => {
    assert.equal(healthOf(0, 0), 'idle');
    assert.equal(healthOf(10000, 9), 'healthy');
    assert.equal(healthOf(100, 19), 'degraded');
    assert.equal(healthOf(100, 20), 'failing');
  });
});
