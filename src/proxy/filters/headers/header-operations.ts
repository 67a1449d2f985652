/**
 * The header-operations filter: Istio's `headers.request` / `headers.response` of a route and of
 * each weighted destination, compiled into ordered steps and applied as Envoy applies them: per
 * level, removals first, then `set` and `add` in name order; Host / :authority entries become an
 * authority rewrite (the router's) instead of a header operation. The request side runs once the
 * destination is chosen, the response side on every forwarded response and on the route's own
 * redirects and direct responses.
 */
import type { HeaderMutator } from '../http-filter.js';
import type { HeaderOps, Route, WeightedCluster } from '../../../snapshot/index.js';
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

/** The header operations that apply to a request (its destination's, or its route's without one), compiled. */
export class HeaderOperations {
  constructor(
    /** Levels applied in order (destination before route, as Envoy does for weighted clusters). */
    readonly requestSteps: readonly HeaderStep[],
    readonly responseSteps: readonly HeaderStep[],
  ) {}

  /** Request side: applied to the request headers before they go upstream. */
  applyRequest(headers: HeaderMutator): void {
    applySteps(this.requestSteps, headers);
  }

  /** Response side: applied to the response headers before they go downstream. */
  applyResponse(headers: HeaderMutator): void {
    applySteps(this.responseSteps, headers);
  }
}

/** Operations that change nothing. */
export const NO_HEADER_OPERATIONS = new HeaderOperations([], []);

/** A route's header operations: its own level, and what applies to each of its destinations. */
export class RouteHeaderOperations {
  /** The route's level alone: what applies to a request with no destination (redirect, direct response). */
  readonly route: HeaderOperations;
  /** Host / :authority set by the route's request operations (an authority rewrite), if any. */
  readonly authority: string | undefined;
  private readonly routeRequest: HeaderStep | null;
  private readonly routeResponse: HeaderStep | null;

  constructor(r: Route, where: string) {
    const req = compileHeaderOps(r.requestHeaders, `${where}.requestHeaders`);
    const resp = compileHeaderOps(r.responseHeaders, `${where}.responseHeaders`);
    this.routeRequest = req.step;
    this.routeResponse = resp.step;
    this.authority = req.authority;
    this.route = req.step === null && resp.step === null ? NO_HEADER_OPERATIONS : new HeaderOperations(compact(req.step), compact(resp.step));
  }

  /**
   * The operations of one destination (`where` names it) and the authority its own operations
   * set. Istio folds a single destination's operations into the route's (destination last, so its
   * `set` wins); weighted destinations keep their own level, applied before the route's.
   */
  forDestination(d: WeightedCluster, single: boolean, where: string): { operations: HeaderOperations; authority: string | undefined } {
    const req = compileHeaderOps(d.requestHeaders, `${where}.requestHeaders`);
    const resp = compileHeaderOps(d.responseHeaders, `${where}.responseHeaders`);
    const requestSteps = single ? compact(mergeSteps(this.routeRequest, req.step)) : compact(req.step, this.routeRequest);
    const responseSteps = single ? compact(mergeSteps(this.routeResponse, resp.step)) : compact(resp.step, this.routeResponse);
    const operations = requestSteps.length === 0 && responseSteps.length === 0 ? NO_HEADER_OPERATIONS : new HeaderOperations(requestSteps, responseSteps);
    return { operations, authority: req.authority };
  }
}

function compact(...steps: (HeaderStep | null)[]): HeaderStep[] {
  return steps.filter((s): s is HeaderStep => s !== null);
}
