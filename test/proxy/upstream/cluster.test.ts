/**
 * Cluster update semantics (hosts keep their state by ip:port, removed hosts drain, limits and
 * outlier state carry over) and the cluster manager's atomic snapshot application and stats.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCluster } from '../../../src/proxy/upstream/cluster.js';
import { createClusterManager } from '../../../src/proxy/upstream/cluster-manager.js';
import { ClusterConfigError } from '../../../src/snapshot/index.js';
import { createManualClock } from '../../../src/proxy/upstream/clock.js';
import { seededRandom } from '../../../src/proxy/upstream/random.js';
import type { ClusterConfigInput } from '../../../src/snapshot/index.js';
import type { Endpoint } from '../../../src/proxy/upstream/types.js';

const NAME = 'outbound|9080|v1|reviews.default.svc.cluster.local';
const ep = (last: number, extra: object = {}): { address: string; port: number } => ({ address: `10.3.0.${last}`, port: 9080, ...extra });
const deps = () => ({ clock: createManualClock(), random: seededRandom(1) });

describe('cluster update', () => {
  test('hosts kept by ip:port keep their object, counters and ejection; new ones start fresh', () => {
    const cluster = createCluster({ name: NAME, endpoints: [ep(1), ep(2)], outlierDetection: { consecutive5xxErrors: 1, maxEjectionPercent: 100 } }, deps());
    const [one, two] = cluster.endpoints;
    cluster.startRequest(one);
    cluster.report(two, 500);
    assert.equal(two.ejected, true);
    cluster.update({ name: NAME, endpoints: [ep(2, { weight: 3 }), ep(1), ep(3)], outlierDetection: { consecutive5xxErrors: 1, maxEjectionPercent: 100 } });
    const byKey = new Map(cluster.endpoints.map((e) => [e.key, e]));
    assert.equal(byKey.get('10.3.0.1:9080'), one);
    assert.equal(byKey.get('10.3.0.2:9080'), two);
    assert.equal(one.activeRequests, 1);
    assert.equal(one.stats.rq_total, 1);
    assert.equal(two.ejected, true, 'ejection survives the update');
    assert.equal(two.weight, 3, 'new config applied to the kept host');
    const three = byKey.get('10.3.0.3:9080')!;
    assert.deepEqual([three.activeRequests, three.ejected, three.stats.rq_total], [0, false, 0]);
    cluster.close();
  });

  test('removed hosts are flagged draining, announced, and no longer picked', () => {
    const cluster = createCluster({ name: NAME, lb: { policy: 'ROUND_ROBIN' }, endpoints: [ep(1), ep(2)] }, deps());
    const drained: Endpoint[] = [];
    cluster.onDrain((h) => drained.push(h));
    const gone = cluster.endpoints[1];
    cluster.startRequest(gone);
    cluster.update({ name: NAME, lb: { policy: 'ROUND_ROBIN' }, endpoints: [ep(1)] });
    assert.equal(gone.draining, true);
    assert.deepEqual(drained, [gone]);
    assert.deepEqual(cluster.draining, [gone]);
    assert.equal(cluster.endpoints.length, 1);
    for (let i = 0; i < 20; i++) assert.notEqual(cluster.pick(), gone);
    // The in-flight request still finishes against the same object.
    cluster.endRequest(gone, 200);
    assert.equal(gone.activeRequests, 0);
    cluster.close();
  });

  test('a drained host leaves the draining list once it has no request or connection, without waiting for another update', () => {
    const cluster = createCluster({ name: NAME, endpoints: [ep(1), ep(2), ep(3)] }, deps());
    const [, busy, idle] = cluster.endpoints;
    cluster.startRequest(busy);
    busy.stats.cx_active = 1;
    cluster.update({ name: NAME, endpoints: [ep(1)] });
    assert.deepEqual(cluster.draining, [busy], 'an idle removed host is gone at once; a busy one drains');
    cluster.endRequest(busy, 200);
    assert.deepEqual(cluster.draining, [busy], 'its connection is still open');
    busy.stats.cx_active = 0;
    assert.deepEqual(cluster.draining, [], 'the last connection closed');
    assert.equal(idle.draining, true);
    cluster.close();
  });

  test('a draining host that comes back is revived with its state', () => {
    const cluster = createCluster({ name: NAME, endpoints: [ep(1), ep(2)] }, deps());
    const two = cluster.endpoints[1];
    cluster.startRequest(two);
    cluster.update({ name: NAME, endpoints: [ep(1)] });
    cluster.update({ name: NAME, endpoints: [ep(1), ep(2)] });
    assert.equal(cluster.endpoints[1], two);
    assert.equal(two.draining, false);
    assert.equal(two.activeRequests, 1);
    cluster.close();
  });

  test('limits keep their counts across a config change; the new limits apply', () => {
    const cluster = createCluster({ name: NAME, endpoints: [ep(1)], connectionPool: { http1MaxPendingRequests: 5 } }, deps());
    const limits = cluster.limits;
    for (let i = 0; i < 3; i++) assert.ok(limits.tryAcquirePending());
    cluster.update({ name: NAME, endpoints: [ep(1)], connectionPool: { http1MaxPendingRequests: 3 } });
    assert.equal(cluster.limits, limits);
    assert.equal(limits.tryAcquirePending(), false);
    assert.equal(cluster.stats().upstream_rq_pending_overflow, 1);
    cluster.close();
  });

  test('dropping outlier detection returns ejected hosts; adding it starts detection', () => {
    const clock = createManualClock();
    const cluster = createCluster({ name: NAME, endpoints: [ep(1), ep(2)], outlierDetection: { consecutive5xxErrors: 1, maxEjectionPercent: 100 } }, { clock, random: seededRandom(2) });
    const h = cluster.endpoints[0];
    cluster.report(h, 500);
    assert.equal(h.ejected, true);
    cluster.update({ name: NAME, endpoints: [ep(1), ep(2)] });
    assert.equal(cluster.outlier, undefined);
    assert.equal(h.ejected, false);
    assert.equal(clock.pendingTimers(), 0);
    cluster.update({ name: NAME, endpoints: [ep(1), ep(2)], outlierDetection: { consecutive5xxErrors: 1, maxEjectionPercent: 100 } });
    cluster.report(h, 500);
    assert.equal(h.ejected, true);
    cluster.close();
  });

  test('a bad update throws a path-naming error and leaves the cluster as it was', () => {
    const cluster = createCluster({ name: NAME, endpoints: [ep(1)] }, deps());
    const before = cluster.config;
    assert.throws(
      () => cluster.update({ name: NAME, endpoints: [{ address: '10.3.0.9', port: 70000 }] }),
      (err: unknown) => err instanceof ClusterConfigError && err.path === `cluster[${NAME}].endpoints[0].port`,
    );
    assert.equal(cluster.config, before);
    assert.equal(cluster.endpoints[0].key, '10.3.0.1:9080');
    cluster.close();
  });

  test('switching the load balancer takes effect', () => {
    const cluster = createCluster({ name: NAME, endpoints: [ep(1), ep(2), ep(3)], lb: { policy: 'ROUND_ROBIN' } }, deps());
    cluster.update({ name: NAME, endpoints: [ep(1), ep(2), ep(3)], lb: { policy: 'RING_HASH', hash: { header: 'x-user' } } });
    const first = cluster.pick({ hashKey: 'jason' });
    for (let i = 0; i < 20; i++) assert.equal(cluster.pick({ hashKey: 'jason' }), first);
    cluster.close();
  });

  test('original-destination clusters pick the host the connection was headed to', () => {
    const cluster = createCluster({ name: 'PassthroughCluster', lb: { policy: 'PASSTHROUGH' } }, deps());
    assert.equal(cluster.config.discovery, 'original-dst');
    const a = cluster.pick({ originalDestination: { address: '93.184.216.34', port: 443 } })!;
    assert.equal(a.key, '93.184.216.34:443');
    assert.equal(cluster.pick({ originalDestination: { address: '93.184.216.34', port: 443 } }), a, 'same host object reused');
    assert.equal(cluster.pick({ originalDestination: { address: '::1', port: 80 } })!.key, '[::1]:80');
    assert.equal(cluster.pick(), undefined);
    cluster.close();
  });

  test('hashKeyFor follows the cluster policy', () => {
    const cluster = createCluster({ name: NAME, endpoints: [ep(1)], lb: { policy: 'MAGLEV', hash: { header: 'X-User' } } }, deps());
    assert.equal(cluster.hashKeyFor({ headers: { 'x-user': 'jason' }, path: '/', sourceIp: '10.0.0.1' }).hashKey, 'jason');
    const rr = createCluster({ name: NAME, endpoints: [ep(1)], lb: { policy: 'ROUND_ROBIN' } }, deps());
    assert.equal(rr.hashKeyFor({ headers: { 'x-user': 'jason' }, path: '/', sourceIp: '10.0.0.1' }).hashKey, undefined);
    cluster.close();
    rr.close();
  });

  test('membership stats and admin health flags', () => {
    const cluster = createCluster(
      { name: NAME, endpoints: [ep(1), ep(2, { healthy: false }), ep(3)], outlierDetection: { consecutive5xxErrors: 1, maxEjectionPercent: 100 } },
      deps(),
    );
    const [one, two, three] = cluster.endpoints;
    cluster.report(three, 500);
    const s = cluster.stats();
    assert.equal(s.membership_total, 3);
    assert.equal(s.membership_healthy, 1);
    assert.deepEqual([one.healthFlags(), two.healthFlags(), three.healthFlags()], ['healthy', '/failed_eds_health', '/failed_outlier_check']);
    cluster.update({ name: NAME, endpoints: [ep(2, { healthy: false }), ep(3)], outlierDetection: { consecutive5xxErrors: 1, maxEjectionPercent: 100 } });
    assert.equal(one.healthFlags(), '/pending_dynamic_removal');
    cluster.close();
  });
});

describe('cluster manager', () => {
  const reviews = (endpoints: { address: string; port: number }[]): ClusterConfigInput => ({ name: NAME, endpoints });
  const ratings: ClusterConfigInput = { name: 'outbound|9080||ratings.default.svc.cluster.local', endpoints: [{ address: '10.4.0.1', port: 9080 }] };

  test('adds, updates in place, and removes clusters', () => {
    const manager = createClusterManager(deps());
    assert.deepEqual(manager.apply([reviews([ep(1)]), ratings]), { added: [NAME, ratings.name], updated: [], removed: [] });
    const cluster = manager.get(NAME)!;
    const host = cluster.endpoints[0];
    const result = manager.apply([reviews([ep(1), ep(2)])]);
    assert.deepEqual(result, { added: [], updated: [NAME], removed: [ratings.name] });
    assert.equal(manager.get(NAME), cluster, 'updated in place');
    assert.equal(manager.get(NAME)!.endpoints[0], host);
    assert.equal(manager.get(ratings.name), undefined);
    assert.deepEqual(manager.apply([reviews([ep(1), ep(2)])]), { added: [], updated: [], removed: [] }, 'unchanged config is a no-op');
    manager.close();
  });

  test('one bad cluster rejects the whole snapshot and changes nothing', () => {
    const manager = createClusterManager(deps());
    manager.apply([reviews([ep(1)])]);
    const before = manager.clusters;
    assert.throws(
      () => manager.apply([reviews([ep(1), ep(2)]), { name: 'bad', lb: { policy: 'FASTEST' } as never }]),
      (err: unknown) => err instanceof ClusterConfigError && /clusters\[1\]\.cluster\[bad\]\.lb\.policy/.test(err.message) && /FASTEST/.test(err.message),
    );
    assert.throws(() => manager.apply([ratings, ratings]), /duplicate cluster name/);
    assert.equal(manager.clusters, before);
    assert.equal(manager.get(NAME)!.endpoints.length, 1);
    manager.close();
  });

  test('a removed cluster is closed: its hosts drain and its timers stop', () => {
    const clock = createManualClock();
    const manager = createClusterManager({ clock, random: seededRandom(3) });
    manager.apply([{ ...reviews([ep(1)]), outlierDetection: {} }]);
    const cluster = manager.get(NAME)!;
    const host = cluster.endpoints[0];
    assert.equal(clock.pendingTimers(), 1);
    manager.apply([]);
    assert.equal(cluster.closed, true);
    assert.equal(host.draining, true);
    assert.equal(clock.pendingTimers(), 0);
    manager.close();
  });

  test('stats carry Envoy full names, as the circuit-breaking task greps them', () => {
    const manager = createClusterManager(deps());
    const name = 'outbound|8000||httpbin.default.svc.cluster.local';
    manager.apply([{ name, endpoints: [{ address: '10.5.0.1', port: 8080 }], connectionPool: { maxConnections: 1, http1MaxPendingRequests: 1 } }]);
    const limits = manager.get(name)!.limits;
    limits.tryAcquirePending();
    limits.tryAcquirePending();
    const stats = manager.stats();
    const lines = Object.entries(stats)
      .filter(([k]) => k.includes('httpbin') && k.includes('pending'))
      .map(([k, v]) => `${k}: ${v}`);
    assert.ok(lines.includes(`cluster.${name}.upstream_rq_pending_overflow: 1`), lines.join('\n'));
    assert.ok(lines.includes(`cluster.${name}.upstream_rq_pending_total: 1`));
    assert.ok(lines.includes(`cluster.${name}.circuit_breakers.default.remaining_pending: 0`));
    assert.ok(lines.includes(`cluster.${name}.circuit_breakers.default.rq_pending_open: 1`));
    assert.ok(lines.includes(`cluster.${name}.circuit_breakers.high.rq_pending_open: 0`));
    assert.ok(lines.includes(`cluster.${name}.upstream_rq_pending_failure_eject: 0`));
    assert.ok(lines.includes(`cluster.${name}.upstream_rq_pending_active: 1`));
    assert.equal(stats['cluster_manager.active_clusters'], 1);
    manager.close();
  });
});
