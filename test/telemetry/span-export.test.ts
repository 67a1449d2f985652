/**
 * Span export off the request path: the bounded queue drops and counts what does not fit,
 * batches respect their size, failures are counted, and a real HTTP endpoint receives Zipkin v2
 * JSON at shutdown.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpSpanExporter, SpanBatcher } from '../../src/telemetry/tracing/exporter.js';
import type { SpanExporter } from '../../src/telemetry/tracing/exporter.js';
import type { FinishedSpan } from '../../src/telemetry/tracing/span.js';
import { newSpanId, newTraceId } from '../../src/telemetry/tracing/ids.js';
import { startSpanReceiver } from './helpers.js';

function span(name: string): FinishedSpan {
  return { traceId: newTraceId(), id: newSpanId(), parentId: undefined, name, kind: 'CLIENT', timestampUs: Date.now() * 1000, durationUs: 1500, serviceName: 'productpage.default', remote: { ip: '10.0.0.7', port: 9080 }, tags: { 'http.method': 'GET' }, error: false };
}

class Recording implements SpanExporter {
  readonly format = 'zipkin' as const;
  readonly url = 'memory:';
  batches: string[][] = [];
  fail = false;
  async export(spans: readonly FinishedSpan[]): Promise<void> {
    if (this.fail) throw new Error('endpoint down');
    this.batches.push(spans.map((s) => s.name));
  }
}

describe('span batching', () => {
  test('a full queue drops spans and counts them', async () => {
    const exporter = new Recording();
    const b = new SpanBatcher({ maxQueue: 3, maxBatch: 10, flushIntervalMs: 60_000 });
    b.setExporters([exporter]);
    for (let i = 0; i < 5; i++) b.add(span(`s${i}`));
    assert.equal(b.dropped, 2);
    await b.close();
    assert.deepEqual(exporter.batches, [['s0', 's1', 's2']]);
    assert.equal(b.exported, 3);
  });

  test('batches are at most maxBatch spans; failures are counted, not thrown', async () => {
    const ok = new Recording();
    const down = new Recording();
    down.fail = true;
    const b = new SpanBatcher({ maxBatch: 2, flushIntervalMs: 60_000 });
    b.setExporters([ok, down]);
    for (let i = 0; i < 5; i++) b.add(span(`s${i}`));
    await b.flush();
    assert.deepEqual(ok.batches.map((x) => x.length), [2, 2, 1]);
    assert.equal(b.exported, 5);
    assert.equal(b.failed, 5);
  });

  test('without an endpoint nothing is kept', () => {
    const b = new SpanBatcher();
    b.add(span('nowhere'));
    assert.equal(b.queued, 0);
    assert.equal(b.active, false);
  });

  test('Zipkin v2 JSON reaches a real endpoint', async () => {
    const receiver = await startSpanReceiver();
    try {
      const b = new SpanBatcher();
      b.setExporters([new HttpSpanExporter('zipkin', `http://127.0.0.1:${receiver.port}/api/v2/spans`)]);
      const s = span('details.default.svc.cluster.local:9080/*');
      b.add(s);
      await b.close();
      assert.deepEqual(receiver.zipkin, [
        {
          traceId: s.traceId,
          id: s.id,
          name: s.name,
          kind: 'CLIENT',
          timestamp: s.timestampUs,
          duration: 1500,
          localEndpoint: { serviceName: 'productpage.default' },
          tags: { 'http.method': 'GET' },
          remoteEndpoint: { ipv4: '10.0.0.7', port: 9080 },
        },
      ]);
    } finally {
      await receiver.close();
    }
  });

  test('an endpoint answering an error counts as a failure', async () => {
    const receiver = await startSpanReceiver();
    try {
      const b = new SpanBatcher();
      b.setExporters([new HttpSpanExporter('zipkin', `http://127.0.0.1:${receiver.port}/wrong/path`)]);
      b.add(span('x'));
      await b.close();
      assert.equal(b.failed, 1);
      assert.equal(b.exported, 0);
    } finally {
      await receiver.close();
    }
  });
});
