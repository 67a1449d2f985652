/**
 * Forwarding actions: weighted destination picks, header operations per route and per
 * destination, authority rewrites, timeouts and retry defaults carried on the route.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteConfig, WeightedCluster } from '../../../src/snapshot/index.js';
import { ISTIO_DEFAULT_RETRY_POLICY } from '../../../src/snapshot/index.js';
import type { SelectedRoute } from '../../../src/proxy/http/route/selected.js';
import { compile, Headers, oneHost, request, seeded, sequence } from './helpers.js';

function routeTo(destinations: WeightedCluster[], extra: Partial<RouteConfig['virtualHosts'][number]['routes'][number]> = {}): SelectedRoute {
  const table = compile(oneHost([{ name: 'r', match: [], action: { type: 'route', destinations }, ...extra }]));
  const sel = table.select(request());
  assert.ok(sel);
  return sel;
}

function counts(sel: SelectedRoute, n: number, seed: number): Record<string, number> {
  const random = seeded(seed);
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const c = sel.pickDestination(random)!.cluster;
    out[c] = (out[c] ?? 0) + 1;
  }
  return out;
}

/** |observed − n·p| within 4 standard deviations of a binomial. */
function assertNear(observed: number, n: number, p: number, what: string): void {
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(observed - n * p) <= 4 * sd, `${what}: ${observed} of ${n}, expected about ${n * p} (±${Math.round(4 * sd)})`);
}

describe('weighted destinations', () => {
  const N = 10_000;
  const cases: [string, WeightedCluster[], Record<string, number>][] = [
    ['80/20', [{ cluster: 'v1', weight: 80 }, { cluster: 'v2', weight: 20 }], { v1: 0.8, v2: 0.2 }],
    ['50/50', [{ cluster: 'v1', weight: 50 }, { cluster: 'v3', weight: 50 }], { v1: 0.5, v3: 0.5 }],
    ['weights need not sum to 100 (1:3)', [{ cluster: 'a', weight: 1 }, { cluster: 'b', weight: 3 }], { a: 0.25, b: 0.75 }],
    ['three ways 50/30/20', [{ cluster: 'a', weight: 50 }, { cluster: 'b', weight: 30 }, { cluster: 'c', weight: 20 }], { a: 0.5, b: 0.3, c: 0.2 }],
    ['weight 0 gets nothing', [{ cluster: 'a', weight: 0 }, { cluster: 'b', weight: 10 }], { b: 1 }],
    ['single destination gets all, whatever its weight', [{ cluster: 'only', weight: 0 }], { only: 1 }],
    ['single destination with weight 20', [{ cluster: 'only', weight: 20 }], { only: 1 }],
  ];
  for (const [what, dests, expected] of cases) {
    test(`${what} over ${N} seeded picks`, () => {
      const got = counts(routeTo(dests), N, 42);
      assert.deepEqual(Object.keys(got).sort(), Object.keys(expected).sort());
      for (const [cluster, p] of Object.entries(expected)) {
        if (p === 1) assert.equal(got[cluster], N);
        else assertNear(got[cluster] ?? 0, N, p, cluster);
      }
    });
  }

  test('pick walks destinations in order over [0, total)', () => {
    const sel = routeTo([{ cluster: 'v1', weight: 80 }, { cluster: 'v2', weight: 20 }]);
    assert.equal(sel.pickDestination(sequence(0))!.cluster, 'v1');
    assert.equal(sel.pickDestination(sequence(0.7999))!.cluster, 'v1');
    assert.equal(sel.pickDestination(sequence(0.8))!.cluster, 'v2');
    assert.equal(sel.pickDestination(sequence(0.99999))!.cluster, 'v2');
  });

  test('weight-0 destinations are left out of the compiled route', () => {
    const sel = routeTo([{ cluster: 'a', weight: 0 }, { cluster: 'b', weight: 1 }]);
    assert.deepEqual(sel.destinations.map((d) => d.cluster), ['b']);
  });

  test('redirects and direct responses have no destination', () => {
    const t = compile(oneHost([{ name: 'd', match: [], action: { type: 'direct', status: 204 } }]));
    const sel = t.select(request())!;
    assert.equal(sel.kind, 'direct');
    assert.equal(sel.pickDestination(Math.random), null);
    assert.equal(sel.directStatus, 204);
  });
});

