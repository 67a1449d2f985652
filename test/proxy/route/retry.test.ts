/**
 * Compiled retry policies: Envoy's retry conditions for responses and failures, and the jittered
 * exponential backoff.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CompiledRetryPolicy, type RetryOutcome } from '../../../src/proxy/http/route/retry.js';
import { ISTIO_DEFAULT_RETRY_POLICY, type RetryOn, type RetryPolicy } from '../../../src/snapshot/index.js';
import { Headers, sequence } from './helpers.js';

describe('shouldRetry', () => {
  const policy = (retryOn: RetryOn[], retriableStatusCodes: number[] = []): CompiledRetryPolicy =>
    new CompiledRetryPolicy({ attempts: 2, retryOn, retriableStatusCodes, backoffBaseMs: 25 }, 'retry');
  const cases: [string, RetryOn[], number[], RetryOutcome, number | undefined, boolean][] = [
    ['5xx: 500', ['5xx'], [], 500, undefined, true],
    ['5xx: 503', ['5xx'], [], 503, undefined, true],
    ['5xx: 404', ['5xx'], [], 404, undefined, false],
    ['5xx: reset', ['5xx'], [], 'reset', undefined, true],
    ['5xx: connect-failure', ['5xx'], [], 'connect-failure', undefined, true],
    ['5xx: overflow is never retried', ['5xx'], [], 'overflow', undefined, false],
    ['gateway-error: 502', ['gateway-error'], [], 502, undefined, true],
    ['gateway-error: 504 (also a per-try timeout)', ['gateway-error'], [], 504, undefined, true],
    ['gateway-error: 500', ['gateway-error'], [], 500, undefined, false],
    ['gateway-error: reset', ['gateway-error'], [], 'reset', undefined, true],
    ['reset: reset', ['reset'], [], 'reset', undefined, true],
    ['reset: 503 response', ['reset'], [], 503, undefined, false],
    ['connect-failure: connect-failure', ['connect-failure'], [], 'connect-failure', undefined, true],
    ['connect-failure: reset', ['connect-failure'], [], 'reset', undefined, false],
    ['connect-failure: 503 response', ['connect-failure'], [], 503, undefined, false],
    ['refused-stream', ['refused-stream'], [], 'refused-stream', undefined, true],
    ['refused-stream: reset', ['refused-stream'], [], 'reset', undefined, false],
    ['reset-before-request: before', ['reset-before-request'], [], 'reset-before-request', undefined, true],
    ['reset-before-request: after', ['reset-before-request'], [], 'reset', undefined, false],
    ['retriable-4xx: 409', ['retriable-4xx'], [], 409, undefined, true],
    ['retriable-4xx: 404', ['retriable-4xx'], [], 404, undefined, false],
    ['retriable-status-codes: listed', ['retriable-status-codes'], [503, 429], 429, undefined, true],
    ['retriable-status-codes: not listed', ['retriable-status-codes'], [503], 500, undefined, false],
    ['status codes without the condition are inert', [], [503], 503, undefined, false],
    ['grpc unavailable', ['unavailable'], [], 200, 14, true],
    ['grpc cancelled', ['cancelled'], [], 200, 1, true],
    ['grpc deadline-exceeded', ['deadline-exceeded'], [], 200, 4, true],
    ['grpc resource-exhausted', ['resource-exhausted'], [], 200, 8, true],
    ['grpc internal', ['internal'], [], 200, 13, true],
    ['grpc status not configured', ['unavailable'], [], 200, 13, false],
    ['grpc status absent', ['unavailable'], [], 200, undefined, false],
  ];
  for (const [what, on, codes, outcome, grpc, want] of cases) {
    test(`${what} → ${want}`, () => assert.equal(policy(on, codes).shouldRetry(outcome, grpc), want));
  }

  test('x-envoy-ratelimited responses retry only under envoy-ratelimited', () => {
    const limited = new Headers({ 'x-envoy-ratelimited': 'true' });
    assert.equal(policy(['5xx']).shouldRetry(503, undefined, limited), false);
    assert.equal(policy(['envoy-ratelimited']).shouldRetry(429, undefined, limited), true);
  });

  test('Istio default policy: connection failures and gRPC unavailable, not 503', () => {
    const p = new CompiledRetryPolicy(ISTIO_DEFAULT_RETRY_POLICY, 'retry');
    assert.equal(p.shouldRetry('connect-failure'), true);
    assert.equal(p.shouldRetry('refused-stream'), true);
    assert.equal(p.shouldRetry('reset'), false);
    assert.equal(p.shouldRetry(503), false);
    assert.equal(p.shouldRetry(504), false, 'timeouts are not retried by default');
    assert.equal(p.shouldRetry(200, 14), true);
    assert.equal(p.retryIgnorePreviousHosts, true);
    assert.equal(p.perTryTimeoutMs, 0);
  });
});

describe('backoffMs', () => {
  const p = new CompiledRetryPolicy({ ...ISTIO_DEFAULT_RETRY_POLICY }, 'retry');
  const cases: [number, number][] = [
    [1, 25],
    [2, 50],
    [3, 100],
    [4, 200],
    [5, 250],
    [9, 250],
  ];
  for (const [retry, interval] of cases) {
    test(`retry ${retry}: uniform in [0, ${interval})`, () => {
      assert.equal(p.backoffMs(retry, sequence(0)), 0);
      assert.equal(p.backoffMs(retry, sequence(0.5)), Math.floor(interval / 2));
      assert.equal(p.backoffMs(retry, sequence(0.999999)), interval - 1);
    });
  }

  test('custom base and max', () => {
    const custom = new CompiledRetryPolicy({ attempts: 5, retryOn: ['5xx'], retriableStatusCodes: [], backoffBaseMs: 100, backoffMaxMs: 300 } satisfies RetryPolicy, 'retry');
    assert.equal(custom.backoffMs(1, sequence(0.999999)), 99);
    assert.equal(custom.backoffMs(2, sequence(0.999999)), 199);
    assert.equal(custom.backoffMs(3, sequence(0.999999)), 299);
  });
});
