/**
 * The dashboard's JSON API on a real skiffd, fed the way a mesh feeds it: config applied as
 * `skiff apply` sends it (analysed by `skiff analyze`'s analyzers), a proxy connected through the
 * proxy's own control client, whose metrics are those of a real reviews-v2 sidecar after requests
 * sent through productpage's sidecar to it, and Zipkin spans posted to skiffd's collector. What
 * the API answers is checked against those inputs: rates and codes from the requests sent, the
 * analyzer's message for the config, the proxy's acknowledged version, the trace's spans.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startSkiffd } from '../../src/controlplane/skiffd.js';
import type { Skiffd } from '../../src/controlplane/skiffd.js';
import type { ConfigEntry, ProxyRow, RateLimitsAnswer, ServiceGraph, TraceSpan, TraceSummary } from '../../src/dashboard/sources.js';
import { ControlClient } from '../../src/proxy/control-client.js';
import { MetricsServer } from '../../src/telemetry/metrics/server.js';
import { eventually } from '../proxy/helpers.js';
import { get } from '../telemetry/helpers.js';
import { startMesh } from '../telemetry/mesh.js';
import type { Mesh } from '../telemetry/mesh.js';
import { Disposer } from '../helpers/disposer.js';

/** The requests reviews v2 fails: those for a number ending in 0, 4 or 8. */
const failing = (path: string): boolean => /^\/reviews\/\d*[048]$/.test(path);
/** The API's figures are rounded to three decimals. */
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

