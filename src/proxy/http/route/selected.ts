/**
 * A compiled route as `RouteTable.select` returns it: one per (route, match block), immutable,
 * built once per snapshot. It carries what the router needs (destinations, rewrites, timeout,
 * retries) and, in `filters`, each per-route filter compiled (Envoy's per-filter config of a
 * route), which the request path asks at the filter's phase.
 */
import type { CorsFilter } from '../../filters/cors/cors.js';
import type { FaultFilter } from '../../filters/fault/fault.js';
import type { HeaderOperations } from '../../filters/headers/header-operations.js';
import type { MirrorFilter } from '../../filters/mirror/mirror.js';
import type { DirectResponseFilter } from '../../filters/redirect/direct-response.js';
import type { RedirectFilter } from '../../filters/redirect/redirect.js';
import type { RouteRateLimitConfig } from '../../filters/ratelimit/descriptors.js';
import type { CompiledRetryPolicy } from './retry.js';
import type { PathRewriter } from './rewrite.js';
import type { HashPolicy, Route, RouteMatch } from '../../../snapshot/index.js';

/** A weighted destination with everything the data path needs for it. */
export interface CompiledDestination {
  readonly cluster: string;
  readonly weight: number;
  readonly hashPolicy: HashPolicy | undefined;
  /** Host / :authority to send upstream, or undefined to keep the request's. */
  readonly authority: string | undefined;
  /** The header operations that apply when this destination is chosen (its own level and the route's). */
  readonly headers: HeaderOperations;
}

/** A route's per-route filters, compiled; null where the route has no such policy. */
export interface RouteFilters {
  readonly cors: CorsFilter | null;
  /** The route's own answer instead of forwarding: a redirect or a direct response. */
  readonly answer: RedirectFilter | DirectResponseFilter | null;
  readonly fault: FaultFilter | null;
  /** The route's level of header operations, what applies with no destination. */
  readonly headers: HeaderOperations;
  readonly mirror: MirrorFilter | null;
  /** What the route (or its virtual host) says to the listener's rate-limit filters. */
  readonly rateLimits: RouteRateLimitConfig | null;
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
  rewritePath: PathRewriter | null;
  routeAuthority: string | undefined;
  filters: RouteFilters;
}

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
  /** The per-route filters, compiled. */
  readonly filters: RouteFilters;

  private readonly totalWeight: number;
  private readonly pathRewriter: PathRewriter | null;
  private readonly routeAuthority: string | undefined;

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
    this.pathRewriter = p.rewritePath;
    this.hasPathRewrite = p.rewritePath !== null;
    this.routeAuthority = p.routeAuthority;
    this.filters = p.filters;
    const answer = p.filters.answer;
    this.redirectCode = answer?.name === 'redirect' ? answer.code : 0;
    this.directStatus = answer?.name === 'direct_response' ? answer.status : 0;
    this.directBody = answer?.name === 'direct_response' ? answer.body : undefined;
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

  /** The header operations that apply to a request sent to `dest`, or the route's own without one. */
  headerOperations(dest: CompiledDestination | null): HeaderOperations {
    return dest === null ? this.filters.headers : dest.headers;
  }
}
