/**
 * The mesh observer behind skiffd's observability endpoints, over real HTTP on loopback: spans
 * POSTed as Zipkin v2 and read back, the graph from proxies' metrics dumps served by a real
 * metrics port, parameter errors, the proxy rows, the config with analysis messages, and the
 * Prometheus target file it keeps.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMeshObserver, handleObserveRequest, targetsFile } from '../../../src/controlplane/observe/index.js';
import type { MeshObserver } from '../../../src/controlplane/observe/index.js';
import type { ProxyStatus } from '../../../src/controlplane/push/types.js';
import type { ServiceGraph, TraceSpan, TraceSummary } from '../../../src/dashboard/sources.js';
import { MetricsServer } from '../../../src/telemetry/metrics/server.js';
import { loadYaml } from '../translate/cases.js';
import { Disposer } from '../../helpers/disposer.js';

const LABELS =
  'reporter="destination",source_workload="productpage-v1",source_workload_namespace="default",source_app="productpage",source_version="v1",' +
  'destination_workload="reviews-v2",destination_workload_namespace="default",destination_app="reviews",destination_version="v2",' +
  'destination_service="reviews.default.svc.cluster.local",destination_service_namespace="default",request_protocol="http",response_code="200",response_flags="-"';

const CONFIG = loadYaml(
  'vs.yaml',
  `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: default
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
        subset: v9
`,
);

describe('mesh observer and its endpoints', () => {
  let dir = '';
  let requests = 0;
  let metrics: MetricsServer;
  let api: http.Server;
  let base = '';
  let observer: MeshObserver;
  let proxies: ProxyStatus[] = [];

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    dir = disposer.tempDir('skiff-observe-');
    metrics = disposer.add(await MetricsServer.start(0, '127.0.0.1', () => '', () => ({ http: [{ labels: LABELS, requests, h: [[[0, 0, 0, requests], 0, requests], [[], 0, 0], [[], 0, 0]] }], tcp: [] })), (m) => m.close());
    const port = metrics.address().port;
    proxies = [
      {
        id: 'reviews-v2-abc-xyz.default',
        node: { id: 'reviews-v2-abc-xyz.default', kind: 'sidecar', workload: { name: 'reviews-v2-abc-xyz', namespace: 'default', labels: { app: 'reviews' }, serviceAccount: 'default' } },
        connectedAt: Date.now(),
        sentVersion: '1-a',
        ackedVersion: '1-a',
        state: 'SYNCED',
        adminUrl: 'http://127.0.0.1:1',
        metricsUrl: `http://127.0.0.1:${port}/stats/prometheus`,
      },
      { id: 'starting.default', node: { id: 'starting.default', kind: 'sidecar' }, connectedAt: Date.now(), sentVersion: null, ackedVersion: null, state: 'STALE' },
    ];
    observer = createMeshObserver({ proxies: () => proxies, store: { list: () => CONFIG }, stateDir: dir, scrapeIntervalMs: 60_000, targetsIntervalMs: 50 });
    observer.start();
    disposer.add(observer, (o) => o.stop());
    api = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      void handleObserveRequest(observer, req, url, res).then((served) => {
        if (!served) res.writeHead(404).end();
      });
    });
    disposer.add(api, (s) => new Promise((r) => s.close(r)));
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  }));
  after(() => disposer.drain());

  test('spans POSTed to /api/v2/spans are listed and read back by trace id', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const spans = [
      { traceId, id: '00f067aa0ba902b7', name: 'productpage.default.svc.cluster.local:9080/*', kind: 'CLIENT', timestamp: 1_700_000_000_000_000, duration: 900, localEndpoint: { serviceName: 'istio-ingressgateway.istio-system' }, tags: {} },
      { traceId, id: '00f067aa0ba902b8', parentId: '00f067aa0ba902b7', name: 'productpage.default.svc.cluster.local:9080/*', kind: 'SERVER', timestamp: 1_700_000_000_000_100, duration: 700, localEndpoint: { serviceName: 'productpage.default' }, tags: {} },
    ];
    const post = await fetch(`${base}/api/v2/spans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spans) });
    assert.equal(post.status, 202);
    assert.deepEqual(await post.json(), { accepted: 2, rejected: 0 });
    const list = (await (await fetch(`${base}/api/v1/traces?limit=5`)).json()) as { traces: TraceSummary[] };
    assert.deepEqual(list.traces.map((t) => [t.traceId, t.rootService, t.spanCount]), [[traceId, 'istio-ingressgateway.istio-system', 2]]);
    const one = (await (await fetch(`${base}/api/v1/traces/${traceId}`)).json()) as { spans: TraceSpan[] };
    assert.deepEqual(one.spans.map((s) => s.parentId), [undefined, '00f067aa0ba902b7']);
    assert.equal((await fetch(`${base}/api/v1/traces/ffffffffffffffffffffffffffffffff`)).status, 404);
    const bad = await fetch(`${base}/api/v2/spans`, { method: 'POST', body: '{"not":"a list"}' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /JSON array of Zipkin v2 spans/);
  });

  test('the graph counts what the proxies reported within the window', async () => {
    requests = 30;
    await observer.scraper.scrape();
    const g = (await (await fetch(`${base}/api/v1/graph?namespace=default&window=30`)).json()) as ServiceGraph;
    assert.equal(g.windowSeconds, 30);
    const edge = g.edges.find((e) => e.source === 'workload:default/productpage-v1' && e.target === 'service:reviews.default.svc.cluster.local');
    assert.equal(edge?.rate, 1);
    assert.deepEqual(edge?.byCode, { '200': 1 });
    assert.equal((await fetch(`${base}/api/v1/graph?window=soon`)).status, 400);
  });

  test('proxy rows, config with analysis, and the Prometheus target file', async () => {
    assert.deepEqual(observer.proxies(), [
      {
        id: 'reviews-v2-abc-xyz.default',
        kind: 'sidecar',
        workload: 'reviews-v2-abc-xyz',
        namespace: 'default',
        version: '1-a',
        status: 'SYNCED',
        adminUrl: 'http://127.0.0.1:1',
        metricsUrl: proxies[0].metricsUrl,
      },
      { id: 'starting.default', kind: 'sidecar', status: 'STALE' },
    ]);
    const config = observer.config();
    assert.equal(config.length, 1);
    // The VirtualService names a host no Service has: `skiff analyze` says so.
    assert.ok(config[0].messages.some((m) => m.code === 'IST0101'), JSON.stringify(config[0].messages));

    await observer.targets?.idle();
    const groups = JSON.parse(await readFile(targetsFile(dir), 'utf8')) as { targets: string[]; labels: Record<string, string> }[];
    assert.deepEqual(groups, [
      {
        targets: [new URL(proxies[0].metricsUrl!).host],
        labels: { __metrics_path__: '/stats/prometheus', proxy: 'reviews-v2-abc-xyz.default', kind: 'sidecar', namespace: 'default', pod: 'reviews-v2-abc-xyz', app: 'reviews' },
      },
    ]);
    const yml = await readFile(join(dir, 'prometheus', 'prometheus.yml'), 'utf8');
    assert.match(yml, /file_sd_configs:\n {6}- files: \[".*targets\.json"\]/);
  });
});
