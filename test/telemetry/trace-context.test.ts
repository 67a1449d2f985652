/**
 * Trace header reading and writing: B3 multi, B3 single (full and sampling-only), W3C
 * traceparent, precedence among them, and malformed values ignored rather than trusted.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderList } from '../../src/proxy/http/headers.js';
import { extractTrace, injectTrace } from '../../src/telemetry/tracing/context.js';
import { newSpanId, newTraceId } from '../../src/telemetry/tracing/ids.js';

const h = (pairs: Record<string, string>): HeaderList => HeaderList.from(Object.entries(pairs));
const T32 = '4bf92f3577b34da6a3ce929d0e0e4736';
const S1 = '00f067aa0ba902b7';

describe('extractTrace', () => {
  test('nothing incoming: no parent, no decision', () => {
    assert.deepEqual(extractTrace(h({})), { traceId: null, spanId: null, sampled: undefined, debug: false, b3Single: false });
  });

  test('B3 multi with sampled and debug flags', () => {
    const t = extractTrace(h({ 'X-B3-TraceId': T32.toUpperCase(), 'x-b3-spanid': S1, 'x-b3-sampled': 'true' }));
    assert.equal(t.traceId, T32);
    assert.equal(t.spanId, S1);
    assert.equal(t.sampled, true);
    const d = extractTrace(h({ 'x-b3-traceid': T32, 'x-b3-spanid': S1, 'x-b3-sampled': '0', 'x-b3-flags': '1' }));
    assert.equal(d.debug, true);
    assert.equal(d.sampled, true, 'debug implies sampled');
  });

  test('a sampling decision without ids is still a decision', () => {
    const t = extractTrace(h({ 'x-b3-sampled': '0' }));
    assert.equal(t.traceId, null);
    assert.equal(t.sampled, false);
    assert.equal(extractTrace(h({ b3: '0' })).sampled, false);
    assert.equal(extractTrace(h({ b3: 'd' })).debug, true);
  });

  test('B3 single header, with and without parent', () => {
    const t = extractTrace(h({ b3: `${T32}-${S1}-1-${'1'.repeat(16)}` }));
    assert.deepEqual([t.traceId, t.spanId, t.sampled, t.b3Single], [T32, S1, true, true]);
    const u = extractTrace(h({ b3: `${T32}-${S1}` }));
    assert.equal(u.sampled, undefined);
  });

  test('W3C traceparent, with its sampled flag', () => {
    const t = extractTrace(h({ traceparent: `00-${T32}-${S1}-01` }));
    assert.deepEqual([t.traceId, t.spanId, t.sampled], [T32, S1, true]);
    assert.equal(extractTrace(h({ traceparent: `00-${T32}-${S1}-00` })).sampled, false);
  });

  test('B3 wins over traceparent when both are present', () => {
    const other = 'a'.repeat(32);
    const t = extractTrace(h({ 'x-b3-traceid': other, 'x-b3-spanid': S1, traceparent: `00-${T32}-${S1}-01` }));
    assert.equal(t.traceId, other);
  });

  test('malformed values are ignored', () => {
    const bad: Record<string, string>[] = [
      { 'x-b3-traceid': 'xyz', 'x-b3-spanid': S1 },
      { 'x-b3-traceid': '0'.repeat(32), 'x-b3-spanid': S1 },
      { 'x-b3-traceid': T32, 'x-b3-spanid': '123' },
      { traceparent: `ff-${T32}-${S1}-01` },
      { traceparent: `00-${T32}-${S1}-01-extra` },
      { traceparent: `00-${'0'.repeat(32)}-${S1}-01` },
      { traceparent: 'garbage' },
      { b3: 'not-a-trace-at-all' },
    ];
    for (const pairs of bad) {
      const t = extractTrace(h(pairs));
      assert.equal(t.traceId, null, JSON.stringify(pairs));
    }
  });
});

describe('injectTrace', () => {
  test('writes B3 multi and traceparent; b3 only when the request had it', () => {
    const headers = h({ tracestate: 'a=b', 'x-b3-parentspanid': 'ffffffffffffffff' });
    injectTrace(headers, { traceId: T32, spanId: S1, parentId: undefined, sampled: false, debug: false }, false);
    assert.equal(headers.get('x-b3-traceid'), T32);
    assert.equal(headers.get('x-b3-spanid'), S1);
    assert.equal(headers.get('x-b3-parentspanid'), undefined, 'a stale parent is removed');
    assert.equal(headers.get('x-b3-sampled'), '0');
    assert.equal(headers.get('traceparent'), `00-${T32}-${S1}-00`);
    assert.equal(headers.get('tracestate'), 'a=b');
    assert.equal(headers.get('b3'), undefined);

    const withSingle = h({ b3: 'whatever' });
    injectTrace(withSingle, { traceId: 'a1b2c3d4e5f60718', spanId: S1, parentId: '1'.repeat(16), sampled: true, debug: true }, true);
    assert.equal(withSingle.get('b3'), `a1b2c3d4e5f60718-${S1}-d-${'1'.repeat(16)}`);
    assert.equal(withSingle.get('x-b3-flags'), '1');
    assert.equal(withSingle.get('traceparent'), `00-0000000000000000a1b2c3d4e5f60718-${S1}-01`);
  });

  test('round trip: what one proxy writes the next one reads as its parent', () => {
    const headers = h({});
    const span = { traceId: newTraceId(), spanId: newSpanId(), parentId: newSpanId(), sampled: true, debug: false };
    injectTrace(headers, span, false);
    const t = extractTrace(headers);
    assert.deepEqual([t.traceId, t.spanId, t.sampled], [span.traceId, span.spanId, true]);
  });

  test('ids are hex of the right width and differ', () => {
    const ids = new Set(Array.from({ length: 2000 }, () => newSpanId()));
    assert.equal(ids.size, 2000);
    for (const id of ids) assert.match(id, /^[0-9a-f]{16}$/);
    assert.match(newTraceId(), /^[0-9a-f]{32}$/);
  });
});
