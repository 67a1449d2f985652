/**
 * Micro-benchmark of one pick per load-balancing policy through a cluster (the call the request
 * path makes), for several host counts; prints ns/pick. No assertions: figures are for reading.
 *
 *   npx tsc -p . && node dist/test/proxy/upstream/lb.bench.js [picks-per-case]
 */
import { createCluster } from '../../../src/proxy/upstream/cluster.js';
import { seededRandom } from '../../../src/proxy/upstream/random.js';
import type { LbPolicy } from '../../../src/snapshot/index.js';
import type { PickContext } from '../../../src/proxy/upstream/types.js';

const PICKS = Number(process.argv[2] ?? 500_000);

const policies: [string, LbPolicy][] = [
  ['ROUND_ROBIN', { policy: 'ROUND_ROBIN' }],
  ['LEAST_REQUEST', { policy: 'LEAST_REQUEST' }],
  ['RANDOM', { policy: 'RANDOM' }],
  ['RING_HASH', { policy: 'RING_HASH', hash: { header: 'x-user' } }],
  ['MAGLEV', { policy: 'MAGLEV', hash: { header: 'x-user' } }],
];

function bench(hostCount: number, weighted: boolean, policy: LbPolicy): number {
  const cluster = createCluster(
    {
      name: 'bench',
      lb: policy,
      endpoints: Array.from({ length: hostCount }, (_, i) => ({
        address: `10.${i >> 8}.${i & 255}.1`,
        port: 8080,
        weight: weighted ? 1 + (i % 5) : 1,
      })),
    },
    { random: seededRandom(1) },
  );
  const keys = Array.from({ length: 1024 }, (_, i) => ({ hashKey: `user-${i}` }) satisfies PickContext);
  const empty: PickContext = {};
  const hashing = policy.policy === 'RING_HASH' || policy.policy === 'MAGLEV';
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink += cluster.pick(hashing ? keys[i & 1023] : empty)!.port;
  const start = process.hrtime.bigint();
  for (let i = 0; i < PICKS; i++) sink += cluster.pick(hashing ? keys[i & 1023] : empty)!.port;
  const ns = Number(process.hrtime.bigint() - start) / PICKS;
  cluster.close();
  if (sink === 0) console.log('unreachable');
  return ns;
}

const rows: Record<string, Record<string, string>> = {};
for (const [name, policy] of policies) {
  rows[name] = {};
  for (const hosts of [3, 10, 100]) {
    for (const weighted of [false, true]) {
      rows[name][`${hosts}${weighted ? ' weighted' : ''}`] = `${bench(hosts, weighted, policy).toFixed(0)} ns`;
    }
  }
}
console.log(`ns per cluster.pick(), ${PICKS} picks per case (hash policies include hashing the key)`);
console.table(rows);
