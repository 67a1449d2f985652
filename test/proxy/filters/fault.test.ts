/**
 * The fault filter: Istio's percentage semantics for delays and aborts (drawn through a compiled
 * route, as the proxy compiles it), and the verdicts the request path acts on — go on, abort with
 * Envoy's text, or wait out the delay on the clock (flag DI), cancelled when the client leaves.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FaultInjection } from '../../../src/snapshot/index.js';
import { compileFault } from '../../../src/proxy/filters/fault/fault.js';
import type { HttpVerdict } from '../../../src/proxy/filters/http-filter.js';
import { CONTINUE, type Wait } from '../../../src/proxy/filters/verdict.js';
import { ResponseFlag } from '../../../src/telemetry/response-flags.js';
import { compile, oneHost, request, seeded, sequence } from '../route/helpers.js';
import { assertNear, faultOf, filterRequest, only } from './helpers.js';

function countFaults(fault: FaultInjection, n: number, seed: number): { delayed: number; aborted: number; both: number } {
  const sel = only({ fault });
  const random = seeded(seed);
  let delayed = 0;
  let aborted = 0;
  let both = 0;
  for (let i = 0; i < n; i++) {
    const f = faultOf(sel, random);
    if (f === null) continue;
    if (f.delayMs > 0) delayed++;
    if (f.abort) aborted++;
    if (f.delayMs > 0 && f.abort) both++;
  }
  return { delayed, aborted, both };
}

describe('fault injection', () => {
  test('delay at 100 % (bookinfo ratings-test-delay: 7s)', () => {
    const f = faultOf(only({ fault: { delay: { fixedDelayMs: 7000, percent: 100 } } }), Math.random);
    assert.deepEqual(f, { delayMs: 7000, abort: null });
  });

  test('abort at 100 % with an HTTP status (ratings-test-abort: 500)', () => {
    const f = faultOf(only({ fault: { abort: { httpStatus: 500, percent: 100 } } }), Math.random);
    assert.deepEqual(f, { delayMs: 0, abort: { httpStatus: 500 } });
  });

  test('abort with a gRPC status answers HTTP 200 carrying the gRPC code', () => {
    const f = faultOf(only({ fault: { abort: { grpcStatus: 'UNAVAILABLE', percent: 100 } } }), Math.random);
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
    assert.deepEqual(faultOf(only({ fault: { delay: { fixedDelayMs: 5, percent: 100 }, abort: { httpStatus: 555, percent: 100 } } }), Math.random), {
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
    assert.notEqual(faultOf(sel, sequence(0.0999989)), null);
    assert.equal(faultOf(sel, sequence(0.1)), null);
  });

  test('no fault configured → null', () => assert.equal(faultOf(only({}), Math.random), null));

  test('fault applies to redirect and direct-response routes too', () => {
    const t = compile(oneHost([{ name: 'r', match: [], action: { type: 'direct', status: 200 }, fault: { abort: { httpStatus: 418, percent: 100 } } }]));
    assert.deepEqual(faultOf(t.select(request())!, Math.random)?.abort, { httpStatus: 418 });
  });

  test('keyed on a header, only the matching user is faulted (ratings-test-delay)', () => {
    const t = compile(
      oneHost([
        { name: 'jason', match: [{ headers: { 'end-user': { exact: 'jason' } } }], action: { type: 'route', destinations: [{ cluster: 'v1', weight: 1 }] }, fault: { delay: { fixedDelayMs: 7000, percent: 100 } } },
        { name: 'rest', match: [], action: { type: 'route', destinations: [{ cluster: 'v1', weight: 1 }] } },
      ]),
    );
    assert.equal(faultOf(t.select(request({ headers: { 'end-user': 'jason' } }))!, Math.random)?.delayMs, 7000);
    assert.equal(faultOf(t.select(request({ headers: { 'end-user': 'alice' } }))!, Math.random), null);
  });
});


describe('fault filter verdicts', () => {
  const filter = (f: FaultInjection) => {
    const compiled = compileFault(f, 'fault');
    assert.ok(compiled);
    return compiled;
  };

  test('nothing drawn: go on, the shared CONTINUE', () => {
    assert.equal(filter({ abort: { httpStatus: 500, percent: 10 } }).decide(filterRequest({ random: sequence(0.5) })), CONTINUE);
  });

  test('an abort answers with the status, Envoy text and flag FI', () => {
    assert.deepEqual(filter({ abort: { httpStatus: 503, percent: 100 } }).decide(filterRequest()), {
      kind: 'reply',
      status: 503,
      body: 'fault filter abort',
      headers: null,
      flags: ResponseFlag.FI,
      details: 'fault_filter_abort',
    });
  });

  test('a gRPC abort is a trailers-only answer: HTTP 200 carrying grpc-status', () => {
    const v = filter({ abort: { grpcStatus: 'NOT_FOUND', percent: 100 } }).decide(filterRequest());
    assert.equal(v.kind, 'reply');
    assert.deepEqual(v.kind === 'reply' && v.headers, [
      ['content-type', 'application/grpc'],
      ['grpc-status', '5'],
      ['grpc-message', 'fault filter abort'],
    ]);
  });

  test('the same abort answer object serves every request (built at compile time)', () => {
    const f = filter({ abort: { httpStatus: 500, percent: 100 } });
    assert.equal(f.decide(filterRequest()), f.decide(filterRequest()));
  });

  test('a delay waits on the clock with flag DI, then goes on', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const v = filter({ delay: { fixedDelayMs: 200, percent: 100 } }).decide(filterRequest());
    assert.equal(v.kind, 'wait');
    assert.equal(v.flags, ResponseFlag.DI);
    const seen: HttpVerdict[] = [];
    v.start((r) => seen.push(r));
    t.mock.timers.tick(199);
    assert.deepEqual(seen, []);
    t.mock.timers.tick(1);
    assert.deepEqual(seen, [CONTINUE]);
  });

  test('a delay and an abort: the abort answers when the delay ends', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const w = filter({ delay: { fixedDelayMs: 50, percent: 100 }, abort: { httpStatus: 418, percent: 100 } }).decide(filterRequest()) as Wait<HttpVerdict>;
    let seen: HttpVerdict | null = null;
    w.start((r) => (seen = r));
    t.mock.timers.tick(50);
    assert.equal((seen as HttpVerdict | null)?.kind, 'reply');
    assert.equal((seen as { status?: number } | null)?.status, 418);
  });

  test('a cancelled delay never resumes (its timer is cleared)', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const w = filter({ delay: { fixedDelayMs: 50, percent: 100 } }).decide(filterRequest()) as Wait<HttpVerdict>;
    let resumed = false;
    const cancel = w.start(() => (resumed = true));
    cancel();
    t.mock.timers.tick(1000);
    assert.equal(resumed, false);
  });

  test('bad config names the field', () => {
    assert.throws(() => compileFault({ delay: { fixedDelayMs: -1, percent: 100 } }, 'routes[0].fault'), /routes\[0\]\.fault\.delay\.fixedDelayMs/);
    assert.throws(() => compileFault({ abort: { httpStatus: 700, percent: 100 } }, 'routes[0].fault'), /routes\[0\]\.fault\.abort\.httpStatus/);
    assert.throws(() => compileFault({ abort: { httpStatus: 500, percent: 101 } }, 'routes[0].fault'), /routes\[0\]\.fault\.abort\.percent/);
  });
});