describe('header operations', () => {
  test('route-level set/add/remove on request and response', () => {
    const sel = routeTo([{ cluster: 'c', weight: 1 }], {
      requestHeaders: { set: { 'X-Env': 'prod' }, add: { 'x-tag': 'b' }, remove: ['X-Secret'] },
      responseHeaders: { set: { server: 'skiff' }, remove: ['x-internal'] },
    });
    const h = new Headers({ 'x-env': 'dev', 'x-tag': 'a', 'x-secret': 's', 'x-keep': 'k' });
    sel.headerOperations(sel.pickDestination(Math.random)).applyRequest(h);
    assert.deepEqual(h.toObject(), { 'x-env': ['prod'], 'x-keep': ['k'], 'x-tag': ['a', 'b'] });
    const resp = new Headers({ server: 'app', 'x-internal': '1' });
    sel.headerOperations(sel.pickDestination(Math.random)).applyResponse(resp);
    assert.deepEqual(resp.toObject(), { server: ['skiff'] });
  });

  test('removal happens before set/add of the same level', () => {
    const sel = routeTo([{ cluster: 'c', weight: 1 }], { requestHeaders: { remove: ['x-a'], add: { 'x-a': 'new' } } });
    const h = new Headers({ 'x-a': 'old' });
    sel.headerOperations(sel.destinations[0]).applyRequest(h);
    assert.deepEqual(h.toObject(), { 'x-a': ['new'] });
  });

  test('single destination: its set wins over the route set (folded after it)', () => {
    const sel = routeTo([{ cluster: 'c', weight: 1, requestHeaders: { set: { 'x-who': 'dest' } } }], {
      requestHeaders: { set: { 'x-who': 'route' } },
    });
    const h = new Headers();
    sel.headerOperations(sel.destinations[0]).applyRequest(h);
    assert.deepEqual(h.toObject(), { 'x-who': ['dest'] });
  });

  test('weighted destinations: destination level first, then the route level', () => {
    const sel = routeTo(
      [
        { cluster: 'a', weight: 1, requestHeaders: { set: { 'x-who': 'a' }, add: { 'x-dest': 'a' } } },
        { cluster: 'b', weight: 1, responseHeaders: { add: { 'x-served-by': 'b' } } },
      ],
      { requestHeaders: { set: { 'x-who': 'route' } } },
    );
    const [a, b] = sel.destinations;
    const h = new Headers();
    sel.headerOperations(a).applyRequest(h);
    assert.deepEqual(h.toObject(), { 'x-dest': ['a'], 'x-who': ['route'] });
    const r = new Headers();
    sel.headerOperations(b).applyResponse(r);
    assert.deepEqual(r.toObject(), { 'x-served-by': ['b'] });
    const ra = new Headers();
    sel.headerOperations(a).applyResponse(ra);
    assert.deepEqual(ra.toObject(), {});
  });

  test('host / :authority in header ops become an authority rewrite, not a header', () => {
    const sel = routeTo([{ cluster: 'c', weight: 1 }], { requestHeaders: { set: { host: 'internal.svc' }, remove: ['host'] } });
    const h = new Headers({ host: 'reviews' });
    sel.headerOperations(sel.destinations[0]).applyRequest(h);
    assert.deepEqual(h.toObject(), { host: ['reviews'] });
    assert.equal(sel.rewriteAuthority('reviews:9080', sel.destinations[0]), 'internal.svc');
  });
});

describe('authority rewrite', () => {
  test('rewrite.authority', () => {
    const t = compile(oneHost([{ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: 'c', weight: 1 }], rewrite: { authority: 'ratings.prod' } } }]));
    const sel = t.select(request())!;
    assert.equal(sel.rewriteAuthority('ratings:9080', sel.pickDestination(Math.random)), 'ratings.prod');
  });

  test('no rewrite keeps the authority', () => {
    const sel = routeTo([{ cluster: 'c', weight: 1 }]);
    assert.equal(sel.rewriteAuthority('ratings:9080', sel.destinations[0]), 'ratings:9080');
  });

  test('per-destination authority applies when the route sets none; the route-level one wins otherwise', () => {
    const dests: WeightedCluster[] = [
      { cluster: 'a', weight: 1, requestHeaders: { set: { ':authority': 'a.internal' } } },
      { cluster: 'b', weight: 1 },
    ];
    const sel = routeTo(dests);
    assert.equal(sel.rewriteAuthority('x', sel.destinations[0]), 'a.internal');
    assert.equal(sel.rewriteAuthority('x', sel.destinations[1]), 'x');
    const withRoute = compile(oneHost([{ name: 'r', match: [], action: { type: 'route', destinations: dests, rewrite: { authority: 'route.internal' } } }])).select(request())!;
    assert.equal(withRoute.rewriteAuthority('x', withRoute.destinations[0]), 'route.internal');
  });
});

describe('timeouts and retries on the route', () => {
  test('no timeout by default (Istio disables the route timeout)', () => {
    assert.equal(routeTo([{ cluster: 'c', weight: 1 }]).timeoutMs, 0);
  });

  test('timeout carried in ms', () => {
    const t = compile(oneHost([{ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: 'c', weight: 1 }], timeoutMs: 500 } }]));
    assert.equal(t.select(request())!.timeoutMs, 500);
  });

  test('no retry policy in the snapshot → no retries; Istio default policy → 2 retries', () => {
    assert.equal(routeTo([{ cluster: 'c', weight: 1 }]).retry, null);
    const t = compile(oneHost([{ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: 'c', weight: 1 }], retry: ISTIO_DEFAULT_RETRY_POLICY } }]));
    const retry = t.select(request())!.retry!;
    assert.equal(retry.attempts, 2);
    assert.equal(retry.shouldRetry('connect-failure'), true);
    assert.equal(retry.shouldRetry(503), false, '503 is not in the defaults since Istio 1.23');
  });

  test('attempts 0 disables retries', () => {
    const t = compile(oneHost([{ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: 'c', weight: 1 }], retry: { ...ISTIO_DEFAULT_RETRY_POLICY, attempts: 0 } } }]));
    assert.equal(t.select(request())!.retry, null);
  });
});
