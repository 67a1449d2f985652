/**
 * Istio's `retries` in the snapshot's form: retryOn parsing and the policy Istio derives, defaults
 * included.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ISTIO_DEFAULT_RETRY_POLICY, RouteConfigError, parseRetryOn, retryPolicyFromIstio, type IstioRetry, type RetryOn } from '../../src/snapshot/index.js';

describe('parseRetryOn', () => {
  const cases: [string, RetryOn[], number[], string[]][] = [
    ['5xx', ['5xx'], [], []],
    ['gateway-error,connect-failure,refused-stream', ['gateway-error', 'connect-failure', 'refused-stream'], [], []],
    [' 5xx , reset ', ['5xx', 'reset'], [], []],
    ['503,reset', ['reset', 'retriable-status-codes'], [503], []],
    ['retriable-status-codes,503,504', ['retriable-status-codes'], [503, 504], []],
    ['cancelled,deadline-exceeded,internal,resource-exhausted,unavailable', ['cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'], [], []],
    ['retriable-4xx,,envoy-ratelimited', ['retriable-4xx', 'envoy-ratelimited'], [], []],
    ['599,5xx', ['5xx'], [], ['599']],
    ['bogus', [], [], ['bogus']],
  ];
  for (const [input, retryOn, codes, invalid] of cases) {
    test(JSON.stringify(input), () => assert.deepEqual(parseRetryOn(input), { retryOn, retriableStatusCodes: codes, invalid }));
  }
});

describe('retryPolicyFromIstio', () => {
  test('no retries field → Istio default: 2 attempts, connection-level conditions, no status codes, 25 ms', () => {
    assert.deepEqual(retryPolicyFromIstio(undefined), {
      attempts: 2,
      retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
      retriableStatusCodes: [],
      backoffBaseMs: 25,
    });
  });

  test('attempts 0 (or unset) disables retries', () => {
    assert.equal(retryPolicyFromIstio({ attempts: 0 }), undefined);
    assert.equal(retryPolicyFromIstio({ retryOn: '5xx' }), undefined);
  });

  test('attempts only: keeps the default conditions', () => {
    const p = retryPolicyFromIstio({ attempts: 3, perTryTimeoutMs: 2000 });
    assert.deepEqual(p, { ...ISTIO_DEFAULT_RETRY_POLICY, attempts: 3, perTryTimeoutMs: 2000 });
  });

  test('retryOn with status codes adds retriable-status-codes', () => {
    const p = retryPolicyFromIstio({ attempts: 3, retryOn: 'gateway-error,503', backoffMs: 100, retryRemoteLocalities: true, retryIgnorePreviousHosts: false });
    assert.deepEqual(p, {
      attempts: 3,
      retryOn: ['gateway-error', 'retriable-status-codes'],
      retriableStatusCodes: [503],
      backoffBaseMs: 100,
      retryRemoteLocalities: true,
      retryIgnorePreviousHosts: false,
    });
  });

  test('an unknown condition is an error naming the field', () => {
    assert.throws(() => retryPolicyFromIstio({ attempts: 1, retryOn: '5xx,sometimes' } satisfies IstioRetry, 'spec.http[0].retries'), (e: unknown) => {
      assert.ok(e instanceof RouteConfigError);
      assert.equal(e.path, 'spec.http[0].retries.retryOn');
      assert.match(e.message, /"sometimes" is not a valid retry condition/);
      return true;
    });
  });
});
