/**
 * The local rate limit filter (Envoy's `envoy.filters.http.local_ratelimit`): a token bucket per
 * listener, per route that carries its own config, per matched descriptor, or per downstream
 * connection (`perConnection`). A request takes a token from each bucket that applies — its
 * matching descriptors' and the config's own — and is limited when one was empty; then, if the
 * filter is enforced for it, answered 429 `local_rate_limited` (flag `RL`) with the configured
 * headers and `x-envoy-ratelimited: true`. `filter_enabled` and `filter_enforced` are drawn per
 * request; the four counters are Envoy's. Runs once the route is chosen, so the route's or its
 * virtual host's own config (`typed_per_filter_config`) replaces the listener's.
 */
import type { LocalRateLimit, LocalRateLimitDescriptor, TokenBucket } from '../../../snapshot/index.js';
import { ResponseFlag } from '../../../telemetry/response-flags.js';
import type { ConnectionContext } from '../connection-filter.js';
import { localReply, type HttpFilterRequest, type HttpVerdict, type LocalReply } from '../http-filter.js';
import type { Descriptor, DescriptorContext, RouteRateLimitConfig } from '../ratelimit/descriptors.js';
import type { LocalRateLimitStats, RateLimitStats } from '../ratelimit/stats.js';
import { draw, percentToPerMillion } from '../sampling.js';
import { CONTINUE, waitOn } from '../verdict.js';
import { bucketKey, type TokenBuckets } from './token-bucket.js';

/** Envoy's body and details of the answer. */
export const LOCAL_RATE_LIMITED = 'local_rate_limited';

/** One config (the listener's or a route's) ready to decide. */
class CompiledLocalLimit {
  readonly enabledPpm: number;
  readonly enforcedPpm: number;
  readonly reply: LocalReply;
  readonly stats: LocalRateLimitStats;
  readonly bucketKey: string | null;
  readonly descriptors: readonly { readonly d: LocalRateLimitDescriptor; readonly key: string }[];

  constructor(
    readonly cfg: LocalRateLimit,
    owner: string,
    stats: RateLimitStats,
  ) {
    this.enabledPpm = percentToPerMillion(cfg.enabledPercent, 'enabledPercent');
    this.enforcedPpm = percentToPerMillion(cfg.enforcedPercent, 'enforcedPercent');
    const headers: [string, string][] = (cfg.responseHeaders ?? []).map((h) => [h.name, h.value]);
    headers.push(['x-envoy-ratelimited', 'true']);
    const status = cfg.status === undefined || cfg.status < 400 ? 429 : cfg.status;
    this.reply = localReply(status, LOCAL_RATE_LIMITED, ResponseFlag.RL, LOCAL_RATE_LIMITED, headers);
    this.stats = stats.localFor(cfg.statPrefix);
    this.bucketKey = cfg.tokenBucket === undefined ? null : bucketKey(owner, cfg.tokenBucket);
    this.descriptors = (cfg.descriptors ?? []).map((d, i) => ({
      d,
      key: bucketKey(`${owner}|descriptor[${i}]:${d.entries.map((e) => `${e.key}=${e.value ?? '*'}`).join(',')}`, d.tokenBucket),
    }));
  }
}

function descriptorMatches(d: LocalRateLimitDescriptor, req: Descriptor): boolean {
  if (d.entries.length !== req.length) return false;
  for (let i = 0; i < req.length; i++) {
    const e = d.entries[i];
    if (e.key !== req[i].key) return false;
    if (e.value !== undefined && e.value !== req[i].value) return false;
  }
  return true;
}

/** Connection ids for per-connection buckets. */
const connectionIds = new WeakMap<ConnectionContext, number>();
let nextConnectionId = 1;
function connectionId(c: ConnectionContext): number {
  let id = connectionIds.get(c);
  if (id === undefined) {
    id = nextConnectionId++;
    connectionIds.set(c, id);
  }
  return id;
}

/** A listener's local rate limit filter. */
export class LocalRateLimitFilter {
  readonly name = 'local_ratelimit';
  private readonly own: CompiledLocalLimit;
  /** Compiled route configs, by route key (built on first use of each route, once per snapshot). */
  private readonly routes = new WeakMap<RouteRateLimitConfig, CompiledLocalLimit>();

  constructor(
    cfg: LocalRateLimit,
    private readonly listener: string,
    private readonly buckets: TokenBuckets,
    private readonly stats: RateLimitStats,
  ) {
    this.own = new CompiledLocalLimit(cfg, listener, stats);
  }

  private configFor(route: RouteRateLimitConfig | null): CompiledLocalLimit {
    const local = route?.local;
    if (route === null || local === null || local === undefined) return this.own;
    let c = this.routes.get(route);
    if (c === undefined) {
      c = new CompiledLocalLimit(local, `${this.listener}|${route.key}`, this.stats);
      this.routes.set(route, c);
    }
    return c;
  }

  decide(req: HttpFilterRequest, route: RouteRateLimitConfig | null, ctx: DescriptorContext): HttpVerdict {
    const c = this.configFor(route);
    if (c.bucketKey === null && c.descriptors.length === 0) return CONTINUE;
    if (!draw(c.enabledPpm, req.random)) return CONTINUE;
    c.stats.enabled++;
    const own = c.bucketKey;
    if (own !== null && c.descriptors.length === 0 && c.cfg.perConnection !== true) {
      // The common case, one bucket: no arrays on the request path.
      const a = this.buckets.take(own, c.cfg.tokenBucket!);
      if (typeof a === 'boolean') return this.verdict(c, req, a);
      return waitOn(
        async () => this.verdict(c, req, await a),
        () => this.verdict(c, req, true),
      );
    }
    const keys = this.bucketsFor(c, req, route, ctx);
    if (keys.length === 0) {
      c.stats.ok++;
      return CONTINUE;
    }
    const answers = keys.map(([key, bucket]) => this.buckets.take(key, bucket));
    if (answers.every((a): a is boolean => typeof a === 'boolean')) return this.verdict(c, req, answers.every(Boolean));
    return waitOn(
      async () => this.verdict(c, req, (await Promise.all(answers.map((a) => Promise.resolve(a)))).every(Boolean)),
      // Buckets that cannot be asked limit nothing: the local filter fails open, as it cannot fail in Envoy.
      () => this.verdict(c, req, true),
    );
  }

  private bucketsFor(c: CompiledLocalLimit, req: HttpFilterRequest, route: RouteRateLimitConfig | null, ctx: DescriptorContext): [string, TokenBucket][] {
    const suffix = c.cfg.perConnection === true ? `|connection:${connectionId(req.connection)}` : '';
    const out: [string, TokenBucket][] = [];
    if (c.descriptors.length > 0 && route !== null && route.policies !== null) {
      for (const d of route.policies.descriptorsOf(req, ctx)) {
        const hit = c.descriptors.find((x) => descriptorMatches(x.d, d));
        if (hit !== undefined) out.push([hit.key + suffix, hit.d.tokenBucket]);
      }
    }
    // Envoy's `always_consume_default_token_bucket` (true by default): the config's own bucket too.
    if (c.bucketKey !== null) out.push([c.bucketKey + suffix, c.cfg.tokenBucket!]);
    return out;
  }

  private verdict(c: CompiledLocalLimit, req: HttpFilterRequest, allowed: boolean): HttpVerdict {
    if (allowed) {
      c.stats.ok++;
      return CONTINUE;
    }
    c.stats.rate_limited++;
    if (!draw(c.enforcedPpm, req.random)) return CONTINUE;
    c.stats.enforced++;
    return c.reply;
  }
}
