/**
 * Applying a `delta` message (protocol in `protocol.ts`) to the snapshot it was computed against:
 * the proxy's control client and the simulated proxy both rebuild the complete snapshot this way,
 * then treat it as if it had arrived whole. The base is never modified; what changed is copied.
 */
import type { SnapshotDelta } from './protocol.js';

/** A delta that does not fit its base; `path` names the offending part (`delta.items.clusters.17`). */
export class DeltaError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'DeltaError';
  }
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy of `list` with the given positions replaced; each replacement must keep the name it replaces. */
function replaceAt(list: unknown, changes: unknown, path: string): unknown[] {
  if (!Array.isArray(list)) throw new DeltaError(path, 'the base has no such list');
  if (!isObj(changes)) throw new DeltaError(path, 'must be an object of positions');
  const out = [...(list as unknown[])];
  for (const [key, item] of Object.entries(changes)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= out.length || String(i) !== key) throw new DeltaError(`${path}.${key}`, `position out of range (the base has ${out.length})`);
    const before = (out[i] as { name?: unknown } | null)?.name;
    const after = isObj(item) ? item.name : undefined;
    if (before !== after) throw new DeltaError(`${path}.${key}`, `replaces ${JSON.stringify(before)} with ${JSON.stringify(after)}; positions must keep their names`);
    out[i] = item;
  }
  return out;
}

/** The complete snapshot that `delta` makes of `base`, with `version` set. */
export function applyDelta(base: Obj, delta: SnapshotDelta, version: string): Obj {
  const out: Obj = { ...base, version };
  if (delta.items !== undefined) {
    if (!isObj(delta.items)) throw new DeltaError('delta.items', 'must be an object');
    for (const [key, changes] of Object.entries(delta.items)) out[key] = replaceAt(out[key], changes, `delta.items.${key}`);
  }
  if (delta.virtualHosts !== undefined) {
    if (!isObj(delta.virtualHosts)) throw new DeltaError('delta.virtualHosts', 'must be an object');
    const routes = replaceAt(out.routes, {}, 'delta.virtualHosts');
    for (const [key, changes] of Object.entries(delta.virtualHosts)) {
      const i = Number(key);
      const route = routes[i];
      if (!Number.isInteger(i) || !isObj(route)) throw new DeltaError(`delta.virtualHosts.${key}`, `no route config at that position (the base has ${routes.length})`);
      routes[i] = { ...route, virtualHosts: replaceAt(route.virtualHosts, changes, `delta.virtualHosts.${key}`) };
    }
    out.routes = routes;
  }
  if (delta.put !== undefined) {
    if (!isObj(delta.put)) throw new DeltaError('delta.put', 'must be an object');
    for (const [key, value] of Object.entries(delta.put)) if (key !== 'version') out[key] = value;
  }
  if (delta.drop !== undefined) {
    if (!Array.isArray(delta.drop)) throw new DeltaError('delta.drop', 'must be a list of field names');
    for (const key of delta.drop) if (typeof key === 'string' && key !== 'version') delete out[key];
  }
  return out;
}
