/**
 * The embedded trace collector: Zipkin v2 spans in, traces out newest first with their root,
 * extent and services; malformed spans named and skipped; memory bounded by evicting the oldest traces.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanBatchError, TraceCollector } from '../../../src/controlplane/observe/index.js';

const T1 = 'a'.repeat(32);
const T2 = 'b'.repeat(32);
const id = (n: number): string => n.toString(16).padStart(16, '0');

function span(traceId: string, n: number, parent: number | undefined, service: string, ts: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    traceId,
    id: id(n),
    ...(parent !== undefined ? { parentId: id(parent) } : {}),
    name: `${service}:9080/*`,
    kind: parent === undefined ? 'CLIENT' : 'SERVER',
    timestamp: ts,
    duration: 100,
    localEndpoint: { serviceName: service },
    tags: { 'http.status_code': '200' },
    ...extra,
  };
}

describe('TraceCollector', () => {
  test('keeps spans by trace; summaries name the root, the extent, the services, newest first', () => {
    const c = new TraceCollector();
    const r = c.ingest([
      span(T1, 2, 1, 'productpage.default', 1_000_050),
      span(T1, 1, undefined, 'istio-ingressgateway.istio-system', 1_000_000, { duration: 500 }),
      span(T2, 3, undefined, 'reviews.default', 2_000_000, { tags: { error: 'true' } }),
    ]);
    assert.deepEqual(r, { accepted: 3, rejected: 0 });
    const list = c.summaries({ limit: 10 });
    assert.deepEqual(list.map((t) => t.traceId), [T2, T1]);
    assert.deepEqual(list[1], {
      traceId: T1,
      rootService: 'istio-ingressgateway.istio-system',
      rootName: 'istio-ingressgateway.istio-system:9080/*',
      startUs: 1_000_000,
      durationUs: 500,
      spanCount: 2,
      services: ['istio-ingressgateway.istio-system', 'productpage.default'],
      error: false,
    });
    assert.equal(list[0].error, true);
    assert.deepEqual(c.summaries({ limit: 10, service: 'productpage' }).map((t) => t.traceId), [T1]);
    assert.deepEqual(c.summaries({ limit: 1 }).map((t) => t.traceId), [T2]);
    const spans = c.trace(T1.toUpperCase());
    assert.deepEqual(spans?.map((s) => [s.id, s.parentId]), [[id(1), undefined], [id(2), id(1)]]);
    assert.equal(c.trace('c'.repeat(32)), undefined);
  });

  test('malformed spans are refused with the field named; the rest of the batch is kept', () => {
    const c = new TraceCollector();
    const r = c.ingest([span(T1, 1, undefined, 'a.default', 1), { ...span(T1, 2, 1, 'b.default', 2), id: 'xyz' }, 'nope']);
    assert.equal(r.accepted, 1);
    assert.equal(r.rejected, 2);
    assert.equal(r.firstError, '[1].id: must be 16 hex digits');
    assert.throws(() => c.ingest({ spans: [] }), SpanBatchError);
  });

  test('memory is bounded: past maxTraces or maxSpans the oldest traces go', () => {
    const c = new TraceCollector({ maxTraces: 3, maxSpans: 5 });
    const trace = (n: number): string => n.toString(16).padStart(32, '0');
    for (let t = 1; t <= 5; t++) c.ingest([span(trace(t), 1, undefined, 's.default', t)]);
    assert.deepEqual(c.summaries({ limit: 10 }).map((s) => s.traceId), [trace(5), trace(4), trace(3)]);
    // Three spans more in trace 5: six spans in all, so trace 3 goes.
    c.ingest([2, 3, 4].map((n) => span(trace(5), n, 1, 's.default', 10 + n)));
    assert.deepEqual(c.size, { traces: 2, spans: 5 });
    assert.equal(c.trace(trace(3)), undefined);
    assert.equal(c.trace(trace(5))?.length, 4);
  });
});
