/**
 * Circuit-breaker accounting: limits enforced per resource, overflow counted under Envoy's stat
 * names, releases symmetric and never below zero, limits replaced without losing counts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceLimits } from '../../../src/proxy/upstream/limits.js';
import { CONNECTION_POOL_DEFAULTS, UNLIMITED } from '../../../src/snapshot/index.js';

const limitsOf = (o: Partial<typeof CONNECTION_POOL_DEFAULTS>): ResourceLimits => new ResourceLimits({ ...CONNECTION_POOL_DEFAULTS, ...o });

describe('ResourceLimits', () => {
  test('defaults admit everything and report the 2^32-1 headroom', () => {
    const limits = limitsOf({});
    for (let i = 0; i < 1000; i++) {
      assert.ok(limits.tryAcquireConnection());
      assert.ok(limits.tryAcquirePending());
      assert.ok(limits.tryAcquireRequest());
      assert.ok(limits.tryAcquireRetry());
    }
    const s = limits.stats();
    assert.equal(s['circuit_breakers.default.remaining_pending'], UNLIMITED - 1000);
    assert.equal(s['circuit_breakers.default.rq_pending_open'], 0);
    assert.equal(s.upstream_rq_pending_overflow, 0);
  });

  test('pending requests overflow at http1MaxPendingRequests', () => {
    const limits = limitsOf({ http1MaxPendingRequests: 2 });
    assert.ok(limits.tryAcquirePending());
    assert.ok(limits.tryAcquirePending());
    assert.equal(limits.tryAcquirePending(), false);
    assert.equal(limits.tryAcquirePending(), false);
    let s = limits.stats();
    assert.equal(s.upstream_rq_pending_active, 2);
    assert.equal(s.upstream_rq_pending_total, 2);
    assert.equal(s.upstream_rq_pending_overflow, 2);
    assert.equal(s['circuit_breakers.default.rq_pending_open'], 1);
    assert.equal(s['circuit_breakers.default.remaining_pending'], 0);
    limits.releasePending();
    s = limits.stats();
    assert.equal(s['circuit_breakers.default.rq_pending_open'], 0);
    assert.equal(s['circuit_breakers.default.remaining_pending'], 1);
    assert.ok(limits.tryAcquirePending());
    assert.equal(limits.stats().upstream_rq_pending_total, 3);
  });

  test('connections overflow at maxConnections and count upstream_cx_overflow', () => {
    const limits = limitsOf({ maxConnections: 1 });
    assert.ok(limits.canCreateConnection());
    assert.ok(limits.tryAcquireConnection());
    assert.equal(limits.canCreateConnection(), false);
    assert.equal(limits.tryAcquireConnection(), false);
    const s = limits.stats();
    assert.equal(s.upstream_cx_active, 1);
    assert.equal(s.upstream_cx_overflow, 1);
    assert.equal(s['circuit_breakers.default.cx_open'], 1);
    assert.equal(s['circuit_breakers.default.remaining_cx'], 0);
  });

  test('active requests overflow at http2MaxRequests, counted as pending overflow like Envoy', () => {
    const limits = limitsOf({ http2MaxRequests: 1 });
    assert.ok(limits.tryAcquireRequest());
    assert.equal(limits.tryAcquireRequest(), false);
    const s = limits.stats();
    assert.equal(s.upstream_rq_active, 1);
    assert.equal(s.upstream_rq_pending_overflow, 1);
    assert.equal(s['circuit_breakers.default.rq_open'], 1);
  });

  test('retries overflow at maxRetries', () => {
    const limits = limitsOf({ maxRetries: 1 });
    assert.ok(limits.tryAcquireRetry());
    assert.equal(limits.tryAcquireRetry(), false);
    assert.equal(limits.stats().upstream_rq_retry_overflow, 1);
    assert.equal(limits.stats()['circuit_breakers.default.rq_retry_open'], 1);
    limits.releaseRetry();
    assert.ok(limits.tryAcquireRetry());
  });

  test('release is symmetric and never goes below zero', () => {
    const limits = limitsOf({ maxConnections: 3, http1MaxPendingRequests: 3, http2MaxRequests: 3, maxRetries: 3 });
    for (let i = 0; i < 3; i++) {
      limits.tryAcquireConnection();
      limits.tryAcquirePending();
      limits.tryAcquireRequest();
      limits.tryAcquireRetry();
    }
    for (let i = 0; i < 5; i++) {
      limits.releaseConnection();
      limits.releasePending();
      limits.releaseRequest();
      limits.releaseRetry();
    }
    assert.deepEqual([limits.connections, limits.pendingRequests, limits.activeRequests, limits.activeRetries], [0, 0, 0, 0]);
    // Stray releases granted no extra capacity.
    for (let i = 0; i < 3; i++) assert.ok(limits.tryAcquirePending());
    assert.equal(limits.tryAcquirePending(), false);
  });

  test('new limits apply to existing counts', () => {
    const limits = limitsOf({ http1MaxPendingRequests: 10 });
    for (let i = 0; i < 5; i++) limits.tryAcquirePending();
    limits.setLimits({ ...CONNECTION_POOL_DEFAULTS, http1MaxPendingRequests: 3 });
    assert.equal(limits.tryAcquirePending(), false);
    assert.equal(limits.stats()['circuit_breakers.default.remaining_pending'], 0);
    for (let i = 0; i < 3; i++) limits.releasePending();
    assert.ok(limits.tryAcquirePending());
  });

  test('the stats Istio\'s circuit-breaking task greps for are all present', () => {
    const names = Object.keys(limitsOf({}).stats());
    for (const name of [
      'circuit_breakers.default.remaining_pending',
      'circuit_breakers.default.rq_pending_open',
      'circuit_breakers.high.rq_pending_open',
      'upstream_rq_pending_active',
      'upstream_rq_pending_failure_eject',
      'upstream_rq_pending_overflow',
      'upstream_rq_pending_total',
    ]) {
      assert.ok(names.includes(name), name);
    }
  });

  test('Istio circuit-breaking task shape: 1 connection, 1 pending, concurrent requests overflow', () => {
    // Two clients at once against maxConnections 1 / http1MaxPendingRequests 1, as an HTTP/1.1
    // pool drives the limits: a request takes a connection if one can open, else waits pending.
    const limits = limitsOf({ maxConnections: 1, http1MaxPendingRequests: 1 });
    const outcomes: string[] = [];
    const arrive = (): 'connected' | 'pending' | 'overflow' => {
      if (limits.tryAcquireConnection()) return 'connected';
      return limits.tryAcquirePending() ? 'pending' : 'overflow';
    };
    for (let i = 0; i < 3; i++) outcomes.push(arrive());
    assert.deepEqual(outcomes, ['connected', 'pending', 'overflow']);
    const s = limits.stats();
    assert.equal(s.upstream_cx_overflow, 2);
    assert.equal(s.upstream_rq_pending_overflow, 1);
    limits.recordPendingFailure();
    assert.equal(limits.stats().upstream_rq_pending_failure_eject, 1);
  });
});
