/**
 * Behaviour particular to each balancer beyond the shared conformance suite: round robin's
 * rotation and smoothness, least request's preference for idle hosts, passthrough, the factory.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createLeastRequestLb,
  createLoadBalancer,
  createMaglevLb,
  createPassthroughLb,
  createRingHashLb,
  createRoundRobinLb,
} from '../../../src/proxy/upstream/lb/index.js';
import { HostImpl } from '../../../src/proxy/upstream/endpoint.js';
import { seededRandom } from '../../../src/proxy/upstream/random.js';
import { makeHosts, shares, tally } from './lb-helpers.js';

describe('ROUND_ROBIN', () => {
  test('equal weights: every window of N picks visits each host once', () => {
    const hosts = makeHosts([1, 1, 1, 1]);
    const lb = createRoundRobinLb(hosts, seededRandom(1));
    for (let round = 0; round < 5; round++) {
      const seen = new Set(Array.from({ length: 4 }, () => lb.pick({})!.key));
      assert.equal(seen.size, 4);
    }
  });

  test('unequal weights are smooth: picks never drift from the weight share by more than one round', () => {
    const hosts = makeHosts([5, 1, 1]);
    const lb = createRoundRobinLb(hosts, seededRandom(2));
    const counts = [0, 0, 0];
    let maxRun = 0;
    let run = 0;
    let last = -1;
    for (let i = 1; i <= 7000; i++) {
      const idx = hosts.indexOf(lb.pick({}) as HostImpl);
      counts[idx]++;
      run = idx === last ? run + 1 : 1;
      last = idx;
      maxRun = Math.max(maxRun, run);
      hosts.forEach((h, j) => assert.ok(Math.abs(counts[j] - (i * h.weight) / 7) <= 7, `pick ${i}: host ${j} drifted`));
    }
    // Plain weighted round robin would send 5 in a row to the heavy host; smooth interleaves.
    assert.ok(maxRun <= 4, `heavy host picked ${maxRun} times in a row`);
  });
});

describe('LEAST_REQUEST', () => {
  test('power of two choices: a busy host is picked only when both samples hit it', () => {
    const hosts = makeHosts([1, 1, 1, 1]);
    hosts[0].activeRequests = 10;
    const n = 20_000;
    const got = shares(tally(createLeastRequestLb(hosts, seededRandom(3)), n), hosts, n);
    // Both of two samples land on host 0 with probability 1/16.
    assert.ok(got[0] > 0.04 && got[0] < 0.085, `busy host share ${got[0]}`);
  });

  test('more choices make the busy host rarer', () => {
    const hosts = makeHosts([1, 1, 1, 1]);
    hosts[0].activeRequests = 10;
    const n = 20_000;
    const got = shares(tally(createLeastRequestLb(hosts, seededRandom(4), 4), n), hosts, n);
    assert.ok(got[0] < 0.01, `busy host share ${got[0]} with 4 choices`);
  });

  test('weighted: load divides the weight (weight / (active + 1))', () => {
    const hosts = makeHosts([2, 2]);
    hosts[0].activeRequests = 3; // effective weight 0.5 against 2
    const n = 10_000;
    const got = shares(tally(createLeastRequestLb([...hosts, ...makeHosts([1], 9)], seededRandom(5)), n), hosts, n);
    // Effective weights 0.5 : 2 : 1 → shares 1/7, 4/7 (the third host takes the rest).
    assert.ok(Math.abs(got[0] - 1 / 7) < 0.01, `busy host share ${got[0]}`);
    assert.ok(Math.abs(got[1] - 4 / 7) < 0.01, `idle host share ${got[1]}`);
  });

  test('reads active requests live, without a rebuild', () => {
    const hosts = makeHosts([1, 1]);
    const lb = createLeastRequestLb(hosts, seededRandom(6), 24);
    hosts[1].activeRequests = 5;
    assert.equal(tally(lb, 100).get(hosts[0].key), 100);
    hosts[1].activeRequests = 0;
    hosts[0].activeRequests = 5;
    assert.equal(tally(lb, 100).get(hosts[1].key), 100);
  });
});

describe('consistent hashing details', () => {
  test('numeric keys are spread, not used as raw indices', () => {
    const hosts = makeHosts([1, 1, 1, 1]);
    for (const lb of [createRingHashLb(hosts, seededRandom(7)), createMaglevLb(hosts, seededRandom(7))]) {
      const counts = tally(lb, 4000, (i) => ({ hashKey: i }));
      assert.equal(counts.size, 4);
      for (const c of counts.values()) assert.ok(c > 700, `uneven spread of sequential numeric keys: ${c}`);
    }
  });

  test('removing a host only moves the keys it owned', () => {
    const hosts = makeHosts([1, 1, 1, 1, 1]);
    const removed = hosts[2];
    const rest = hosts.filter((h) => h !== removed);
    const before = createRingHashLb(hosts, seededRandom(8));
    const after = createRingHashLb(rest, seededRandom(8));
    for (let i = 0; i < 5000; i++) {
      const was = before.pick({ hashKey: `k${i}` })!;
      if (was !== removed) assert.equal(after.pick({ hashKey: `k${i}` }), was);
    }
  });

  test('Maglev table size must be honoured for small prime tables too', () => {
    const hosts = makeHosts([1, 3]);
    const counts = tally(createMaglevLb(hosts, seededRandom(9), 251), 10_000, (i) => ({ hashKey: `k${i}` }));
    const heavy = (counts.get(hosts[1].key) ?? 0) / 10_000;
    assert.ok(Math.abs(heavy - 0.75) < 0.05, `weight-3 host share ${heavy}`);
  });
});

describe('PASSTHROUGH', () => {
  test('returns the host of the original destination, none without one', () => {
    const made: string[] = [];
    const lb = createPassthroughLb((address, port) => {
      made.push(`${address}:${port}`);
      return new HostImpl({ address, port });
    });
    assert.equal(lb.pick({}), undefined);
    assert.equal(lb.pick({ originalDestination: { address: '192.168.1.7', port: 443 } })?.key, '192.168.1.7:443');
    assert.deepEqual(made, ['192.168.1.7:443']);
  });
});

describe('createLoadBalancer', () => {
  test('builds the named policy', () => {
    const hosts = makeHosts([1, 1, 1]);
    for (const policy of ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM'] as const) {
      assert.equal(tally(createLoadBalancer({ policy }, hosts, { random: seededRandom(10) }), 300).size, 3, policy);
    }
    const ring = createLoadBalancer({ policy: 'RING_HASH', hash: { header: 'x' } }, hosts, { random: seededRandom(10) });
    assert.equal(ring.pick({ hashKey: 'a' }), ring.pick({ hashKey: 'a' }));
  });

  test('PASSTHROUGH without a host factory is a programming error, reported clearly', () => {
    assert.throws(() => createLoadBalancer({ policy: 'PASSTHROUGH' }, [], { random: seededRandom(1) }), /originalDestinationHost/);
  });
});

describe('ring sizing', () => {
  test('huge weights are scaled to the maximum ring size instead of exhausting memory', () => {
    const hosts = makeHosts([1_000_000_000, 3_000_000_000]);
    const lb = createRingHashLb(hosts, seededRandom(11), { minimumRingSize: 1024, maximumRingSize: 4096 });
    const n = 20_000;
    const got = shares(tally(lb, n, (i) => ({ hashKey: `k${i}` })), hosts, n);
    assert.ok(Math.abs(got[1] - 0.75) < 0.06, `heavy host share ${got[1]}`);
  });
});
