/**
 * The hash behind consistent-hash load balancing: MurmurHash3 (x86, 32-bit) over the UTF-16 code
 * units of a string. Envoy uses xxHash64; nothing outside this proxy sees the values, so a hash
 * that JavaScript computes with 32-bit integer ops (no BigInt) is the faster choice, and 32 bits
 * are ample for rings of up to 8M entries.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** 32-bit unsigned hash of `s`; `seed` gives independent hash functions (Maglev needs two). */
export function hashString(s: string, seed = 0): number {
  let h = seed >>> 0;
  const len = s.length;
  // Two UTF-16 units make one 32-bit block.
  const blocks = len & ~1;
  for (let i = 0; i < blocks; i += 2) {
    let k = (s.charCodeAt(i) & 0xffff) | ((s.charCodeAt(i + 1) & 0xffff) << 16);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (len & 1) {
    let k = s.charCodeAt(len - 1) & 0xffff;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= len * 2;
  return fmix32(h);
}

/** Murmur3's finalizer: spreads every input bit over the output; used for numeric keys. */
export function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of a pick key: strings hashed, numbers mixed (so sequential numbers spread). */
export function hashKey(key: string | number): number {
  return typeof key === 'number' ? fmix32(Number.isInteger(key) ? key : hashString(String(key))) : hashString(key);
}
