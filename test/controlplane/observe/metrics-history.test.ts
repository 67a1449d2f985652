/**
 * Figures over a window from successive readings of a proxy's counters: differences against the
 * reading from before the window, zero baselines for proxies that started within it, counter
 * resets, and latency percentiles from histogram buckets.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyHistory, parseLabels, quantile, readingOf } from '../../../src/controlplane/observe/metrics-history.js';
import type { WindowTotals } from '../../../src/controlplane/observe/metrics-history.js';

const L = 'reporter="destination",source_workload="a"';

function dump(requests: number, buckets: number[] = [requests]): unknown {
  return { http: [{ labels: L, requests, h: [[buckets, 0, requests], [[], 0, 0], [[], 0, 0]] }], tcp: [{ labels: 'reporter="destination"', opened: requests, closed: 0, sent: 10 * requests, received: 0 }] };
}

function totals(): WindowTotals {
  return { http: new Map(), tcp: new Map(), newest: 0 };
}

describe('ProxyHistory', () => {
  test('a window is the difference from the last reading before it began', () => {
    const h = new ProxyHistory(0);
    h.add(readingOf(dump(10), 1_000), 600_000);
    h.add(readingOf(dump(25), 61_000), 600_000);
    h.add(readingOf(dump(40), 121_000), 600_000);
    const t = totals();
    h.addWindow(60_000, 121_000, t);
    assert.equal(t.http.get(L)?.requests, 15);
    assert.equal(t.tcp.get('reporter="destination"')?.bytes, 150);
    assert.equal(t.newest, 121_000);
    // Longer than the history: counted from zero (the proxy started within the window).
    const all = totals();
    h.addWindow(600_000, 121_000, all);
    assert.equal(all.http.get(L)?.requests, 40);
  });

  test('a counter that went down (restarted proxy) counts its new value; stale proxies count nothing', () => {
    const h = new ProxyHistory(0);
    h.add(readingOf(dump(50), 0), 600_000);
    h.add(readingOf(dump(7), 30_000), 600_000);
    const t = totals();
    h.addWindow(20_000, 30_000, t);
    assert.equal(t.http.get(L)?.requests, 7);
    const later = totals();
    h.addWindow(20_000, 100_000, later);
    assert.equal(later.http.size, 0);
  });

  test('history older than the longest window is dropped, keeping one baseline', () => {
    const h = new ProxyHistory(0);
    for (let i = 0; i <= 10; i++) h.add(readingOf(dump(i * 10), i * 1000), 3000);
    const t = totals();
    h.addWindow(3000, 10_000, t);
    assert.equal(t.http.get(L)?.requests, 30);
  });

  test('malformed dump entries are skipped', () => {
    const r = readingOf({ http: [{ labels: 1 }, null, { labels: L, requests: 1, h: [[[1], 0, 1]] }], tcp: 'x' }, 0);
    assert.equal(r.http.size, 1);
    assert.equal(r.tcp.size, 0);
  });
});

describe('quantile and labels', () => {
  test('interpolates inside the bucket as histogram_quantile does', () => {
    const bounds = [10, 100, 1000];
    assert.equal(quantile(0.5, bounds, [0, 10, 0, 0]), 55);
    assert.equal(quantile(0.99, bounds, [100, 0, 0, 0]), 9.9);
    assert.equal(quantile(0.99, bounds, [0, 0, 0, 5]), 1000);
    assert.equal(quantile(0.5, bounds, [0, 0, 0, 0]), null);
  });

  test('parses Prometheus label text with escapes', () => {
    assert.deepEqual(parseLabels('a="x",b="say \\"hi\\"",c="back\\\\slash",d=""'), { a: 'x', b: 'say "hi"', c: 'back\\slash', d: '' });
  });
});
