/** Random sources for load balancers: `Math.random` in the proxy, a seeded generator in tests. */
import type { Random } from './types.js';

export const systemRandom: Random = Math.random;

/** Deterministic uniform [0, 1) generator (mulberry32) for reproducible tests and benchmarks. */
export function seededRandom(seed: number): Random {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [0, n). */
export function randomIndex(random: Random, n: number): number {
  return Math.floor(random() * n);
}
