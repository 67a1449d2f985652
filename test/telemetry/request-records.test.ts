/**
 * Finished requests into the standard metrics, without sockets: each record is counted once,
 * under the destination service its cluster's endpoint names, and split by response code, with
 * the scrape rendering every series.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestRecord } from '../../src/telemetry/request-record.js';
import { checkSnapshot } from '../../src/proxy/snapshot.js';
import { ProxyTelemetry } from '../../src/telemetry/proxy-telemetry.js';
import { checkScrape } from '../helpers/promtool.js';
import { parsePrometheus, select, sum } from './helpers.js';

const SERVICES = 5;
const cluster = (i: number): string => `outbound|9080||svc${i}.default.svc.cluster.local`;

function record(i: number): RequestRecord {
  return {
    kind: 'http',
    listener: 'outbound',
    direction: 'outbound',
    flags: 0,
    details: 'via_upstream',
    // Every seventh request of svc1 fails.
    status: i % SERVICES === 1 && i % 7 === 0 ? 503 : 200,
    method: 'GET',
    authority: `svc${i % SERVICES}:9080`,
    path: '/reviews/0',
    protocol: 'HTTP/1.1',
    requestId: `id-${i}`,
    userAgent: 'test',
    bytesReceived: 0,
    bytesSent: 100,
    startTime: 1_700_000_000_000 + i,
    durationMs: 3,
    upstreamServiceTimeMs: 2,
    upstreamHost: `10.1.0.${i % SERVICES}:9080`,
    upstreamCluster: cluster(i % SERVICES),
    routeName: 'default',
    downstreamRemoteAddress: '127.0.0.1:40000',
    downstreamLocalAddress: '127.0.0.1:15001',
    attempts: 1,
  };
}

test('each finished request is counted once under its destination service and response code', async () => {
  const telemetry = new ProxyTelemetry({});
  const clusters = Array.from({ length: SERVICES }, (_, i) => ({
    name: cluster(i),
    endpoints: [{ address: `10.1.0.${i}`, port: 9080, labels: { app: `svc${i}`, version: 'v1' }, workload: { name: `svc${i}-v1`, namespace: 'default' } }],
  }));
  const node = { id: 'productpage-v1-abc.default', kind: 'sidecar', workload: { name: 'productpage-v1', namespace: 'default', labels: { app: 'productpage', version: 'v1' }, serviceAccount: 'bookinfo-productpage' } };
  telemetry.snapshotApplied(checkSnapshot({ version: '1', node, listeners: [], routes: [], clusters }).snapshot);
  const records = Array.from({ length: 100 }, (_, i) => record(i));
  for (const r of records) telemetry.requestDone(r);

  const page = telemetry.renderPrometheus(null);
  await checkScrape(page, 'a sidecar after 100 requests');
  const samples = parsePrometheus(page);
  assert.equal(sum(select(samples, 'istio_requests_total')), 100);
  for (let i = 0; i < SERVICES; i++) {
    const ofService = select(samples, 'istio_requests_total', { destination_service: `svc${i}.default.svc.cluster.local` });
    assert.equal(sum(ofService), 20, `svc${i}`);
    assert.ok(ofService.every((s) => s.labels.destination_workload === `svc${i}-v1` && s.labels.source_workload === 'productpage-v1'));
  }
  const failed = records.filter((r) => r.status === 503).length;
  assert.ok(failed > 0);
  assert.deepEqual(
    select(samples, 'istio_requests_total', { response_code: '503' }).map((s) => [s.labels.destination_service, s.value]),
    [['svc1.default.svc.cluster.local', failed]],
  );
  await telemetry.close();
});
