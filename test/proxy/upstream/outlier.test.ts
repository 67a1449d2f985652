/**
 * Outlier detection on virtual time, through a real cluster: consecutive-error ejection, return
 * after the ejection time on the interval sweep, growing ejection time, caps on ejected hosts,
 * panic below minHealthPercent, local-origin events, and Envoy stat names.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCluster, type Cluster } from '../../../src/proxy/upstream/cluster.js';
import { createManualClock, type ManualClock } from '../../../src/proxy/upstream/clock.js';
import { seededRandom } from '../../../src/proxy/upstream/random.js';
import type { Endpoint } from '../../../src/proxy/upstream/types.js';
import type { OutlierDetectionConfig } from '../../../src/snapshot/index.js';

function setup(outlierDetection: Partial<OutlierDetectionConfig>, hostCount = 4): { cluster: Cluster; clock: ManualClock; hosts: readonly Endpoint[] } {
  const clock = createManualClock(1_000);
  const cluster = createCluster(
    {
      name: 'outbound|8000||httpbin.default.svc.cluster.local',
      lb: { policy: 'ROUND_ROBIN' },
      endpoints: Array.from({ length: hostCount }, (_, i) => ({ address: `10.2.0.${i + 1}`, port: 8080 })),
      outlierDetection,
    },
    { clock, random: seededRandom(1) },
  );
  return { cluster, clock, hosts: cluster.endpoints };
}

function picked(cluster: Cluster, n = 200): Set<string> {
  const keys = new Set<string>();
  for (let i = 0; i < n; i++) keys.add(cluster.pick()!.key);
  return keys;
}

describe('outlier detection', () => {
  test('ejects after N consecutive 5xx, and a success in between resets the count', () => {
    const { cluster, hosts } = setup({ consecutive5xxErrors: 3, maxEjectionPercent: 100 });
    const [bad] = hosts;
    cluster.report(bad, 500);
    cluster.report(bad, 503);
    cluster.report(bad, 200);
    cluster.report(bad, 500);
    cluster.report(bad, 500);
    assert.equal(bad.ejected, false);
    cluster.report(bad, 502);
    assert.equal(bad.ejected, true);
    assert.ok(!picked(cluster).has(bad.key));
    const s = cluster.stats();
    assert.equal(s['outlier_detection.ejections_active'], 1);
    assert.equal(s['outlier_detection.ejections_enforced_total'], 1);
    assert.equal(s['outlier_detection.ejections_enforced_consecutive_5xx'], 1);
    assert.equal(s['outlier_detection.ejections_total'], 1);
    cluster.close();
  });

  test('4xx responses are not errors', () => {
    const { cluster, hosts } = setup({ consecutive5xxErrors: 2, maxEjectionPercent: 100 });
    for (let i = 0; i < 10; i++) cluster.report(hosts[0], 404);
    assert.equal(hosts[0].ejected, false);
    cluster.close();
  });

  test('returns after baseEjectionTime, on the interval sweep', () => {
    const { cluster, clock, hosts } = setup({ consecutive5xxErrors: 1, intervalMs: 1_000, baseEjectionTimeMs: 3_000, maxEjectionPercent: 100 });
    const bad = hosts[1];
    // The clock starts at 1000 and the sweep runs every second: at 2000, 3000, 4000, 5000…
    clock.advance(500);
    cluster.report(bad, 503); // ejected at 1500
    assert.equal(bad.ejected, true);
    clock.advance(2_500); // sweep at 4000: out for 2500 ms, under 3000
    assert.equal(bad.ejected, true);
    clock.advance(999); // no sweep before 5000
    assert.equal(bad.ejected, true);
    clock.advance(1); // sweep at 5000: out for 3500 ms
    assert.equal(bad.ejected, false);
    assert.ok(picked(cluster).has(bad.key));
    assert.equal(cluster.stats()['outlier_detection.ejections_active'], 0);
    cluster.close();
  });

  test('a second ejection lasts twice as long, and the multiplier decays while healthy', () => {
    const { cluster, clock, hosts } = setup({ consecutive5xxErrors: 1, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 100 });
    const bad = hosts[0];
    cluster.report(bad, 500); // t=0 (relative), ejection 1: 30 s
    clock.advance(30_000);
    assert.equal(bad.ejected, false, 'back after 30s');
    cluster.report(bad, 500); // ejection 2: 60 s
    clock.advance(50_000);
    assert.equal(bad.ejected, true, 'still out 50s into a 60s ejection');
    clock.advance(10_000);
    assert.equal(bad.ejected, false, 'back after 60s');
    assert.equal(cluster.outlier!.ejectionCount(bad), 2);
    // Healthy for 2 sweeps after the return: the multiplier decays from 2 to 0.
    clock.advance(20_000);
    cluster.report(bad, 500);
    clock.advance(30_000);
    assert.equal(bad.ejected, false, 'after decay, the ejection is back to the base time');
    cluster.close();
  });

  test('ejection time is capped at maxEjectionTime', () => {
    const { cluster, clock, hosts } = setup({ consecutive5xxErrors: 1, intervalMs: 1_000, baseEjectionTimeMs: 2_000, maxEjectionTimeMs: 3_000, maxEjectionPercent: 100 });
    const bad = hosts[0];
    for (let round = 1; round <= 4; round++) {
      cluster.report(bad, 500);
      assert.equal(bad.ejected, true);
      clock.advance(Math.min(2_000 * round, 3_000));
      assert.equal(bad.ejected, false, `round ${round} lasted longer than ${Math.min(2_000 * round, 3_000)} ms`);
    }
    cluster.close();
  });

  test('maxEjectionPercent caps the ejected hosts and counts the overflow', () => {
    const { cluster, hosts } = setup({ consecutive5xxErrors: 1, maxEjectionPercent: 50 }, 4);
    for (const h of hosts) cluster.report(h, 500);
    assert.deepEqual(hosts.map((h) => h.ejected), [true, true, false, false]);
    const s = cluster.stats();
    assert.equal(s['outlier_detection.ejections_active'], 2);
    assert.equal(s['outlier_detection.ejections_overflow'], 2);
    cluster.close();
  });

  test('the default 10% ejects nothing among 2 hosts (Envoy: 50% > 10%)', () => {
    const { cluster, hosts } = setup({ consecutive5xxErrors: 1 }, 2);
    cluster.report(hosts[0], 500);
    assert.equal(hosts[0].ejected, false);
    assert.equal(cluster.stats()['outlier_detection.ejections_overflow'], 1);
    cluster.close();
  });

  test('with 100% allowed and every host ejected, there is no healthy upstream (minHealthPercent 0)', () => {
    const { cluster, hosts } = setup({ consecutive5xxErrors: 1, maxEjectionPercent: 100 }, 2);
    for (const h of hosts) cluster.report(h, 503);
    assert.equal(cluster.pick(), undefined);
    assert.equal(cluster.inPanic, false);
    cluster.close();
  });

  test('below minHealthPercent the cluster balances across all hosts, ejected ones included', () => {
    const { cluster, hosts } = setup({ consecutive5xxErrors: 1, maxEjectionPercent: 100, minHealthPercent: 60 }, 4);
    cluster.report(hosts[0], 500);
    assert.equal(cluster.inPanic, false, '75% healthy is above 60%');
    assert.ok(!picked(cluster).has(hosts[0].key));
    cluster.report(hosts[1], 500);
    assert.equal(cluster.inPanic, true, '50% healthy is below 60%');
    assert.equal(picked(cluster).size, 4);
    cluster.close();
  });

  test('consecutiveGatewayErrors counts only 502/503/504; 500 resets it', () => {
    const { cluster, hosts } = setup({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 2, maxEjectionPercent: 100 });
    const h = hosts[0];
    cluster.report(h, 502);
    cluster.report(h, 500);
    cluster.report(h, 504);
    assert.equal(h.ejected, false);
    cluster.report(h, 503);
    assert.equal(h.ejected, true);
    const s = cluster.stats();
    assert.equal(s['outlier_detection.ejections_enforced_consecutive_gateway_failure'], 1);
    assert.equal(s['outlier_detection.ejections_enforced_consecutive_5xx'], 0);
    cluster.close();
  });

  test('consecutive5xxErrors 0 disables 5xx ejection', () => {
    const { cluster, hosts } = setup({ consecutive5xxErrors: 0, maxEjectionPercent: 100 });
    for (let i = 0; i < 50; i++) cluster.report(hosts[0], 500);
    assert.equal(hosts[0].ejected, false);
    cluster.close();
  });

  test('unsplit, connect failures, resets and timeouts count as gateway errors (and so 5xx)', () => {
    const { cluster, hosts } = setup({ consecutive5xxErrors: 3, maxEjectionPercent: 100 });
    const h = hosts[0];
    cluster.report(h, 'connect-failure');
    cluster.report(h, 'connect-success'); // ignored: the request continues on the new connection
    cluster.report(h, 'reset');
    cluster.report(h, 'timeout');
    assert.equal(h.ejected, true);
    cluster.close();
  });

  test('split local-origin errors: connect failures counted apart from HTTP statuses', () => {
    const { cluster, hosts } = setup({
      splitExternalLocalOriginErrors: true,
      consecutiveLocalOriginFailures: 2,
      consecutive5xxErrors: 5,
      maxEjectionPercent: 100,
    });
    const [a, b] = hosts;
    cluster.report(a, 'connect-failure');
    cluster.report(a, 'connect-success');
    cluster.report(a, 'timeout');
    assert.equal(a.ejected, false);
    cluster.report(a, 'connect-failure');
    assert.equal(a.ejected, true);
    // Statuses still feed the 5xx detector only.
    for (let i = 0; i < 4; i++) cluster.report(b, 503);
    assert.equal(b.ejected, false);
    cluster.report(b, 503);
    assert.equal(b.ejected, true);
    assert.equal(cluster.stats()['outlier_detection.ejections_enforced_consecutive_local_origin_failure'], 1);
    cluster.close();
  });

  test('endRequest feeds outlier detection and the host request stats', () => {
    const { cluster, hosts } = setup({ consecutive5xxErrors: 2, maxEjectionPercent: 100 });
    const h = cluster.pick()!;
    for (let i = 0; i < 2; i++) {
      cluster.startRequest(h);
      assert.equal(h.activeRequests, 1);
      cluster.endRequest(h, 503);
    }
    assert.equal(h.ejected, true);
    assert.equal(h.activeRequests, 0);
    assert.deepEqual([h.stats.rq_total, h.stats.rq_error, h.stats.rq_active], [2, 2, 0]);
    assert.ok(hosts.includes(h));
    // A cancelled attempt releases the host without judging it.
    const other = hosts.find((x) => x !== h)!;
    cluster.startRequest(other);
    cluster.endRequest(other, null);
    assert.deepEqual([other.activeRequests, other.stats.rq_active, other.stats.rq_error, other.stats.rq_success], [0, 0, 0, 0]);
    cluster.close();
  });

  test('close() stops the sweep timer', () => {
    const { cluster, clock } = setup({});
    assert.equal(clock.pendingTimers(), 1);
    cluster.close();
    assert.equal(clock.pendingTimers(), 0);
  });
});
