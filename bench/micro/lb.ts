/**
 * One pick per load-balancing policy through a cluster (the call the request path makes), for
 * 3, 10 and 100 hosts, equal and unequal weights; hash policies include hashing the key.
 */
import { createCluster } from '../../src/proxy/upstream/cluster.js';
import { seededRandom } from '../../src/proxy/upstream/random.js';
import type { PickContext } from '../../src/proxy/upstream/types.js';
import type { LbPolicy } from '../../src/snapshot/index.js';
import { check, measure } from './measure.js';
import type { MicroResult } from './measure.js';

const PICKS = 500_000;

const POLICIES: [string, LbPolicy][] = [
  ['ROUND_ROBIN', { policy: 'ROUND_ROBIN' }],
  ['LEAST_REQUEST', { policy: 'LEAST_REQUEST' }],
  ['RANDOM', { policy: 'RANDOM' }],
  ['RING_HASH', { policy: 'RING_HASH', hash: { header: 'x-user' } }],
  ['MAGLEV', { policy: 'MAGLEV', hash: { header: 'x-user' } }],
  // backendUtilization with no reports yet: the weighted pick over equal weights, update check included.
  ['CLIENT_SIDE_WEIGHTED_ROUND_ROBIN', { policy: 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN' }],
];

function pickBench(name: string, hostCount: number, weighted: boolean, policy: LbPolicy): MicroResult {
  const cluster = createCluster(
    {
      name: 'bench',
      lb: policy,
      endpoints: Array.from({ length: hostCount }, (_, i) => ({ address: `10.${i >> 8}.${i & 255}.1`, port: 8080, weight: weighted ? 1 + (i % 5) : 1 })),
    },
    { random: seededRandom(1) },
  );
  try {
    const keys = Array.from({ length: 1024 }, (_, i) => ({ hashKey: `user-${i}` }) satisfies PickContext);
    const empty: PickContext = {};
    const hashing = policy.policy === 'RING_HASH' || policy.policy === 'MAGLEV';
    if (hashing) check(cluster.pick(keys[5])?.address === cluster.pick(keys[5])?.address, `${name}: one key, one host`);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(cluster.pick(hashing ? keys[i & 1023] : empty)!.address);
    check(seen.size > 1, `${name}: picks spread over the hosts`);
    return measure(`lb: ${name} ${hostCount} hosts${weighted ? ' weighted' : ''}`, PICKS, (i) => cluster.pick(hashing ? keys[i & 1023] : empty));
  } finally {
    cluster.close();
  }
}

export function lbBench(): MicroResult[] {
  const out: MicroResult[] = [];
  for (const [name, policy] of POLICIES) {
    for (const hosts of [3, 10, 100]) for (const weighted of [false, true]) out.push(pickBench(name, hosts, weighted, policy));
  }
  return out;
}
