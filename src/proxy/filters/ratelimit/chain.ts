/**
 * A listener's rate-limit filters (local and global, in the order the EnvoyFilter patches put them
 * in the chain), compiled from the listener's part of the snapshot, and how the request path runs
 * them once the route is chosen: each sees the request, the route's rate-limit config (or null)
 * and the descriptor context; the first that answers or fails ends the phase, one that waits (a
 * call to the rate-limit service, buckets held by the primary process) goes on with the ones after
 * it when it resumes.
 */
import type { RateLimitFilterConfig } from '../../../snapshot/index.js';
import type { HttpFilterRequest, HttpVerdict } from '../http-filter.js';
import { CONTINUE, type Wait } from '../verdict.js';
import { LocalRateLimitFilter } from '../local-ratelimit/local-ratelimit.js';
import type { TokenBuckets } from '../local-ratelimit/token-bucket.js';
import type { DescriptorContext, RouteRateLimitConfig } from './descriptors.js';
import { GlobalRateLimitFilter, type RateLimitServiceClients } from './global-ratelimit.js';
import type { RateLimitStats } from './stats.js';

/** A rate-limit filter: decides on a request once its route is known. */
export interface RateLimitFilter {
  readonly name: string;
  decide(req: HttpFilterRequest, route: RouteRateLimitConfig | null, ctx: DescriptorContext): HttpVerdict;
  /** Response side: headers the filter adds to the forwarded response of a request it let through. */
  respond?(req: HttpFilterRequest, headers: { set(name: string, value: string): void }): void;
}

/** What the rate-limit filters of every listener share, kept by the proxy across snapshots. */
export interface RateLimitServices {
  readonly buckets: TokenBuckets;
  readonly stats: RateLimitStats;
  readonly clients: RateLimitServiceClients;
}

export const NO_RATE_LIMIT_FILTERS: readonly RateLimitFilter[] = Object.freeze([]);

/** The listener's filters, compiled; the snapshot's check has vetted the config. */
export function compileRateLimitFilters(configs: readonly RateLimitFilterConfig[] | undefined, listener: string, services: RateLimitServices): readonly RateLimitFilter[] {
  if (configs === undefined || configs.length === 0) return NO_RATE_LIMIT_FILTERS;
  return Object.freeze(
    configs.map((c, i): RateLimitFilter =>
      c.type === 'local'
        ? new LocalRateLimitFilter(c.local, `${listener}#${i}`, services.buckets, services.stats)
        : new GlobalRateLimitFilter(c.global, services.clients, services.stats),
    ),
  );
}

/** Runs the filters from `from`; the first answer ends the phase, a wait resumes with the rest. */
export function runRateLimitFilters(
  filters: readonly RateLimitFilter[],
  from: number,
  req: HttpFilterRequest,
  route: RouteRateLimitConfig | null,
  ctx: DescriptorContext,
  failed: (name: string) => HttpVerdict,
): HttpVerdict {
  for (let i = from; i < filters.length; i++) {
    const f = filters[i];
    let v: HttpVerdict;
    try {
      v = f.decide(req, route, ctx);
    } catch {
      return failed(f.name);
    }
    if (v === CONTINUE || v.kind === 'continue') continue;
    if (v.kind === 'wait' && i + 1 < filters.length) return thenRest(v, filters, i + 1, req, route, ctx, failed);
    return v;
  }
  return CONTINUE;
}

function thenRest(
  w: Wait<HttpVerdict>,
  filters: readonly RateLimitFilter[],
  next: number,
  req: HttpFilterRequest,
  route: RouteRateLimitConfig | null,
  ctx: DescriptorContext,
  failed: (name: string) => HttpVerdict,
): Wait<HttpVerdict> {
  return {
    kind: 'wait',
    flags: w.flags,
    start: (resume) =>
      w.start((v) =>
        resume(v.kind === 'wait' ? thenRest(v, filters, next, req, route, ctx, failed) : v.kind === 'continue' ? runRateLimitFilters(filters, next, req, route, ctx, failed) : v),
      ),
  };
}
