/**
 * Distributed tracing through two sidecars: client and server spans reach a Zipkin (and OTLP)
 * receiver with one trace id and a parent/child link, the app receives the server span's ids in
 * B3 (multi and single) and W3C headers, incoming traces are continued, and sampling follows
 * the configured percentage, incoming decisions and `x-client-trace-id`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { get, startSpanReceiver } from './helpers.js';
import type { ReceivedSpans } from './helpers.js';
import { REVIEWS, startMesh } from './mesh.js';
import type { Mesh } from './mesh.js';

interface ZSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind: string;
  timestamp: number;
  duration: number;
  localEndpoint: { serviceName: string };
  tags: Record<string, string>;
}

async function flushAll(mesh: Mesh): Promise<void> {
  await mesh.client.telemetry.flush();
  await mesh.server.telemetry.flush();
}

describe('tracing with 100% sampling', () => {
  let mesh: Mesh;
  let receiver: ReceivedSpans;
  const spans = (): ZSpan[] => receiver.zipkin as unknown as ZSpan[];
  const byRequest = (id: string): ZSpan[] => spans().filter((s) => s.tags['guid:x-request-id'] === id);

  before(async () => {
    receiver = await startSpanReceiver();
    const base = `http://127.0.0.1:${receiver.port}`;
    mesh = await startMesh({
      clientTelemetry: { tracing: { sampling: 100, zipkinUrl: `${base}/api/v2/spans` } },
      serverTelemetry: { tracing: { sampling: 100, zipkinUrl: `${base}/api/v2/spans`, otlpUrl: `${base}/v1/traces` } },
    });
  });

  after(async () => {
    await mesh?.close();
    await receiver?.close();
  });

  test('a request makes a CLIENT and a SERVER span in one trace, linked parent to child', async () => {
    const res = await get(mesh.client.port('outbound-http'), '/reviews/0', { host: 'reviews:9080', 'x-request-id': 'trace-1' });
    assert.equal(res.status, 200);
    await flushAll(mesh);
    const got = byRequest('trace-1');
    assert.equal(got.length, 2, JSON.stringify(spans()));
    const client = got.find((s) => s.kind === 'CLIENT')!;
    const server = got.find((s) => s.kind === 'SERVER')!;
    assert.ok(client && server);
    assert.equal(server.traceId, client.traceId);
    assert.match(client.traceId, /^[0-9a-f]{32}$/);
    assert.equal(client.parentId, undefined);
    assert.equal(server.parentId, client.id);
    assert.notEqual(server.id, client.id);
    assert.equal(client.name, 'reviews.default.svc.cluster.local:9080/*');
    assert.equal(server.name, 'reviews.default.svc.cluster.local:9080/*');
    assert.equal(client.localEndpoint.serviceName, 'productpage.default');
    assert.equal(server.localEndpoint.serviceName, 'reviews.default');
    assert.ok(client.timestamp <= server.timestamp && client.duration >= server.duration, 'the server span sits inside the client span');
    assert.equal(client.tags['http.method'], 'GET');
    assert.equal(client.tags['http.url'], 'http://reviews:9080/reviews/0');
    assert.equal(client.tags['http.status_code'], '200');
    assert.equal(client.tags.response_flags, '-');
    assert.equal(client.tags.upstream_cluster, REVIEWS);
    assert.equal(client.tags['istio.canonical_service'], 'productpage');
    assert.equal(server.tags['istio.canonical_service'], 'reviews');
    assert.equal(server.tags.upstream_cluster, 'inbound|9080||');
    assert.match(client.tags.node_id, /^sidecar~.*productpage-v1/);
    assert.equal(client.tags.error, undefined);

    // The app sees the server span as its parent, in every header format.
    const h = mesh.app.seen.at(-1)!;
    assert.equal(h['x-request-id'], 'trace-1');
    assert.equal(h['x-b3-traceid'], client.traceId);
    assert.equal(h['x-b3-spanid'], server.id);
    assert.equal(h['x-b3-parentspanid'], client.id);
    assert.equal(h['x-b3-sampled'], '1');
    assert.equal(h.traceparent, `00-${client.traceId}-${server.id}-01`);
  });

  test('the OTLP endpoint receives the server span with the same ids', async () => {
    const client = byRequest('trace-1').find((s) => s.kind === 'CLIENT')!;
    const server = byRequest('trace-1').find((s) => s.kind === 'SERVER')!;
    const otlp = JSON.stringify(receiver.otlp);
    const body = receiver.otlp[0] as { resourceSpans: { resource: { attributes: { key: string; value: { stringValue: string } }[] }; scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
    assert.equal(body.resourceSpans[0].resource.attributes[0].value.stringValue, 'reviews.default');
    const span = body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).find((s) => s.spanId === server.id);
    assert.ok(span, otlp);
    assert.equal(span.traceId, client.traceId);
    assert.equal(span.parentSpanId, client.id);
    assert.equal(span.kind, 2);
    assert.ok(BigInt(span.endTimeUnixNano as string) > BigInt(span.startTimeUnixNano as string));
  });

  test('an incoming B3 trace (64-bit id) is continued', async () => {
    const traceId = 'a1b2c3d4e5f60718';
    const parent = '1122334455667788';
    await get(mesh.client.port('outbound-http'), '/reviews/1', { host: 'reviews:9080', 'x-request-id': 'trace-b3', 'x-b3-traceid': traceId, 'x-b3-spanid': parent, 'x-b3-sampled': '1' });
    await flushAll(mesh);
    const got = byRequest('trace-b3');
    assert.equal(got.length, 2);
    const client = got.find((s) => s.kind === 'CLIENT')!;
    const server = got.find((s) => s.kind === 'SERVER')!;
    assert.equal(client.traceId, traceId);
    assert.equal(client.parentId, parent);
    assert.equal(server.traceId, traceId);
    assert.equal(server.parentId, client.id);
    const h = mesh.app.seen.at(-1)!;
    assert.equal(h['x-b3-traceid'], traceId);
    assert.equal(h.traceparent, `00-0000000000000000${traceId}-${server.id}-01`);
  });

  test('an incoming W3C traceparent is continued and B3 single is rewritten in place', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await get(mesh.client.port('outbound-http'), '/reviews/2', {
      host: 'reviews:9080',
      'x-request-id': 'trace-w3c',
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      tracestate: 'congo=t61rcWkgMzE',
    });
    await flushAll(mesh);
    const client = byRequest('trace-w3c').find((s) => s.kind === 'CLIENT')!;
    const server = byRequest('trace-w3c').find((s) => s.kind === 'SERVER')!;
    assert.equal(client.traceId, traceId);
    assert.equal(client.parentId, '00f067aa0ba902b7');
    const h = mesh.app.seen.at(-1)!;
    assert.equal(h.traceparent, `00-${traceId}-${server.id}-01`);
    assert.equal(h.tracestate, 'congo=t61rcWkgMzE');
    assert.equal(h['x-b3-traceid'], traceId);

    const single = `${traceId}-a2fb4a1d1a96d312-1`;
    await get(mesh.client.port('outbound-http'), '/reviews/3', { host: 'reviews:9080', 'x-request-id': 'trace-b3single', b3: single });
    await flushAll(mesh);
    const c = byRequest('trace-b3single').find((s) => s.kind === 'CLIENT')!;
    const s = byRequest('trace-b3single').find((x) => x.kind === 'SERVER')!;
    assert.equal(c.parentId, 'a2fb4a1d1a96d312');
    assert.equal(mesh.app.seen.at(-1)!.b3, `${traceId}-${s.id}-1-${c.id}`);
  });

  test('an incoming "not sampled" decision is honoured', async () => {
    await get(mesh.client.port('outbound-http'), '/reviews/4', { host: 'reviews:9080', 'x-request-id': 'trace-unsampled', 'x-b3-sampled': '0' });
    await flushAll(mesh);
    assert.deepEqual(byRequest('trace-unsampled'), []);
    assert.equal(mesh.app.seen.at(-1)!['x-b3-sampled'], '0');
  });

  test('a failed request is tagged as an error', async () => {
    await get(mesh.client.port('outbound-http'), '/ratings/0', { host: 'ratings:9080', 'x-request-id': 'trace-abort' });
    await flushAll(mesh);
    const got = byRequest('trace-abort');
    assert.equal(got.length, 1);
    assert.equal(got[0].tags.error, 'true');
    assert.equal(got[0].tags.response_flags, 'FI');
    assert.equal(got[0].tags['http.status_code'], '500');
    // Named after the route's service, as Istio's route decorator names it, though no cluster was reached.
    assert.equal(got[0].name, 'ratings.default.svc.cluster.local:9080/*');
  });
});

describe('sampling at 0%', () => {
  let mesh: Mesh;
  let receiver: ReceivedSpans;

  before(async () => {
    receiver = await startSpanReceiver();
    const zipkinUrl = `http://127.0.0.1:${receiver.port}/api/v2/spans`;
    mesh = await startMesh({ clientTelemetry: { tracing: { sampling: 0, zipkinUrl } }, serverTelemetry: { tracing: { sampling: 0, zipkinUrl } } });
  });

  after(async () => {
    await mesh?.close();
    await receiver?.close();
  });

  test('no spans, but the context still propagates as not sampled', async () => {
    for (let i = 0; i < 5; i++) await get(mesh.client.port('outbound-http'), '/reviews/0', { host: 'reviews:9080' });
    await flushAll(mesh);
    assert.equal(receiver.zipkin.length, 0);
    const h = mesh.app.seen.at(-1)!;
    assert.equal(h['x-b3-sampled'], '0');
    assert.match(String(h['x-b3-traceid']), /^[0-9a-f]{32}$/);
    assert.match(String(h.traceparent), /-00$/);
  });

  test('x-client-trace-id forces the trace, and the next proxy follows the decision', async () => {
    await get(mesh.client.port('outbound-http'), '/reviews/0', { host: 'reviews:9080', 'x-client-trace-id': 'forced-1', 'x-request-id': 'forced' });
    await flushAll(mesh);
    const got = (receiver.zipkin as unknown as ZSpan[]).filter((s) => s.tags['guid:x-request-id'] === 'forced');
    assert.deepEqual(got.map((s) => s.kind).sort(), ['CLIENT', 'SERVER']);
    assert.equal(mesh.app.seen.at(-1)!['x-b3-sampled'], '1');
  });
});
