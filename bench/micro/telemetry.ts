/**
 * Telemetry on the request path of a sidecar with 50 outbound services: the request-start hook
 * (trace context, peer metadata), the response hook, recording a finished request into the
 * standard metrics, an access-log line, and rendering a scrape. The figures recorded are checked
 * before they are timed.
 */
import { Writable } from 'node:stream';
import { HeaderList } from '../../src/proxy/http/headers.js';
import type { RequestRecord } from '../../src/telemetry/request-record.js';
import type { RequestHead } from '../../src/proxy/http/stream.js';
import { checkSnapshot } from '../../src/proxy/snapshot.js';
import { formatTextLine } from '../../src/telemetry/access-log/format.js';
import { ProxyTelemetry } from '../../src/telemetry/proxy-telemetry.js';
import { check, measure } from './measure.js';
import type { MicroResult } from './measure.js';

const SERVICES = 50;

function snapshot(): unknown {
  const clusters = [];
  for (let i = 0; i < SERVICES; i++) {
    clusters.push({ name: `outbound|9080||svc${i}.default.svc.cluster.local`, endpoints: [{ address: `10.1.0.${i}`, port: 9080, labels: { app: `svc${i}`, version: 'v1' }, workload: { name: `svc${i}-v1`, namespace: 'default' } }] });
  }
  return {
    version: 'bench',
    node: { id: 'sidecar~10.0.0.1~productpage-v1-abc.default~default.svc.cluster.local', kind: 'sidecar', workload: { name: 'productpage-v1', namespace: 'default', labels: { app: 'productpage', version: 'v1' }, serviceAccount: 'bookinfo-productpage' } },
    listeners: [],
    routes: [],
    clusters,
  };
}

function head(i: number): RequestHead {
  const headers = HeaderList.from([
    ['host', `svc${i % SERVICES}:9080`],
    ['user-agent', 'python-requests/2.31'],
    ['accept', '*/*'],
    ['x-request-id', '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0'],
    ['x-forwarded-proto', 'http'],
    ['x-b3-traceid', '4bf92f3577b34da6a3ce929d0e0e4736'],
    ['x-b3-spanid', '00f067aa0ba902b7'],
    ['x-b3-sampled', '0'],
  ]);
  return { method: 'GET', scheme: 'http', authority: `svc${i % SERVICES}:9080`, path: '/reviews/0', headers, protocol: 'HTTP/1.1', absoluteForm: false, hasBody: false, contentLength: 0, expectContinue: false, upgrade: null };
}

function record(i: number): RequestRecord {
  return {
    kind: 'http',
    listener: 'outbound',
    direction: 'outbound',
    flags: 0,
    details: 'via_upstream',
    status: i % 20 === 0 ? 503 : 200,
    method: 'GET',
    authority: `svc${i % SERVICES}:9080`,
    path: '/reviews/0',
    protocol: 'HTTP/1.1',
    requestId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
    userAgent: 'python-requests/2.31',
    bytesReceived: 0,
    bytesSent: 295 + (i % 7),
    startTime: 1_700_000_000_000 + i,
    durationMs: (i % 100) * 0.37,
    upstreamServiceTimeMs: 3,
    upstreamHost: `10.1.0.${i % SERVICES}:9080`,
    upstreamCluster: `outbound|9080||svc${i % SERVICES}.default.svc.cluster.local`,
    routeName: 'default',
    downstreamRemoteAddress: '127.0.0.1:40000',
    downstreamLocalAddress: '127.0.0.1:15001',
    attempts: 1,
  };
}

/** The `istio_requests_total` figures of a scrape, summed. */
function requestsTotal(page: string): number {
  let n = 0;
  for (const m of page.matchAll(/^istio_requests_total\{[^}]*\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}

export function telemetryBench(): MicroResult[] {
  const telemetry = new ProxyTelemetry({ accessLogStream: new Writable({ write: (_c, _e, cb) => cb() }) });
  telemetry.snapshotApplied(checkSnapshot(snapshot()).snapshot);
  const heads = Array.from({ length: 64 }, (_, i) => head(i));
  const records = Array.from({ length: 1000 }, (_, i) => record(i));
  // As on the data path: each record carries the state its request started with.
  for (const [i, r] of records.entries()) r.telemetry = telemetry.requestStart(heads[i & 63], 'outbound');
  const responseHeaders = HeaderList.from([
    ['content-type', 'application/json'],
    ['content-length', '295'],
    ['date', 'Mon, 01 Jan 2024 00:00:00 GMT'],
    ['x-envoy-upstream-service-time', '3'],
  ]);
  const states = heads.map((h) => telemetry.requestStart(h, 'outbound')!);

  for (const r of records) telemetry.requestDone(r);
  check(requestsTotal(telemetry.renderPrometheus(null)) === records.length, 'every recorded request is counted once');
  const doneWarmup = 20_000;
  const doneRuns = 500_000;
  const results = [
    measure('telemetry: (baseline: building a request head)', 100_000, (i) => head(i)),
    measure('telemetry: requestStart (trace context + peer metadata), head included', 100_000, (i) => telemetry.requestStart(head(i), 'outbound')),
    measure('telemetry: responseHeaders', 200_000, (i) => (telemetry.responseHeaders(states[i & 63], 200, responseHeaders), 1)),
    measure('telemetry: requestDone (standard metrics only)', doneRuns, (i) => (telemetry.requestDone(records[i % 1000]), 1), doneWarmup),
    measure('telemetry: access log line (text format)', 200_000, (i) => formatTextLine(records[i % 1000], { forwardedFor: '10.0.0.9' })),
    // A render takes milliseconds: a short warm-up, not the default 20 000 calls.
    measure('telemetry: scrape render (50 services)', 200, () => telemetry.renderPrometheus(null), 20),
  ];
  check(requestsTotal(telemetry.renderPrometheus(null)) === records.length + doneWarmup + doneRuns, 'the timed requestDone calls were all counted');
  return results;
}
