/**
 * Applying a delta to the snapshot it was computed against: items and virtual hosts replaced by
 * position, the base untouched, and a delta that does not fit refused with the path of the misfit.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DeltaError, applyDelta } from '../../src/snapshot/index.js';

describe('applyDelta', () => {
  const base = { version: 'a', node: { id: 'x' }, clusters: [{ name: 'c0', n: 1 }, { name: 'c1', n: 1 }], routes: [{ name: 'r', virtualHosts: [{ name: 'h0' }, { name: 'h1' }] }] };

  test('replaces items and virtual hosts by position without touching the base', () => {
    const copy = JSON.parse(JSON.stringify(base)) as unknown;
    const out = applyDelta(base, { items: { clusters: { '1': { name: 'c1', n: 2 } } }, virtualHosts: { '0': { '1': { name: 'h1', domains: ['*'] } } }, drop: ['node'] }, 'b');
    assert.deepEqual(out, { version: 'b', clusters: [{ name: 'c0', n: 1 }, { name: 'c1', n: 2 }], routes: [{ name: 'r', virtualHosts: [{ name: 'h0' }, { name: 'h1', domains: ['*'] }] }] });
    assert.deepEqual(base, copy);
  });

  test('refuses positions out of range and items under another name, naming where', () => {
    assert.throws(() => applyDelta(base, { items: { clusters: { '2': { name: 'c2' } } } }, 'b'), (e: unknown) => e instanceof DeltaError && e.path === 'delta.items.clusters.2');
    assert.throws(() => applyDelta(base, { items: { clusters: { '0': { name: 'other' } } } }, 'b'), (e: unknown) => e instanceof DeltaError && /keep their names/.test(e.reason));
    assert.throws(() => applyDelta(base, { virtualHosts: { '3': {} } }, 'b'), (e: unknown) => e instanceof DeltaError && e.path === 'delta.virtualHosts.3');
  });
});
