/**
 * A compiled route as `RouteTable.select` returns it: one per (route, match block), immutable,
 * built once per snapshot, carrying the per-request decisions the data path asks for.
 */
import type { CompiledCors, HeaderList, LocalResponse } from './cors.js';
import { draw, type FaultDecider, type FaultDecision } from './fault.js';
import { applySteps, type HeaderStep } from './headers.js';
import type { CompiledRedirect } from './redirect.js';
import type { CompiledRetryPolicy } from './retry.js';
import type { PathRewriter } from './rewrite.js';
import type { HashPolicy, Route, RouteMatch } from '../../../snapshot/index.js';
import type { HeaderMutator, RouteRequest } from './request.js';

/** A weighted destination with everything the data path needs for it. */
export interface CompiledDestination {
  readonly cluster: string;
  readonly weight: number;
  readonly hashPolicy: HashPolicy | undefined;
  /** Host / :authority to send upstream, or undefined to keep the request's. */
  readonly authority: string | undefined;
  /** Header levels applied in order (destination before route, as Envoy does for weighted clusters). */
  readonly requestSteps: readonly HeaderStep[];
  readonly responseSteps: readonly HeaderStep[];
}

export interface CompiledMirror {
  readonly cluster: string;
  readonly perMillion: number;
}

/** The parts `compile.ts` assembles into a SelectedRoute. */
export interface SelectedRouteParts {
  name: string;
  virtualHost: string;
  route: Route;
  match: RouteMatch | null;
  destinations: CompiledDestination[];
  totalWeight: number;
  timeoutMs: number;
  retry: CompiledRetryPolicy | null;
  mirrors: CompiledMirror[];
  rewritePath: PathRewriter | null;
  routeAuthority: string | undefined;
  redirect: CompiledRedirect | null;
  fault: FaultDecider | null;
  cors: CompiledCors | null;
  routeRequestSteps: HeaderStep[];
  routeResponseSteps: HeaderStep[];
}

const NO_MIRRORS: readonly string[] = Object.freeze([]);

export class SelectedRoute {
  /** Route name for logs (%ROUTE_NAME%): `route.name`, plus `.matchName` when the block is named. */
  readonly name: string;
  readonly virtualHost: string;
  /** The route as configured. */
  readonly route: Route;
  /** The match block that matched, or null for a route without match blocks. */
  readonly match: RouteMatch | null;
  readonly kind: 'route' | 'redirect' | 'direct';
  /** Weighted destinations (empty unless kind is 'route'); weight-0 entries dropped. */
  readonly destinations: readonly CompiledDestination[];
  /** Route timeout in ms; 0 = none. */
  readonly timeoutMs: number;
  /** Retry policy, or null when retries are off. */
  readonly retry: CompiledRetryPolicy | null;
  /** True when `rewritePath` changes paths (the data path then records x-envoy-original-path). */
  readonly hasPathRewrite: boolean;
  /** Redirect status (kind 'redirect'). */
  readonly redirectCode: number;
  /** Direct response status and body (kind 'direct'). */
  readonly directStatus: number;
  readonly directBody: string | undefined;

  private readonly totalWeight: number;
  private readonly mirrors: readonly CompiledMirror[];
  private readonly pathRewriter: PathRewriter | null;
  private readonly routeAuthority: string | undefined;
  private readonly redirect: CompiledRedirect | null;
  private readonly fault: FaultDecider | null;
  private readonly cors: CompiledCors | null;
  private readonly routeRequestSteps: readonly HeaderStep[];
  private readonly routeResponseSteps: readonly HeaderStep[];

