/**
 * MAGLEV consistent hashing (Google's Maglev paper, weighted as Envoy does): a prime-sized lookup
 * table filled by each host's permutation (offset, skip), hosts taking turns in proportion to
 * weight. O(1) picks; adding or removing one of N hosts moves about 1/N of the keys.
 */
import type { Endpoint, LoadBalancer, PickContext, Random } from '../types.js';
import { hashKey, hashString, fmix32 } from '../hash.js';
import { DEFAULT_MAGLEV_TABLE_SIZE } from '../../../snapshot/index.js';
import { isExcluded, pickAvoiding } from './common.js';

export function createMaglevLb(hosts: readonly Endpoint[], random: Random, tableSize = DEFAULT_MAGLEV_TABLE_SIZE): LoadBalancer {
  const n = hosts.length;
  if (n === 0) return { pick: () => undefined };
  const table = buildTable(hosts, tableSize);
  return {
    pick(ctx: PickContext) {
      const h = ctx.hashKey === undefined ? Math.floor(random() * tableSize) : hashKey(ctx.hashKey);
      const host = hosts[table[h % tableSize]];
      const exclude = ctx.exclude;
      if (exclude === undefined || !isExcluded(exclude, host)) return host;
      // Retries re-hash with the attempt number mixed in, like Envoy, so they land on other hosts.
      return pickAvoiding(hosts, exclude, n + 3, (attempt) => hosts[table[(attempt === 0 ? h : fmix32(h ^ ~attempt)) % tableSize]]);
    },
  };
}

/** Fills the table; each host walks its own permutation `(offset + next × skip) mod M`. */
function buildTable(hosts: readonly Endpoint[], size: number): Uint32Array {
  const n = hosts.length;
  const table = new Uint32Array(size);
  const filled = new Uint8Array(size);
  const offset = new Uint32Array(n);
  const skip = new Uint32Array(n);
  const next = new Uint32Array(n);
  const credit = new Float64Array(n);
  let maxWeight = 0;
  for (let i = 0; i < n; i++) {
    const key = hosts[i].key;
    offset[i] = hashString(key, 0) % size;
    skip[i] = (hashString(key, 1) % (size - 1)) + 1;
    maxWeight = Math.max(maxWeight, hosts[i].weight);
  }
  let placed = 0;
  for (let iteration = 1; placed < size; iteration++) {
    for (let i = 0; i < n && placed < size; i++) {
      // A host of weight maxWeight/k takes a turn every k iterations.
      if (iteration * hosts[i].weight < credit[i]) continue;
      credit[i] += maxWeight;
      let c = (offset[i] + next[i] * skip[i]) % size;
      while (filled[c] === 1) {
        next[i]++;
        c = (offset[i] + next[i] * skip[i]) % size;
      }
      table[c] = i;
      filled[c] = 1;
      next[i]++;
      placed++;
    }
  }
  return table;
}
