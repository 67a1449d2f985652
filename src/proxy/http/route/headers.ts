/**
 * Istio header operations compiled into ordered steps, applied as Envoy applies them: per level,
 * removals first, then `set` and `add` in name order; Host / :authority entries become an
 * authority rewrite instead of a header operation.
 */
import type { HeaderMutator } from './request.js';
import type { HeaderOps } from '../../../snapshot/index.js';
import { RouteConfigError } from '../../../snapshot/index.js';

/** One level of header mutations (destination, or route). */
export interface HeaderStep {
  readonly remove: readonly string[];
  /** `[name, value, append]`; append false = overwrite. */
  readonly write: readonly (readonly [string, string, boolean])[];
}

export interface CompiledHeaderOps {
  step: HeaderStep | null;
  /** Value of a `host` / `:authority` entry in `set` (preferred) or `add`. */
  authority: string | undefined;
}

/** `host` and pseudo-headers cannot be changed by header operations (Istio drops them). */
function isInternal(name: string): boolean {
  return name.startsWith(':') || name === 'host';
}

function isAuthority(name: string): boolean {
  return name === ':authority' || name === 'host';
}

function entries(map: Record<string, string> | undefined, where: string): [string, string][] {
  if (map === undefined) return [];
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(map)) {
    if (typeof v !== 'string') throw new RouteConfigError(`${where}.${k}`, 'header value must be a string');
    if (k === '') throw new RouteConfigError(where, 'header name must not be empty');
    out.push([k.toLowerCase(), v]);
  }
  // Istio emits header operations sorted by name.
  out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return out;
}

export function compileHeaderOps(ops: HeaderOps | undefined, where: string): CompiledHeaderOps {
  if (ops === undefined) return { step: null, authority: undefined };
  const set = entries(ops.set, `${where}.set`);
  const add = entries(ops.add, `${where}.add`);
  let authority: string | undefined;
  for (const [k, v] of add) if (isAuthority(k)) authority = v;
  for (const [k, v] of set) if (isAuthority(k)) authority = v;
  const write: [string, string, boolean][] = [];
  for (const [k, v] of set) if (!isInternal(k)) write.push([k, v, false]);
  for (const [k, v] of add) if (!isInternal(k)) write.push([k, v, true]);
  const remove = (ops.remove ?? []).map((n) => n.toLowerCase()).filter((n) => !isInternal(n));
  const step = write.length === 0 && remove.length === 0 ? null : { remove, write };
  return { step, authority };
}

/** Concatenates two steps into one level (Istio folds a single destination's ops into the route's). */
export function mergeSteps(first: HeaderStep | null, second: HeaderStep | null): HeaderStep | null {
  if (first === null) return second;
  if (second === null) return first;
  return { remove: [...first.remove, ...second.remove], write: [...first.write, ...second.write] };
}

/** Applies the levels in order: each level removes, then writes. */
export function applySteps(steps: readonly HeaderStep[], headers: HeaderMutator): void {
  for (let s = 0; s < steps.length; s++) {
    const step = steps[s];
    for (let i = 0; i < step.remove.length; i++) headers.remove(step.remove[i]);
    for (let i = 0; i < step.write.length; i++) {
      const w = step.write[i];
      if (w[2]) headers.append(w[0], w[1]);
      else headers.set(w[0], w[1]);
    }
  }
}
