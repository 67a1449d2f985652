/**
 * The global rate limit filter (Envoy's `envoy.filters.http.ratelimit`): the request's descriptors
 * (from the route's or virtual host's `rate_limits`) go to the rate-limit service in one
 * `ShouldRateLimit` call, and the request waits for its answer. OVER_LIMIT answers 429 with
 * `x-envoy-ratelimited: true` (flag `RL`); OK lets it through; a failure or a timeout answers 500
 * (flag `RLSE`) when `failure_mode_deny` is set and lets it through otherwise. With
 * `enable_x_ratelimit_headers`, the answer and the forwarded response carry
 * `x-ratelimit-limit/remaining/reset` from the tightest limit the service reported. A request
 * without descriptors makes no call.
 */
import type { GlobalRateLimit } from '../../../snapshot/index.js';
import { ResponseFlag } from '../../../telemetry/response-flags.js';
import { localReply, type HttpFilterRequest, type HttpVerdict, type LocalReply } from '../http-filter.js';
import { CONTINUE, waitOn } from '../verdict.js';
import type { Descriptor, DescriptorContext, RouteRateLimitConfig } from './descriptors.js';
import type { GlobalRateLimitStats, RateLimitStats } from './stats.js';

/** `RateLimitResponse.Code`. */
export type RateLimitCode = 'UNKNOWN' | 'OK' | 'OVER_LIMIT';

/** The part of a `RateLimitResponse.DescriptorStatus` the filter reads. */
export interface DescriptorStatus {
  readonly code: RateLimitCode;
  readonly currentLimit?: { readonly requestsPerUnit: number; readonly unit: string; readonly name?: string };
  readonly limitRemaining: number;
  /** Seconds until the limit's window resets. */
  readonly resetSeconds?: number;
}

export interface RateLimitAnswer {
  readonly overallCode: RateLimitCode;
  readonly statuses: readonly DescriptorStatus[];
  /** Headers the service asks to add to the response (`response_headers_to_add`). */
  readonly responseHeaders: readonly (readonly [string, string])[];
}

/** A client of one rate-limit service cluster. */
export interface RateLimitServiceClient {
  shouldRateLimit(domain: string, descriptors: readonly Descriptor[], timeoutMs: number, signal: AbortSignal): Promise<RateLimitAnswer>;
}

/** The proxy's clients, one per rate-limit service cluster (`src/proxy/ratelimit-service-client.ts`). */
export interface RateLimitServiceClients {
  clientFor(cluster: string, authority: string): RateLimitServiceClient;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { SECOND: 1, MINUTE: 60, HOUR: 3600, DAY: 86400, WEEK: 604800, MONTH: 2592000, YEAR: 31536000 };

/** Envoy's DRAFT_VERSION_03 headers from the tightest status: the one with the fewest requests left. */
export function xRateLimitHeaders(statuses: readonly DescriptorStatus[]): [string, string][] {
  let tightest: DescriptorStatus | undefined;
  for (const s of statuses) {
    if (s.currentLimit === undefined) continue;
    if (tightest === undefined || s.limitRemaining < tightest.limitRemaining) tightest = s;
  }
  if (tightest?.currentLimit === undefined) return [];
  const { requestsPerUnit, unit, name } = tightest.currentLimit;
  const window = UNIT_SECONDS[unit] ?? 0;
  const quota = `${requestsPerUnit};w=${window}${name !== undefined && name !== '' ? `;name="${name}"` : ''}`;
  return [
    ['x-ratelimit-limit', `${requestsPerUnit}, ${quota}`],
    ['x-ratelimit-remaining', String(tightest.limitRemaining)],
    ['x-ratelimit-reset', String(tightest.resetSeconds ?? 0)],
  ];
}

/**
 * The call's `:authority` when `envoy_grpc.authority` is not set. Envoy sends the cluster name,
 * but an Istio cluster name (`outbound|8081||ratelimit.default.svc.cluster.local`) is not a valid
 * authority and HTTP/2 servers built on nghttp2 (Node's, so the sidecar in front of the service)
 * refuse the stream; its service host stands in for it. Other names are sent as they are.
 */
export function defaultAuthority(cluster: string): string {
  const parts = cluster.split('|');
  return parts.length === 4 && parts[3] !== '' ? parts[3] : cluster;
}

export class GlobalRateLimitFilter {
  readonly name = 'ratelimit';
  private readonly client: RateLimitServiceClient;
  private readonly stats: GlobalRateLimitStats;
  private readonly failed: LocalReply;
  private readonly overLimit: LocalReply;
  /** Headers to put on the forwarded response of requests the service let through. */
  private readonly pending = new WeakMap<HttpFilterRequest, readonly (readonly [string, string])[]>();

  constructor(
    private readonly cfg: GlobalRateLimit,
    clients: RateLimitServiceClients,
    stats: RateLimitStats,
  ) {
    this.client = clients.clientFor(cfg.cluster, cfg.authority ?? defaultAuthority(cfg.cluster));
    this.stats = stats.globalFor(cfg.cluster);
    this.failed = localReply(500, '', ResponseFlag.RLSE, 'rate_limiter_error');
    this.overLimit = localReply(429, '', ResponseFlag.RL, 'request_rate_limited', [['x-envoy-ratelimited', 'true']]);
  }

  decide(req: HttpFilterRequest, route: RouteRateLimitConfig | null, ctx: DescriptorContext): HttpVerdict {
    const policies = route?.policies ?? null;
    if (policies === null) return CONTINUE;
    const descriptors = policies.descriptorsOf(req, ctx);
    if (descriptors.length === 0) return CONTINUE;
    const { domain, timeoutMs } = this.cfg;
    return waitOn(
      async (signal) => this.verdict(req, await this.client.shouldRateLimit(domain, descriptors, timeoutMs, signal)),
      () => this.failure(),
    );
  }

  private verdict(req: HttpFilterRequest, answer: RateLimitAnswer): HttpVerdict {
    if (answer.overallCode === 'UNKNOWN') return this.failure();
    const extra = this.cfg.xRateLimitHeaders ? xRateLimitHeaders(answer.statuses) : [];
    if (answer.overallCode === 'OK') {
      this.stats.ok++;
      const headers = [...answer.responseHeaders, ...extra];
      if (headers.length > 0) this.pending.set(req, headers);
      return CONTINUE;
    }
    this.stats.over_limit++;
    if (extra.length === 0 && answer.responseHeaders.length === 0) return this.overLimit;
    return localReply(429, '', ResponseFlag.RL, 'request_rate_limited', [['x-envoy-ratelimited', 'true'], ...answer.responseHeaders, ...extra]);
  }

  private failure(): HttpVerdict {
    this.stats.error++;
    if (this.cfg.failureModeDeny) return this.failed;
    this.stats.failure_mode_allowed++;
    return CONTINUE;
  }

  respond(req: HttpFilterRequest, headers: { set(name: string, value: string): void }): void {
    const add = this.pending.get(req);
    if (add === undefined) return;
    this.pending.delete(req);
    for (const [k, v] of add) headers.set(k, v);
  }
}