  constructor(p: SelectedRouteParts) {
    this.name = p.name;
    this.virtualHost = p.virtualHost;
    this.route = p.route;
    this.match = p.match;
    this.kind = p.route.action.type;
    this.destinations = p.destinations;
    this.totalWeight = p.totalWeight;
    this.timeoutMs = p.timeoutMs;
    this.retry = p.retry;
    this.mirrors = p.mirrors;
    this.pathRewriter = p.rewritePath;
    this.hasPathRewrite = p.rewritePath !== null;
    this.routeAuthority = p.routeAuthority;
    this.redirect = p.redirect;
    this.redirectCode = p.redirect?.code ?? 0;
    const action = p.route.action;
    this.directStatus = action.type === 'direct' ? action.status : 0;
    this.directBody = action.type === 'direct' ? action.body : undefined;
    this.fault = p.fault;
    this.cors = p.cors;
    this.routeRequestSteps = p.routeRequestSteps;
    this.routeResponseSteps = p.routeResponseSteps;
  }

  /**
   * Picks a destination by weight (Envoy: `random % total`, walked in order); a single
   * destination always wins. Null when the route does not forward.
   */
  pickDestination(random: () => number): CompiledDestination | null {
    const ds = this.destinations;
    if (ds.length <= 1) return ds[0] ?? null;
    let r = Math.floor(random() * this.totalWeight);
    for (let i = 0; i < ds.length; i++) {
      const d = ds[i];
      if (r < d.weight) return d;
      r -= d.weight;
    }
    return ds[ds.length - 1];
  }

  /** The path to send upstream (query kept); the same string when there is no rewrite. */
  rewritePath(path: string): string {
    return this.pathRewriter === null ? path : this.pathRewriter(path);
  }

  /** The Host / :authority to send upstream for this destination. */
  rewriteAuthority(authority: string, dest?: CompiledDestination | null): string {
    return dest?.authority ?? this.routeAuthority ?? authority;
  }

  /** `location` of the redirect (kind 'redirect'); throws for other kinds. */
  redirectLocation(req: RouteRequest): string {
    if (this.redirect === null) throw new Error(`route ${this.name} is not a redirect`);
    return this.redirect.location(req);
  }

  /** Applies request header operations: the destination's levels, or the route's when no destination. */
  applyRequestHeaders(headers: HeaderMutator, dest?: CompiledDestination | null): void {
    applySteps(dest ? dest.requestSteps : this.routeRequestSteps, headers);
  }

  /** Applies response header operations (also for redirects and direct responses, with no destination). */
  applyResponseHeaders(headers: HeaderMutator, dest?: CompiledDestination | null): void {
    applySteps(dest ? dest.responseSteps : this.routeResponseSteps, headers);
  }

  /** The fault to inject into this request, or null (most requests: no allocation). */
  faultFor(random: () => number): FaultDecision | null {
    return this.fault === null ? null : this.fault(random);
  }

  /** Clusters to mirror this request to, each drawn independently by its percentage. */
  mirrorsFor(random: () => number): readonly string[] {
    const ms = this.mirrors;
    if (ms.length === 0) return NO_MIRRORS;
    let out: string[] | null = null;
    for (let i = 0; i < ms.length; i++) {
      const m = ms[i];
      if (draw(m.perMillion, random)) (out ??= []).push(m.cluster);
    }
    return out ?? NO_MIRRORS;
  }

  /** The local answer to a CORS preflight, or null to go on (no policy, not a preflight, or forwarded). */
  corsPreflight(req: RouteRequest): LocalResponse | null {
    return this.cors === null ? null : this.cors.preflight(req);
  }

  /** CORS headers to set on the response to `req`, or null. */
  corsResponseHeaders(req: RouteRequest): HeaderList | null {
    return this.cors === null ? null : this.cors.responseHeaders(req);
  }
}

/** The authority a mirrored request carries: `-shadow` appended to the host, port kept (Envoy). */
export function shadowAuthority(authority: string): string {
  const colon = authority.lastIndexOf(':');
  const bracket = authority.lastIndexOf(']');
  if (colon > bracket && colon > 0 && /^\d+$/.test(authority.slice(colon + 1))) {
    return `${authority.slice(0, colon)}-shadow${authority.slice(colon)}`;
  }
  return `${authority}-shadow`;
}
