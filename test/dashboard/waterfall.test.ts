/**
 * The waterfall's span tree (`treeOrder` of the browser module `src/dashboard/ui/traces.js`, loaded
 * here as the plain ES module it is): children under their parent in start order, B3 shared span
 * ids, spans whose parent never arrived, and parent cycles that must not hang the page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TraceSpan } from '../../src/dashboard/sources.js';

interface Row {
  span: TraceSpan;
  depth: number;
}

// The browser modules are served from the source tree, not compiled; this file runs from dist/test/dashboard/.
const { treeOrder } = (await import(new URL('../../../src/dashboard/ui/traces.js', import.meta.url).href)) as { treeOrder: (spans: TraceSpan[]) => Row[] };

function span(id: string, parentId: string | undefined, serviceName: string, kind: TraceSpan['kind'], start: number): TraceSpan {
  return { traceId: 't1', id, ...(parentId !== undefined ? { parentId } : {}), name: serviceName, kind, serviceName, timestampUs: start, durationUs: 10, error: false, tags: {} };
}

const outline = (rows: Row[]): string[] => rows.map((r) => `${'  '.repeat(r.depth)}${r.span.serviceName} ${r.span.kind}`);

test('children sit under their parent, in start order, whatever order the spans arrived in', () => {
  const spans = [
    span('4', '3', 'details', 'SERVER', 3),
    span('6', '5', 'reviews', 'SERVER', 6),
    span('1', undefined, 'gateway', 'CLIENT', 0),
    span('5', '2', 'productpage', 'CLIENT', 5),
    span('2', '1', 'productpage', 'SERVER', 1),
    span('3', '2', 'productpage', 'CLIENT', 2),
  ];
  assert.deepEqual(outline(treeOrder(spans)), [
    'gateway CLIENT',
    '  productpage SERVER',
    '    productpage CLIENT',
    '      details SERVER',
    '    productpage CLIENT',
    '      reviews SERVER',
  ]);
});

test('B3 shared span ids: the server half nests under the client half, and calls it makes under the server half', () => {
  const spans = [span('a', undefined, 'productpage', 'CLIENT', 0), span('a', undefined, 'reviews', 'SERVER', 1), span('b', 'a', 'reviews', 'CLIENT', 2)];
  assert.deepEqual(outline(treeOrder(spans)), ['productpage CLIENT', '  reviews SERVER', '    reviews CLIENT']);
});

test('a span whose parent is missing is shown at the top level; a parent cycle still shows every span once', () => {
  assert.deepEqual(outline(treeOrder([span('2', 'gone', 'details', 'SERVER', 1), span('1', undefined, 'gateway', 'CLIENT', 0)])), ['gateway CLIENT', 'details SERVER']);
  const cycle = treeOrder([span('x', 'y', 'a', 'SERVER', 0), span('y', 'x', 'b', 'SERVER', 1)]);
  assert.deepEqual(cycle.map((r) => r.span.id).sort(), ['x', 'y']);
});
