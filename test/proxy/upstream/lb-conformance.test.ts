/**
 * One conformance suite run against every load-balancing algorithm: coverage of hosts, weights,
 * exclusion, hash stability and minimal disruption; then, through a real cluster, that
 * unhealthy and ejected hosts are avoided except in Envoy's panic mode.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createLeastRequestLb,
  createMaglevLb,
  createRandomLb,
  createRingHashLb,
  createRoundRobinLb,
} from '../../../src/proxy/upstream/lb/index.js';
import { createCluster } from '../../../src/proxy/upstream/cluster.js';
import { createManualClock } from '../../../src/proxy/upstream/clock.js';
import { seededRandom } from '../../../src/proxy/upstream/random.js';
import type { Endpoint, LoadBalancer, Random } from '../../../src/proxy/upstream/types.js';
import type { LbPolicy } from '../../../src/snapshot/index.js';
import { makeHosts, shares, tally } from './lb-helpers.js';

interface LbUnderTest {
  name: string;
  policy: LbPolicy;
  newLb(hosts: readonly Endpoint[], random: Random): LoadBalancer;
  /** Consistent-hash balancers: same key → same host. */
  hashing: boolean;
  /** Allowed absolute deviation of a host's share from its weight share. */
  weightTolerance: number;
}

const ALL: LbUnderTest[] = [
  { name: 'ROUND_ROBIN', policy: { policy: 'ROUND_ROBIN' }, newLb: createRoundRobinLb, hashing: false, weightTolerance: 0.005 },
  { name: 'LEAST_REQUEST', policy: { policy: 'LEAST_REQUEST' }, newLb: (h, r) => createLeastRequestLb(h, r), hashing: false, weightTolerance: 0.005 },
  { name: 'RANDOM', policy: { policy: 'RANDOM' }, newLb: createRandomLb, hashing: false, weightTolerance: 0.02 },
  {
    name: 'RING_HASH',
    policy: { policy: 'RING_HASH', hash: { header: 'x-user' }, minimumRingSize: 16384 },
    newLb: (h, r) => createRingHashLb(h, r, { minimumRingSize: 16384 }),
    hashing: true,
    weightTolerance: 0.04,
  },
  { name: 'MAGLEV', policy: { policy: 'MAGLEV', hash: { header: 'x-user' } }, newLb: createMaglevLb, hashing: true, weightTolerance: 0.03 },
];

/** Per-pick context: a distinct key per pick for hashing balancers, nothing otherwise. */
function keyed(lb: LbUnderTest): (i: number) => { hashKey?: string } {
  return lb.hashing ? (i) => ({ hashKey: `user-${i}` }) : () => ({});
}

