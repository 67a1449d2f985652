/**
 * `withDefaults`: Istio's DestinationRule defaults, Istio's "0 means unset" int32 fields,
 * PASSTHROUGH as an original-destination cluster, the panic threshold, and clear errors.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterConfigError, UNLIMITED, withDefaults } from '../../src/snapshot/index.js';
import type { ClusterConfigInput } from '../../src/snapshot/index.js';

const NAME = 'outbound|8000||httpbin.default.svc.cluster.local';

describe('withDefaults', () => {
  test('connection pool defaults are Istio\'s', () => {
    const cfg = withDefaults({ name: NAME });
    assert.deepEqual(cfg.connectionPool, {
      maxConnections: UNLIMITED,
      connectTimeoutMs: 10_000,
      tcpIdleTimeoutMs: 3_600_000,
      maxConnectionDurationMs: 0,
      http1MaxPendingRequests: 4294967295,
      http2MaxRequests: 4294967295,
      maxRequestsPerConnection: 0,
      maxRetries: 4294967295,
      idleTimeoutMs: 3_600_000,
      maxConcurrentStreams: 2147483647,
      h2Upgrade: false,
      useClientProtocol: false,
    });
    assert.deepEqual(cfg.lb, { policy: 'LEAST_REQUEST', choiceCount: 2 }, 'Istio\'s default balancer');
    assert.equal(cfg.outlierDetection, undefined);
    assert.equal(cfg.healthyPanicThresholdPercent, 50);
    assert.equal(cfg.discovery, 'static');
    assert.equal(cfg.protocol, 'auto');
  });

  test('an outlierDetection block gets Istio\'s defaults and sets the panic threshold to minHealthPercent', () => {
    const cfg = withDefaults({ name: NAME, outlierDetection: {} });
    assert.deepEqual(cfg.outlierDetection, {
      consecutive5xxErrors: 5,
      consecutiveGatewayErrors: 0,
      consecutiveLocalOriginFailures: 5,
      splitExternalLocalOriginErrors: false,
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionTimeMs: 300_000,
      maxEjectionPercent: 10,
      minHealthPercent: 0,
    });
    assert.equal(cfg.healthyPanicThresholdPercent, 0);
    assert.equal(withDefaults({ name: NAME, outlierDetection: { minHealthPercent: 30 } }).healthyPanicThresholdPercent, 30);
  });

  test('the circuit-breaking task\'s DestinationRule resolves as Istio does', () => {
    const cfg = withDefaults({
      name: NAME,
      connectionPool: { maxConnections: 1, http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 },
      outlierDetection: { consecutive5xxErrors: 1, intervalMs: 1_000, baseEjectionTimeMs: 180_000, maxEjectionPercent: 100 },
    });
    assert.equal(cfg.connectionPool.maxConnections, 1);
    assert.equal(cfg.connectionPool.http2MaxRequests, UNLIMITED);
    assert.equal(cfg.outlierDetection!.maxEjectionTimeMs, 300_000);
    assert.equal(withDefaults({ name: NAME, outlierDetection: { baseEjectionTimeMs: 600_000 } }).outlierDetection!.maxEjectionTimeMs, 600_000, 'cap is at least the base time');
  });

  test('Istio int32 zero values mean "unset"', () => {
    const cfg = withDefaults({ name: NAME, connectionPool: { maxConnections: 0, http1MaxPendingRequests: 0, maxRetries: 0 }, outlierDetection: { maxEjectionPercent: 0, consecutive5xxErrors: 0 } });
    assert.equal(cfg.connectionPool.maxConnections, UNLIMITED);
    assert.equal(cfg.connectionPool.http1MaxPendingRequests, UNLIMITED);
    assert.equal(cfg.connectionPool.maxRetries, UNLIMITED);
    assert.equal(cfg.outlierDetection!.maxEjectionPercent, 10);
    assert.equal(cfg.outlierDetection!.consecutive5xxErrors, 0, 'a UInt32Value: 0 disables');
  });

  test('PASSTHROUGH makes an original-destination cluster, and vice versa', () => {
    assert.equal(withDefaults({ name: 'x', lb: { policy: 'PASSTHROUGH' } }).discovery, 'original-dst');
    assert.deepEqual(withDefaults({ name: 'x', discovery: 'original-dst' }).lb, { policy: 'PASSTHROUGH' });
  });

  test('hash policies get Envoy\'s sizes; header names are lower-cased', () => {
    assert.deepEqual(withDefaults({ name: 'x', lb: { policy: 'RING_HASH', hash: { header: 'X-User' } } }).lb, {
      policy: 'RING_HASH',
      hash: { header: 'x-user' },
      minimumRingSize: 1024,
    });
    assert.deepEqual(withDefaults({ name: 'x', lb: { policy: 'MAGLEV', hash: { sourceIp: true } } }).lb, {
      policy: 'MAGLEV',
      hash: { sourceIp: true },
      tableSize: 65537,
    });
  });

  test('is idempotent', () => {
    const input: ClusterConfigInput = {
      name: NAME,
      endpoints: [{ address: '10.0.0.1', port: 80, weight: 2 }],
      lb: { policy: 'RING_HASH', hash: { cookie: { name: 'user', ttlMs: 0 } } },
      outlierDetection: { consecutiveGatewayErrors: 3 },
      metadata: { serviceName: 'httpbin', subset: 'v1' },
    };
    const once = withDefaults(input);
    assert.deepEqual(withDefaults(once), once);
  });

  const bad: [string, ClusterConfigInput, string][] = [
    ['empty name', { name: '' }, 'cluster.name'],
    ['port out of range', { name: 'c', endpoints: [{ address: '10.0.0.1', port: 65536 }] }, 'cluster[c].endpoints[0].port'],
    ['weight 0', { name: 'c', endpoints: [{ address: '10.0.0.1', port: 80, weight: 0 }] }, 'cluster[c].endpoints[0].weight'],
    ['no address', { name: 'c', endpoints: [{ address: '', port: 80 }] }, 'cluster[c].endpoints[0].address'],
    ['negative limit', { name: 'c', connectionPool: { maxConnections: -1 } }, 'cluster[c].connectionPool.maxConnections'],
    ['fractional limit', { name: 'c', connectionPool: { http2MaxRequests: 1.5 } }, 'cluster[c].connectionPool.http2MaxRequests'],
    ['zero connect timeout', { name: 'c', connectionPool: { connectTimeoutMs: 0 } }, 'cluster[c].connectionPool.connectTimeoutMs'],
    ['percent over 100', { name: 'c', outlierDetection: { maxEjectionPercent: 150 } }, 'cluster[c].outlierDetection.maxEjectionPercent'],
    ['unknown policy', { name: 'c', lb: { policy: 'FASTEST' } as never }, 'cluster[c].lb.policy'],
    ['hash without source', { name: 'c', lb: { policy: 'RING_HASH', hash: {} as never } }, 'cluster[c].lb.hash'],
    ['non-prime Maglev table', { name: 'c', lb: { policy: 'MAGLEV', hash: { header: 'x' }, tableSize: 65536 } }, 'cluster[c].lb.tableSize'],
    ['unknown protocol', { name: 'c', protocol: 'http3' as never }, 'cluster[c].protocol'],
  ];
  for (const [what, input, path] of bad) {
    test(`rejects ${what}, naming ${path}`, () => {
      assert.throws(
        () => withDefaults(input),
        (err: unknown) => err instanceof ClusterConfigError && err.path === path && err.message.startsWith(`${path}: `),
      );
    });
  }
});