const BROKEN_VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v9 }
`;

describe("the dashboard's API on a real skiffd", () => {
  let dir = '';
  let skiffd: Skiffd;
  let mesh: Mesh;
  let metrics: MetricsServer;
  let client: ControlClient;

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${skiffd.dashboardUrl!}${path}`);
    const body = await res.text();
    assert.equal(res.status, 200, `${path}: ${body}`);
    return JSON.parse(body) as T;
  };

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    dir = disposer.tempDir('skiff-dashboard-api-');
    // Scrapes only when the test asks, so the figures are the requests recorded between two of them.
    skiffd = disposer.add(await startSkiffd({ stateDir: join(dir, 'state'), apiPort: 0, pushPort: 0, dashboardPort: 0, debounceMs: 10, observe: { scrapeIntervalMs: 3_600_000 } }), (s) => s.stop());
    // productpage-v1's sidecar → reviews-v2's sidecar → reviews, on loopback; reviews fails the paths `failing` names.
    mesh = await startMesh({
      app: (req, res) => {
        res.writeHead(failing(req.url ?? '') ? 503 : 200, { 'content-type': 'text/plain' });
        res.end('reviews\n');
      },
    });
    disposer.add(mesh, (m) => m.close());
    // reviews-v2's figures as its metrics port serves them to skiffd (the JSON dump beside the text page).
    const server = mesh.server.telemetry;
    metrics = disposer.add(await MetricsServer.start(0, '127.0.0.1', () => server.renderPrometheus(mesh.server.proxy), () => server.dump()), (m) => m.close());
    // Connected as the gateway it can be without a workload in skiffd's registry; its metrics are reviews-v2's sidecar's.
    client = new ControlClient({
      url: skiffd.pushUrl,
      node: { id: 'istio-ingressgateway.istio-system', kind: 'gateway', workload: { name: 'istio-ingressgateway', namespace: 'istio-system', labels: { istio: 'ingressgateway' }, serviceAccount: 'istio-ingressgateway' } },
      target: { applySnapshot: (s: unknown) => Promise.resolve({ version: (s as { version: string }).version }) },
      metricsUrl: `http://127.0.0.1:${metrics.address().port}/stats/prometheus`,
    });
    disposer.add(client, (c) => c.close());
    client.start();
    await eventually(() => client.appliedVersion !== null, 10_000, 'the proxy to take its snapshot');
  }));

  after(() => disposer.drain());

  test('/api/proxies: the connected proxy, SYNCED at the version its client applied, with its metrics URL', async () => {
    let rows: ProxyRow[] = [];
    await eventually(async () => {
      rows = (await api<{ proxies: ProxyRow[] }>('/api/proxies')).proxies;
      return rows[0]?.status === 'SYNCED';
    }, 10_000, 'the proxy SYNCED');
    assert.deepEqual(
      rows.map((r) => [r.id, r.kind, r.status, r.version, r.metricsUrl]),
      [['istio-ingressgateway.istio-system', 'gateway', 'SYNCED', client.appliedVersion, `http://127.0.0.1:${metrics.address().port}/stats/prometheus`]],
    );
  });

  test('/api/ratelimits: a proxy whose configuration cannot be read is listed with the reason, and the answer still comes', async () => {
    const answer = await api<RateLimitsAnswer>('/api/ratelimits?window=30');
    assert.equal(answer.windowSeconds, 30);
    assert.deepEqual(
      answer.proxies.map((p) => [p.proxy.id, p.listing, p.error]),
      [['istio-ingressgateway.istio-system', null, 'the proxy announced no admin URL, so its configuration cannot be read']],
    );
  });

  test('/api/graph: rates, error rate and codes of the requests sent through the two sidecars', async () => {
    await skiffd.observer.scraper.scrape();
    const window = 60;
    const sent = 40;
    let failed = 0;
    for (let i = 0; i < sent; i++) {
      const res = await get(mesh.client.port('outbound-http'), `/reviews/${i}`, { host: 'reviews:9080' });
      assert.equal(res.status, failing(`/reviews/${i}`) ? 503 : 200);
      if (res.status === 503) failed++;
    }
    assert.ok(failed > 0 && failed < sent);
    await skiffd.observer.scraper.scrape();
    const graph = await api<ServiceGraph>(`/api/graph?namespace=default&window=${window}`);
    const edge = (source: string, target: string): ServiceGraph['edges'][number] | undefined => graph.edges.find((e) => e.source === source && e.target === target);
    const toService = edge('workload:default/productpage-v1', 'service:reviews.default.svc.cluster.local');
    assert.ok(toService, `productpage → reviews in ${JSON.stringify(graph.edges.map((e) => `${e.source} → ${e.target}`))}`);
    assert.equal(toService.rate, r3(sent / window));
    assert.equal(toService.errorRate, r3(failed / sent));
    assert.deepEqual(toService.byCode, { '200': r3((sent - failed) / window), '503': r3(failed / window) });
    assert.equal(toService.health, 'failing', 'over 20 % errors');
    assert.equal(edge('service:reviews.default.svc.cluster.local', 'workload:default/reviews-v2')?.rate, r3(sent / window));
    assert.deepEqual(graph.nodes.map((n) => n.id).sort(), ['service:reviews.default.svc.cluster.local', 'workload:default/productpage-v1', 'workload:default/reviews-v2']);
  });

  test("/api/config: the applied resource with the analyzer's message for its missing subset", async () => {
    // As `skiff apply -f reviews.yaml` sends it.
    await skiffd.apply([{ name: 'reviews.yaml', text: BROKEN_VS }]);
    const items = (await api<{ items: ConfigEntry[] }>('/api/config')).items;
    assert.deepEqual(
      items.map((i) => [i.resource.kind, i.resource.metadata.name]),
      [['VirtualService', 'reviews']],
    );
    const codes = items[0].messages.map((m) => m.code);
    assert.ok(codes.includes('IST0101'), `IST0101 among ${codes.join(', ')}`);
    assert.match(items[0].messages.find((m) => m.code === 'IST0101')!.message, /reviews/);
  });

  test('/api/traces and /api/traces/<id>: the spans posted to the collector, as a trace', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const spans = [
      { traceId, id: 'a000000000000001', name: 'productpage.default.svc.cluster.local:9080/*', kind: 'CLIENT', timestamp: 1_700_000_000_000_000, duration: 30_000, localEndpoint: { serviceName: 'istio-ingressgateway.istio-system' }, tags: { 'http.status_code': '200' } },
      { traceId, id: 'a000000000000002', parentId: 'a000000000000001', name: 'productpage.default.svc.cluster.local:9080/*', kind: 'SERVER', timestamp: 1_700_000_000_000_500, duration: 29_000, localEndpoint: { serviceName: 'productpage.default' }, tags: { 'http.status_code': '200' } },
      { traceId, id: 'a000000000000003', parentId: 'a000000000000002', name: 'reviews.default.svc.cluster.local:9080/*', kind: 'CLIENT', timestamp: 1_700_000_000_001_000, duration: 20_000, localEndpoint: { serviceName: 'productpage.default' }, tags: { 'http.status_code': '503' } },
    ];
    const post = await fetch(`${skiffd.apiUrl}/api/v2/spans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spans) });
    assert.equal(post.status, 202);
    const list = (await api<{ traces: TraceSummary[] }>('/api/traces')).traces;
    assert.deepEqual(
      list.map((t) => [t.traceId, t.rootService, t.spanCount, t.durationUs, t.services]),
      [[traceId, 'istio-ingressgateway.istio-system', 3, 30_000, ['istio-ingressgateway.istio-system', 'productpage.default']]],
    );
    assert.deepEqual((await api<{ traces: TraceSummary[] }>('/api/traces?service=reviews.default')).traces, [], 'no span of reviews itself');
    const one = await api<{ traceId: string; spans: TraceSpan[] }>(`/api/traces/${traceId}`);
    assert.deepEqual(
      one.spans.map((s) => [s.id, s.parentId, s.serviceName, s.kind, s.durationUs]),
      spans.map((s) => [s.id, s.parentId, s.localEndpoint.serviceName, s.kind, s.duration]),
    );
    assert.equal((await fetch(`${skiffd.dashboardUrl!}/api/traces/0123456789abcdef0123456789abcdef`)).status, 404);
  });
});