for (const lb of ALL) {
  describe(`${lb.name} conformance`, () => {
    test('an empty host set yields no host', () => {
      assert.equal(lb.newLb([], seededRandom(1)).pick({ hashKey: 'k' }), undefined);
    });

    test('a single host is always picked', () => {
      const [only] = makeHosts([3]);
      const balancer = lb.newLb([only], seededRandom(1));
      for (let i = 0; i < 50; i++) assert.equal(balancer.pick({ hashKey: `k${i}` }), only);
    });

    test('every host is eventually picked', () => {
      const hosts = makeHosts([1, 1, 1, 1, 1, 1, 1]);
      const counts = tally(lb.newLb(hosts, seededRandom(2)), 2000, keyed(lb));
      for (const h of hosts) assert.ok((counts.get(h.key) ?? 0) > 0, `${h.key} never picked`);
      assert.equal(counts.get('none'), undefined);
    });

    test('weights are respected statistically', () => {
      const weights = [1, 2, 5];
      const hosts = makeHosts(weights);
      const n = 40_000;
      const got = shares(tally(lb.newLb(hosts, seededRandom(3)), n, keyed(lb)), hosts, n);
      weights.forEach((w, i) => {
        const want = w / 8;
        assert.ok(Math.abs(got[i] - want) <= lb.weightTolerance, `host ${i}: share ${got[i].toFixed(4)}, want ${want} ± ${lb.weightTolerance}`);
      });
    });

    test('an excluded host is avoided while another exists', () => {
      const hosts = makeHosts([1, 1, 1]);
      const balancer = lb.newLb(hosts, seededRandom(4));
      for (let i = 0; i < 300; i++) {
        const first = balancer.pick({ hashKey: `k${i}` })!;
        const retry = balancer.pick({ hashKey: `k${i}`, exclude: first });
        assert.notEqual(retry, first, `attempt ${i} picked the excluded host again`);
        const third = balancer.pick({ hashKey: `k${i}`, exclude: new Set([first, retry!]) });
        assert.ok(third !== first && third !== retry, `attempt ${i}: third pick repeated an excluded host`);
      }
    });

    test('an excluded host is still returned when it is the only one', () => {
      const hosts = makeHosts([1]);
      const balancer = lb.newLb(hosts, seededRandom(5));
      assert.equal(balancer.pick({ hashKey: 'k', exclude: hosts[0] }), hosts[0]);
    });

    if (!lb.hashing) return;

    test('the same key always maps to the same host, across rebuilds', () => {
      const hosts = makeHosts([1, 1, 1, 1, 1]);
      const a = lb.newLb(hosts, seededRandom(6));
      const b = lb.newLb(hosts, seededRandom(7));
      for (let i = 0; i < 500; i++) {
        const key = `session-${i}`;
        const host = a.pick({ hashKey: key });
        assert.equal(a.pick({ hashKey: key }), host);
        assert.equal(b.pick({ hashKey: key }), host, `rebuilt balancer disagrees for ${key}`);
      }
    });

    test('adding a host moves about 1/N of the keys, onto the new host', () => {
      const before = makeHosts([1, 1, 1, 1]);
      const added = makeHosts([1], 9)[0];
      const lbBefore = lb.newLb(before, seededRandom(8));
      const lbAfter = lb.newLb([...before, added], seededRandom(8));
      const n = 20_000;
      let moved = 0;
      let movedElsewhere = 0;
      for (let i = 0; i < n; i++) {
        const key = `key-${i}`;
        const was = lbBefore.pick({ hashKey: key })!.key;
        const now = lbAfter.pick({ hashKey: key })!.key;
        if (was !== now) {
          moved++;
          if (now !== added.key) movedElsewhere++;
        }
      }
      const fraction = moved / n;
      assert.ok(fraction > 0.12 && fraction < 0.3, `moved ${fraction.toFixed(3)} of keys; about 1/5 expected`);
      // Ring hash never shuffles keys between old hosts; Maglev allows a little churn.
      assert.ok(movedElsewhere / n < 0.03, `${movedElsewhere} keys moved between existing hosts`);
    });

    test('a request without a key gets a random host', () => {
      const hosts = makeHosts([1, 1, 1, 1]);
      const counts = tally(lb.newLb(hosts, seededRandom(9)), 4000);
      for (const h of hosts) assert.ok((counts.get(h.key) ?? 0) > 600, `${h.key} got ${counts.get(h.key) ?? 0} of 4000 keyless picks`);
    });
  });
}

describe('host health through a cluster, every policy', () => {
  const endpoints = [
    { address: '10.1.0.1', port: 80 },
    { address: '10.1.0.2', port: 80 },
    { address: '10.1.0.3', port: 80, healthy: false },
    { address: '10.1.0.4', port: 80 },
  ];
  for (const lb of ALL) {
    test(`${lb.name}: unhealthy and ejected hosts are never picked`, () => {
      const clock = createManualClock();
      const cluster = createCluster(
        { name: 'outbound|80||svc', endpoints, lb: lb.policy, outlierDetection: { consecutive5xxErrors: 1, maxEjectionPercent: 100 } },
        { clock, random: seededRandom(10) },
      );
      const ejected = cluster.endpoints.find((e) => e.address === '10.1.0.2')!;
      cluster.report(ejected, 503);
      assert.equal(ejected.ejected, true);
      const counts = tally(cluster, 3000, keyed(lb));
      assert.deepEqual([...counts.keys()].sort(), ['10.1.0.1:80', '10.1.0.4:80']);
      cluster.close();
    });

    test(`${lb.name}: below the panic threshold every host is balanced over`, () => {
      // Without outlier detection the threshold is Envoy's 50%; 1 of 4 available is 25%.
      const cluster = createCluster(
        {
          name: 'outbound|80||svc',
          lb: lb.policy,
          endpoints: endpoints.map((e, i) => ({ ...e, healthy: i === 0 })),
        },
        { random: seededRandom(11) },
      );
      assert.equal(cluster.inPanic, true);
      const counts = tally(cluster, 4000, keyed(lb));
      assert.equal(counts.size, 4, `picked ${[...counts.keys()].join(', ')}`);
      assert.equal(cluster.counters.get('lb_healthy_panic'), 4000);
      cluster.close();
    });

    test(`${lb.name}: with panic disabled and no host available, no host (no healthy upstream)`, () => {
      const cluster = createCluster(
        {
          name: 'outbound|80||svc',
          lb: lb.policy,
          healthyPanicThresholdPercent: 0,
          endpoints: endpoints.map((e) => ({ ...e, healthy: false })),
        },
        { random: seededRandom(12) },
      );
      assert.equal(cluster.pick({ hashKey: 'k' }), undefined);
      assert.equal(cluster.counters.get('upstream_cx_none_healthy'), 1);
      cluster.close();
    });
  }
});
