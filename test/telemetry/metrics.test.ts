/**
 * Istio's standard metrics from two real sidecars: both reporters with Istio's labels (peer
 * identities exchanged through metadata headers), FI and UO response flags, histograms that add
 * up, TCP connection metrics, and the proxy's own health figures, all scraped over HTTP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { get, select, sum, tcpRoundTrip } from './helpers.js';
import type { Sample } from './helpers.js';
import { BUSY, REVIEWS, startMesh } from './mesh.js';
import type { Mesh } from './mesh.js';
import { eventually } from '../proxy/helpers.js';
import { checkScrape, promtool, promtoolCheck } from '../helpers/promtool.js';

const REQUESTS = 5;

describe('istio standard metrics across two sidecars', () => {
  let mesh: Mesh;
  let client: Sample[];
  let server: Sample[];
  const replies: { status: number; headers: Record<string, string | string[] | undefined> }[] = [];

  before(async () => {
    mesh = await startMesh();
    const out = mesh.client.port('outbound-http');
    for (let i = 0; i < REQUESTS; i++) replies.push(await get(out, `/reviews/${i}`, { host: 'reviews:9080', 'user-agent': 'metrics-test' }));
    replies.push(await get(out, '/ratings/0', { host: 'ratings:9080' }));

    // Circuit breaker: one request in flight, one pending, the third overflows.
    const busy = mesh.busy;
    const first = get(out, '/hold', { host: 'busy:9080' });
    await eventually(() => busy.seen.length === 1, 5000, 'first request at the busy backend');
    const second = get(out, '/hold', { host: 'busy:9080' });
    await eventually(async () => (await mesh.client.scrape()).some((s) => s.name === 'skiff_proxy_upstream_requests_pending' && s.labels.cluster_name === BUSY && s.value === 1), 5000, 'a pending request');
    const third = await get(out, '/hold', { host: 'busy:9080' });
    replies.push(third);
    busy.release();
    await first;
    await eventually(() => busy.seen.length === 2, 5000, 'the pending request to go out');
    busy.release();
    await second;

    assert.equal(await tcpRoundTrip(mesh.client.port('outbound-tcp'), 'ping over tcp'), 'ping over tcp');
    // Records are handed over when the connection closes on both sides.
    await eventually(async () => select(await mesh.server.scrape(), 'istio_tcp_connections_closed_total').length === 1, 5000, 'server TCP close');
    await eventually(async () => select(await mesh.client.scrape(), 'istio_tcp_connections_closed_total').length === 1, 5000, 'client TCP close');
    client = await mesh.client.scrape();
    server = await mesh.server.scrape();
  });

  after(async () => {
    await mesh?.close();
  });

  test('the source reporter (client sidecar) labels the request as Istio does', () => {
    assert.ok(replies.slice(0, REQUESTS).every((r) => r.status === 200));
    const s = select(client, 'istio_requests_total', { reporter: 'source', destination_service: 'reviews.default.svc.cluster.local' });
    assert.equal(s.length, 1, JSON.stringify(s));
    assert.equal(s[0].value, REQUESTS);
    assert.deepEqual(s[0].labels, {
      reporter: 'source',
      source_workload: 'productpage-v1',
      source_workload_namespace: 'default',
      source_principal: 'unknown',
      source_app: 'productpage',
      source_version: 'v1',
      source_canonical_service: 'productpage',
      source_canonical_revision: 'v1',
      source_cluster: 'Kubernetes',
      // Learned from the server sidecar's response metadata (the endpoint carries none).
      destination_workload: 'reviews-v2',
      destination_workload_namespace: 'default',
      destination_principal: 'unknown',
      destination_app: 'reviews',
      destination_version: 'v2',
      destination_canonical_service: 'reviews',
      destination_canonical_revision: 'v2',
      destination_cluster: 'Kubernetes',
      destination_service: 'reviews.default.svc.cluster.local',
      destination_service_name: 'reviews',
      destination_service_namespace: 'default',
      request_protocol: 'http',
      response_code: '200',
      grpc_response_status: '',
      response_flags: '-',
      connection_security_policy: 'unknown',
    });
  });

  test('the destination reporter (server sidecar) knows the caller from the request metadata', () => {
    const s = select(server, 'istio_requests_total', { reporter: 'destination' });
    assert.equal(s.length, 1, JSON.stringify(s));
    assert.equal(s[0].value, REQUESTS);
    const l = s[0].labels;
    assert.equal(l.source_workload, 'productpage-v1');
    assert.equal(l.source_app, 'productpage');
    assert.equal(l.source_version, 'v1');
    assert.equal(l.source_workload_namespace, 'default');
    assert.equal(l.destination_workload, 'reviews-v2');
    assert.equal(l.destination_version, 'v2');
    assert.equal(l.destination_service, 'reviews.default.svc.cluster.local');
    assert.equal(l.destination_service_name, 'reviews');
    assert.equal(l.destination_service_namespace, 'default');
    assert.equal(l.response_code, '200');
    assert.equal(l.connection_security_policy, 'none');
  });

  test('peer metadata headers reach neither the app nor the calling client', () => {
    assert.equal(mesh.app.seen.length, REQUESTS);
    for (const h of mesh.app.seen) {
      assert.equal(h['x-envoy-peer-metadata'], undefined);
      assert.equal(h['x-envoy-peer-metadata-id'], undefined);
    }
    for (const r of replies) {
      assert.equal(r.headers['x-envoy-peer-metadata'], undefined);
      assert.equal(r.headers['x-envoy-peer-metadata-id'], undefined);
    }
  });

  test('an injected abort counts with its status and FI', () => {
    assert.equal(replies[REQUESTS].status, 500);
    const s = select(client, 'istio_requests_total', { response_flags: 'FI' });
    assert.equal(s.length, 1);
    assert.equal(s[0].value, 1);
    assert.equal(s[0].labels.response_code, '500');
    assert.equal(s[0].labels.reporter, 'source');
    // The route's cluster names the service even though no cluster was reached.
    assert.equal(s[0].labels.destination_service, 'ratings.default.svc.cluster.local');
    assert.equal(s[0].labels.destination_workload, 'unknown');
  });

  test('a circuit-breaker overflow counts as 503 UO', () => {
    assert.equal(replies[REQUESTS + 1].status, 503);
    const s = select(client, 'istio_requests_total', { response_flags: 'UO' });
    assert.equal(s.length, 1);
    assert.equal(s[0].labels.response_code, '503');
    assert.equal(s[0].labels.destination_service, 'busy.default.svc.cluster.local');
    const ok = select(client, 'istio_requests_total', { destination_service: 'busy.default.svc.cluster.local', response_code: '200' });
    assert.equal(sum(ok), 2);
    // No metadata from a backend without a sidecar: Istio falls back to the endpoint's identity.
    assert.equal(ok[0].labels.destination_workload, 'busy-v7');
    assert.equal(ok[0].labels.destination_workload_namespace, 'tools');
    assert.equal(ok[0].labels.destination_version, 'v7');
    assert.equal(ok[0].labels.destination_service_namespace, 'tools');
  });

  test('histograms agree with the request counter', () => {
    for (const samples of [client, server]) {
      for (const c of select(samples, 'istio_requests_total')) {
        const where = c.labels;
        for (const family of ['istio_request_duration_milliseconds', 'istio_request_bytes', 'istio_response_bytes']) {
          const count = select(samples, `${family}_count`, where);
          assert.equal(count.length, 1, `${family}_count for ${JSON.stringify(where)}`);
          assert.equal(count[0].value, c.value);
          const buckets = select(samples, `${family}_bucket`, where);
          const inf = buckets.find((b) => b.labels.le === '+Inf');
          assert.equal(inf?.value, c.value, `${family} +Inf bucket`);
          for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, `${family} buckets are cumulative`);
          assert.ok(select(samples, `${family}_sum`, where)[0].value > 0, `${family}_sum`);
        }
      }
    }
    const bounds = select(client, 'istio_request_duration_milliseconds_bucket', { destination_service: 'reviews.default.svc.cluster.local' }).map((b) => b.labels.le);
    assert.deepEqual(bounds, ['0.5', '1', '5', '10', '25', '50', '100', '250', '500', '1000', '2500', '5000', '10000', '30000', '60000', '300000', '600000', '1800000', '3600000', '+Inf']);
    const byteBounds = select(client, 'istio_response_bytes_bucket', { destination_service: 'reviews.default.svc.cluster.local' }).map((b) => b.labels.le);
    assert.deepEqual(byteBounds, ['1', '10', '100', '1000', '10000', '100000', '1000000', '10000000', '+Inf']);
    // Response sizes include the head: every 200 from reviews is more than its 23-byte body.
    const small = select(client, 'istio_response_bytes_bucket', { destination_service: 'reviews.default.svc.cluster.local', le: '100' });
    assert.equal(small[0].value, 0);
  });

  test('TCP connections are counted by both reporters with their bytes', () => {
    const opened = select(client, 'istio_tcp_connections_opened_total', { reporter: 'source' });
    assert.equal(opened.length, 1);
    assert.equal(opened[0].value, 1);
    const l = opened[0].labels;
    assert.equal(l.request_protocol, 'tcp');
    assert.equal(l.destination_service, 'tcp-echo.default.svc.cluster.local');
    assert.equal(l.destination_workload, 'reviews-v2');
    assert.equal(l.source_workload, 'productpage-v1');
    assert.equal(l.response_code, undefined);
    assert.equal(select(client, 'istio_tcp_connections_closed_total', { reporter: 'source' })[0].value, 1);
    assert.equal(select(client, 'istio_tcp_sent_bytes_total', { reporter: 'source' })[0].value, 'ping over tcp'.length);
    assert.equal(select(client, 'istio_tcp_received_bytes_total', { reporter: 'source' })[0].value, 'ping over tcp'.length);
    const dest = select(server, 'istio_tcp_connections_opened_total', { reporter: 'destination' });
    assert.equal(dest.length, 1);
    assert.equal(dest[0].labels.destination_workload, 'reviews-v2');
    assert.equal(dest[0].labels.source_workload, 'unknown');
    assert.equal(dest[0].labels.connection_security_policy, 'none');
    assert.equal(select(server, 'istio_tcp_received_bytes_total')[0].value, 'ping over tcp'.length);
  });

  test('the proxy reports its own health figures', () => {
    assert.equal(select(client, 'skiff_proxy_ready')[0].value, 1);
    assert.equal(select(client, 'skiff_proxy_snapshot_info', { version: 'client-1' })[0].value, 1);
    assert.equal(select(client, 'skiff_proxy_snapshots_applied_total')[0].value, 1);
    assert.equal(select(client, 'skiff_proxy_upstream_requests_pending', { cluster_name: BUSY })[0].value, 0);
    assert.equal(select(client, 'skiff_proxy_upstream_requests_overflow_total', { cluster_name: BUSY })[0].value, 1);
    assert.equal(select(client, 'skiff_proxy_upstream_hosts_healthy', { cluster_name: REVIEWS })[0].value, 1);
    assert.equal(select(client, 'skiff_proxy_outlier_ejections_active', { cluster_name: REVIEWS })[0].value, 0);
    assert.ok(select(client, 'skiff_proxy_downstream_connections_active', { listener: 'outbound-http' }).length === 1);
    assert.equal(select(client, 'istio_build', { component: 'proxy' })[0].value, 1);
  });

  test('Envoy\'s statistics under Envoy\'s Prometheus names, labelled by cluster and listener as Istio\'s dashboards query them', () => {
    const one = (name: string, labels: Record<string, string> = {}): number => {
      const s = select(client, name, labels);
      assert.equal(s.length, 1, `${name} ${JSON.stringify(labels)}: ${JSON.stringify(s)}`);
      return s[0].value;
    };
    // The third request to busy overflowed its one pending slot; the other two went through.
    assert.equal(one('envoy_cluster_upstream_rq_pending_overflow', { cluster_name: BUSY }), 1);
    assert.equal(one('envoy_cluster_upstream_rq_completed', { cluster_name: BUSY }), 2);
    assert.equal(one('envoy_cluster_upstream_rq_200', { cluster_name: REVIEWS }), REQUESTS);
    assert.equal(one('envoy_cluster_upstream_rq_2xx', { cluster_name: REVIEWS }), REQUESTS);
    // Present before they first count, as in Envoy.
    assert.equal(one('envoy_cluster_upstream_rq_retry', { cluster_name: REVIEWS }), 0);
    assert.equal(one('envoy_cluster_outlier_detection_ejections_active', { cluster_name: REVIEWS }), 0);
    assert.equal(one('envoy_cluster_upstream_cx_active', { cluster_name: REVIEWS }) >= 0, true);
    assert.equal(one('envoy_cluster_membership_healthy', { cluster_name: REVIEWS }), 1);
    assert.equal(one('envoy_cluster_circuit_breakers_default_rq_pending_open', { cluster_name: BUSY }), 0);
    assert.ok(one('envoy_http_downstream_rq_total', { http_conn_manager_prefix: 'outbound-http' }) >= REQUESTS + 4);
    assert.equal(one('envoy_server_live'), 1);
    assert.match(String(select(client, 'envoy_listener_downstream_cx_active')[0]?.labels.listener_address), /^127\.0\.0\.1_\d+$/);
  });
});

describe('metrics endpoint', () => {
  test('answers 404 off /stats/prometheus and serves text format 0.0.4', async () => {
    const mesh = await startMesh();
    try {
      const port = mesh.client.metrics.address().port;
      const miss = await get(port, '/metrics');
      assert.equal(miss.status, 404);
      const hit = await get(port, '/stats/prometheus');
      assert.equal(hit.status, 200);
      assert.match(String(hit.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      assert.match(hit.body, /^# TYPE istio_build gauge$/m);
      // Envoy's types: counters keep Envoy's names, gauges are gauges.
      assert.match(hit.body, /^# TYPE envoy_cluster_upstream_rq_retry counter$/m);
      assert.match(hit.body, /^# TYPE envoy_cluster_upstream_cx_active gauge$/m);
      assert.match(hit.body, /^# TYPE envoy_cluster_outlier_detection_ejections_active gauge$/m);
      assert.match(hit.body, /^# TYPE envoy_cluster_circuit_breakers_default_rq_open gauge$/m);
      await checkScrape(hit.body, 'the client sidecar');
    } finally {
      await mesh.close();
    }
  });

  // Every scrape a test reads goes through checkScrape; this shows (as a skip) when promtool is absent.
  test('promtool check metrics takes the page after traffic; it refuses a malformed page', { skip: promtool.skip }, async () => {
    const mesh = await startMesh();
    try {
      const res = await get(mesh.client.port('outbound-http'), '/reviews/1', { host: 'reviews:9080' });
      assert.equal(res.status, 200);
      await eventually(async () => select(await mesh.client.scrape(), 'istio_requests_total').length > 0, 5000, 'a counted request');
      const page = (await get(mesh.client.metrics.address().port, '/stats/prometheus')).body;
      const verdict = await promtoolCheck(page);
      assert.ok(verdict.code === 0 || verdict.code === 3, `promtool parses the page:\n${verdict.output}`);
      await checkScrape(page, 'the client sidecar');
    } finally {
      await mesh.close();
    }
    await assert.rejects(checkScrape('# TYPE x_total counter\nx_total{a="1} 1\n', 'a broken page'), /promtool check metrics refuses the scrape of a broken page \(exit 1\)/);
    await assert.rejects(checkScrape('# TYPE requests counter\nrequests 1\n', 'a counter without _total'), /counter metrics should have "_total" suffix/);
  });
});

describe('a request authorization denies on the server sidecar', () => {
  test("is labelled with the service the inbound listener serves, as Istio labels it with the route's", async () => {
    const mesh = await startMesh({
      serverAuthorization: { policies: [{ name: 'deny-admin', namespace: 'default', action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] }] },
    });
    try {
      const out = mesh.client.port('outbound-http');
      assert.equal((await get(out, '/admin', { host: 'reviews:9080' })).status, 403);
      await eventually(async () => select(await mesh.server.scrape(), 'istio_requests_total', { reporter: 'destination', response_code: '403' }).length === 1, 5000, 'the denied request counted');
      const [denied] = select(await mesh.server.scrape(), 'istio_requests_total', { reporter: 'destination', response_code: '403' });
      assert.equal(denied.labels.destination_service, 'reviews.default.svc.cluster.local');
      assert.equal(denied.labels.destination_service_name, 'reviews');
      assert.equal(denied.labels.destination_workload, 'reviews-v2');
    } finally {
      await mesh.close();
    }
  });
});
