/**
 * A list that starts with the items of a list shared by many snapshots (a sidecar's clusters: the
 * outbound ones of its scope, then its own). Recorded so the push encoder can encode and hash the
 * shared run once per scope instead of item by item for every proxy; the list itself is an
 * ordinary array, and an encoder that ignores the record gets the same result, only slower.
 */

const prefixes = new WeakMap<readonly unknown[], readonly unknown[]>();

/** `[...shared, ...rest]`, remembered as starting with `shared`. Neither may be mutated afterwards. */
export function withSharedPrefix<T>(shared: readonly T[], rest: readonly T[]): T[] {
  const out = [...shared, ...rest];
  prefixes.set(out, shared);
  return out;
}

/** The shared list `list` starts with, if it was built by `withSharedPrefix`. */
export function sharedPrefixOf(list: readonly unknown[]): readonly unknown[] | undefined {
  return prefixes.get(list);
}
