/**
 * Per-request decisions of a route: fault injection with Istio's percentage semantics, request
 * mirroring, and CORS preflight / response headers as Envoy's CORS filter produces them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CorsPolicy, FaultInjection, MirrorPolicy, Route } from '../../../src/snapshot/index.js';
import { shadowAuthority, type SelectedRoute } from '../../../src/proxy/http/route/selected.js';
import { compile, oneHost, request, seeded, sequence, type RequestInit } from './helpers.js';

function only(route: Partial<Route>, init: RequestInit = {}): SelectedRoute {
  const t = compile(oneHost([{ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: 'c', weight: 1 }] }, ...route }]));
  const sel = t.select(request(init));
  assert.ok(sel);
  return sel;
}

function countFaults(fault: FaultInjection, n: number, seed: number): { delayed: number; aborted: number; both: number } {
  const sel = only({ fault });
  const random = seeded(seed);
  let delayed = 0;
  let aborted = 0;
  let both = 0;
  for (let i = 0; i < n; i++) {
    const f = sel.faultFor(random);
    if (f === null) continue;
    if (f.delayMs > 0) delayed++;
    if (f.abort) aborted++;
    if (f.delayMs > 0 && f.abort) both++;
  }
  return { delayed, aborted, both };
}

function assertNear(observed: number, n: number, p: number, what: string): void {
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(observed - n * p) <= 4 * sd, `${what}: ${observed} of ${n}, expected about ${n * p}`);
}

describe('fault injection', () => {
  test('delay at 100 % (bookinfo ratings-test-delay: 7s)', () => {
    const f = only({ fault: { delay: { fixedDelayMs: 7000, percent: 100 } } }).faultFor(Math.random);
    assert.deepEqual(f, { delayMs: 7000, abort: null });
  });

  test('abort at 100 % with an HTTP status (ratings-test-abort: 500)', () => {
    const f = only({ fault: { abort: { httpStatus: 500, percent: 100 } } }).faultFor(Math.random);
    assert.deepEqual(f, { delayMs: 0, abort: { httpStatus: 500 } });
  });

  test('abort with a gRPC status answers HTTP 200 carrying the gRPC code', () => {
    const f = only({ fault: { abort: { grpcStatus: 'UNAVAILABLE', percent: 100 } } }).faultFor(Math.random);
    assert.deepEqual(f, { delayMs: 0, abort: { httpStatus: 200, grpcStatus: 14 } });
  });

  test('unset percentage: no request is delayed or aborted (Istio API)', () => {
    const r = countFaults({ delay: { fixedDelayMs: 100 }, abort: { httpStatus: 503 } }, 2000, 1);
    assert.deepEqual(r, { delayed: 0, aborted: 0, both: 0 });
  });

  test('percentage 0: never', () => {
    const r = countFaults({ delay: { fixedDelayMs: 100, percent: 0 }, abort: { httpStatus: 503, percent: 0 } }, 2000, 2);
    assert.deepEqual(r, { delayed: 0, aborted: 0, both: 0 });
  });

  test('delay and abort at 100 % both apply', () => {
    assert.deepEqual(only({ fault: { delay: { fixedDelayMs: 5, percent: 100 }, abort: { httpStatus: 555, percent: 100 } } }).faultFor(Math.random), {
      delayMs: 5,
      abort: { httpStatus: 555 },
    });
  });

  const N = 100_000;
  test(`50 % abort over ${N} seeded requests`, () => assertNear(countFaults({ abort: { httpStatus: 500, percent: 50 } }, N, 3).aborted, N, 0.5, 'aborted'));
  test(`fractional 0.1 % delay over ${N} seeded requests`, () => assertNear(countFaults({ delay: { fixedDelayMs: 1, percent: 0.1 } }, N, 4).delayed, N, 0.001, 'delayed'));
  test('delay and abort are drawn independently (50 % × 50 % ≈ 25 % both)', () => {
    const r = countFaults({ delay: { fixedDelayMs: 1, percent: 50 }, abort: { httpStatus: 500, percent: 50 } }, N, 5);
    assertNear(r.delayed, N, 0.5, 'delayed');
    assertNear(r.aborted, N, 0.5, 'aborted');
    assertNear(r.both, N, 0.25, 'both');
  });

  test('percent has per-million precision (random below 10 % fires, at 10 % does not)', () => {
    const sel = only({ fault: { abort: { httpStatus: 500, percent: 10 } } });
    assert.notEqual(sel.faultFor(sequence(0.0999989)), null);
    assert.equal(sel.faultFor(sequence(0.1)), null);
  });

  test('no fault configured → null', () => assert.equal(only({}).faultFor(Math.random), null));

  test('fault applies to redirect and direct-response routes too', () => {
    const t = compile(oneHost([{ name: 'r', match: [], action: { type: 'direct', status: 200 }, fault: { abort: { httpStatus: 418, percent: 100 } } }]));
    assert.deepEqual(t.select(request())!.faultFor(Math.random)?.abort, { httpStatus: 418 });
  });

  test('keyed on a header, only the matching user is faulted (ratings-test-delay)', () => {
    const t = compile(
      oneHost([
        { name: 'jason', match: [{ headers: { 'end-user': { exact: 'jason' } } }], action: { type: 'route', destinations: [{ cluster: 'v1', weight: 1 }] }, fault: { delay: { fixedDelayMs: 7000, percent: 100 } } },
        { name: 'rest', match: [], action: { type: 'route', destinations: [{ cluster: 'v1', weight: 1 }] } },
      ]),
    );
    assert.equal(t.select(request({ headers: { 'end-user': 'jason' } }))!.faultFor(Math.random)?.delayMs, 7000);
    assert.equal(t.select(request({ headers: { 'end-user': 'alice' } }))!.faultFor(Math.random), null);
  });
});

describe('mirroring', () => {
  function mirrors(ms: MirrorPolicy[]): SelectedRoute {
    const t = compile(oneHost([{ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: 'v1', weight: 1 }], mirrors: ms } }]));
    return t.select(request())!;
  }

  test('no percentage = 100 %', () => {
    const sel = mirrors([{ cluster: 'v2' }]);
    for (let i = 0; i < 100; i++) assert.deepEqual(sel.mirrorsFor(Math.random), ['v2']);
  });

  test('percentage 0 never mirrors', () => {
    const sel = mirrors([{ cluster: 'v2', percent: 0 }]);
    for (let i = 0; i < 100; i++) assert.deepEqual(sel.mirrorsFor(Math.random), []);
  });

  test('25 % over 10000 seeded requests; several mirrors drawn independently', () => {
    const sel = mirrors([{ cluster: 'a', percent: 25 }, { cluster: 'b', percent: 100 }]);
    const random = seeded(9);
    let a = 0;
    for (let i = 0; i < 10_000; i++) {
      const m = sel.mirrorsFor(random);
      assert.ok(m.includes('b'));
      if (m.includes('a')) a++;
    }
    assertNear(a, 10_000, 0.25, 'mirrored to a');
  });

  test('a route without mirrors returns the shared empty list', () => {
    const sel = only({});
    assert.equal(sel.mirrorsFor(Math.random), sel.mirrorsFor(Math.random));
    assert.equal(sel.mirrorsFor(Math.random).length, 0);
  });

  test('mirrored authority gets the -shadow suffix before the port', () => {
    assert.equal(shadowAuthority('httpbin:8000'), 'httpbin-shadow:8000');
    assert.equal(shadowAuthority('httpbin'), 'httpbin-shadow');
    assert.equal(shadowAuthority('[fd00::1]:80'), '[fd00::1]-shadow:80');
  });
});

describe('CORS', () => {
  const policy: CorsPolicy = {
    allowOrigins: [{ exact: 'https://example.com' }, { regex: 'https://.*\\.trusted\\.io' }],
    allowMethods: ['GET', 'POST'],
    allowHeaders: ['x-a', 'x-b'],
    exposeHeaders: ['x-c'],
    maxAgeSeconds: 86400,
    allowCredentials: true,
  };
  const preflight = (origin: string, extra: Record<string, string> = {}): RequestInit => ({
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', ...extra },
  });

  test('preflight from an allowed origin is answered locally', () => {
    const req = request(preflight('https://example.com'));
    assert.deepEqual(only({ cors: policy }).corsPreflight(req), {
      status: 200,
      headers: [
        ['access-control-allow-origin', 'https://example.com'],
        ['access-control-allow-credentials', 'true'],
        ['access-control-allow-methods', 'GET,POST'],
        ['access-control-allow-headers', 'x-a,x-b'],
        ['access-control-max-age', '86400'],
      ],
    });
  });

  test('regex origin', () => {
    const r = only({ cors: policy }).corsPreflight(request(preflight('https://app.trusted.io')));
    assert.equal(r?.headers[0]?.[1], 'https://app.trusted.io');
  });

  test('preflight from another origin is forwarded by default (unmatchedPreflights FORWARD)', () => {
    assert.equal(only({ cors: policy }).corsPreflight(request(preflight('https://evil.com'))), null);
  });

  test('unmatchedPreflights IGNORE answers without allow-origin', () => {
    const r = only({ cors: { ...policy, unmatchedPreflights: 'IGNORE' } }).corsPreflight(request(preflight('https://evil.com')));
    assert.equal(r?.status, 200);
    assert.ok(r);
    assert.equal(r.headers.find(([n]) => n === 'access-control-allow-origin'), undefined);
  });

  test('OPTIONS without access-control-request-method is not a preflight', () => {
    assert.equal(only({ cors: policy }).corsPreflight(request({ method: 'OPTIONS', headers: { origin: 'https://example.com' } })), null);
  });

  test('actual request from an allowed origin: allow-origin, credentials, expose headers', () => {
    const sel = only({ cors: policy });
    const req = request({ method: 'POST', headers: { origin: 'https://example.com' } });
    assert.equal(sel.corsPreflight(req), null);
    assert.deepEqual(sel.corsResponseHeaders(req), [
      ['access-control-allow-origin', 'https://example.com'],
      ['access-control-allow-credentials', 'true'],
      ['access-control-expose-headers', 'x-c'],
    ]);
  });

  test('actual request from another origin or without Origin: no CORS headers', () => {
    const sel = only({ cors: policy });
    assert.equal(sel.corsResponseHeaders(request({ headers: { origin: 'https://evil.com' } })), null);
    assert.equal(sel.corsResponseHeaders(request()), null);
  });

  test('allowOrigins exact "*" allows any origin and echoes it', () => {
    const sel = only({ cors: { allowOrigins: [{ exact: '*' }] } });
    assert.deepEqual(sel.corsResponseHeaders(request({ headers: { origin: 'https://any.org' } })), [['access-control-allow-origin', 'https://any.org']]);
  });

  test('allowMethods / allowHeaders "*" echo the preflight request', () => {
    const sel = only({ cors: { allowOrigins: [{ prefix: 'https://' }], allowMethods: ['*'], allowHeaders: ['*'] } });
    const r = sel.corsPreflight(request(preflight('https://a.org', { 'access-control-request-headers': 'x-custom' })));
    assert.deepEqual(r?.headers, [
      ['access-control-allow-origin', 'https://a.org'],
      ['access-control-allow-methods', 'POST'],
      ['access-control-allow-headers', 'x-custom'],
    ]);
  });

  test('no policy → nothing', () => {
    const sel = only({});
    assert.equal(sel.corsPreflight(request(preflight('https://example.com'))), null);
    assert.equal(sel.corsResponseHeaders(request({ headers: { origin: 'https://example.com' } })), null);
  });
});
