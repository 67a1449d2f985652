/**
 * Compiled TLS objects kept across snapshots: a snapshot whose TLS config (and the content of the
 * files it names) is unchanged gets the very objects the previous one had, so connection pools
 * built on them are kept, and secure contexts are not rebuilt on every push.
 */

/** Entries kept; the least recently used go first. */
const CAPACITY = 256;

export class CompiledCache<T> {
  private readonly entries = new Map<string, T>();

  /** The object compiled for `key`, built by `build` the first time. */
  get(key: string, build: () => T): T {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Re-inserted: Map order is insertion order, so the front holds the least recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const value = build();
    this.entries.set(key, value);
    if (this.entries.size > CAPACITY) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }
}
