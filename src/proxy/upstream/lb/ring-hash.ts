/**
 * RING_HASH (Ketama-style consistent hashing as Envoy builds it): each host owns ring points in
 * proportion to its weight, at least `minimumRingSize` points in all; a key goes to the first
 * point clockwise from its hash. Adding or removing one of N hosts moves about 1/N of the keys.
 */
import type { Endpoint, LoadBalancer, PickContext, Random } from '../types.js';
import { hashKey, hashString } from '../hash.js';
import { DEFAULT_MINIMUM_RING_SIZE, MAX_RING_SIZE } from '../../../snapshot/index.js';
import { isExcluded } from './common.js';

export interface RingHashOptions {
  minimumRingSize?: number;
  maximumRingSize?: number;
}

export function createRingHashLb(hosts: readonly Endpoint[], random: Random, opts: RingHashOptions = {}): LoadBalancer {
  const n = hosts.length;
  if (n === 0) return { pick: () => undefined };
  const { hashes, owners } = buildRing(hosts, opts.minimumRingSize ?? DEFAULT_MINIMUM_RING_SIZE, opts.maximumRingSize ?? MAX_RING_SIZE);
  const size = hashes.length;
  return {
    pick(ctx: PickContext) {
      // Envoy hashes a random value when the request carries no key.
      let i = ctx.hashKey === undefined ? Math.floor(random() * size) : firstAtOrAfter(hashes, hashKey(ctx.hashKey));
      const host = hosts[owners[i]];
      if (ctx.exclude === undefined || !isExcluded(ctx.exclude, host)) return host;
      // Retries walk clockwise to the next host not excluded (Envoy's per-attempt ring walk).
      for (let step = 1; step < size; step++) {
        i = i + 1 === size ? 0 : i + 1;
        const candidate = hosts[owners[i]];
        if (!isExcluded(ctx.exclude, candidate)) return candidate;
      }
      return host;
    },
  };
}

/** Index of the first ring point whose hash is >= h, wrapping to 0. */
function firstAtOrAfter(hashes: Uint32Array, h: number): number {
  let lo = 0;
  let hi = hashes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hashes[mid] < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === hashes.length ? 0 : lo;
}

/**
 * Builds the sorted ring: parallel arrays of point hashes and owning host indices.
 *
 * Sizing departs from Envoy's on purpose. Envoy spreads exactly `minimumRingSize` points over the
 * hosts, so every host's point count shrinks when one is added, and the dropped points move keys
 * between hosts that did not change. Here each unit of weight gets the same number of points,
 * rounded up to a power of two (so the ring has between 1× and 2× `minimumRingSize` points):
 * host counts change the per-host share only when crossing a power of two, and otherwise an added
 * host takes about 1/N of the keys, all from the others, and nothing else moves.
 */
function buildRing(hosts: readonly Endpoint[], minSize: number, maxSize: number): { hashes: Uint32Array; owners: Uint32Array } {
  const totalWeight = hosts.reduce((sum, h) => sum + h.weight, 0);
  // Past the maximum size (huge weights), points are scaled down proportionally instead.
  const perWeight = Math.min(2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(minSize / totalWeight)))), maxSize / totalWeight);
  // Point hash and host index packed in one float (32 + 21 bits < 2^53) so a native numeric
  // sort orders the ring; ties on equal hashes break by host index, deterministically.
  const points: number[] = [];
  for (let i = 0; i < hosts.length; i++) {
    const host = hosts[i];
    const count = Math.max(1, Math.floor(perWeight * host.weight));
    for (let k = 0; k < count; k++) points.push(hashString(`${host.key}_${k}`) * 2097152 + i);
  }
  const packed = Float64Array.from(points).sort();
  const hashes = new Uint32Array(packed.length);
  const owners = new Uint32Array(packed.length);
  for (let j = 0; j < packed.length; j++) {
    const p = packed[j];
    owners[j] = p % 2097152;
    hashes[j] = (p - owners[j]) / 2097152;
  }
  return { hashes, owners };
}
