/**
 * The rate-limit filters' counters with Envoy's names, kept by the proxy across snapshots (a
 * counter never goes back when config changes): `<stat_prefix>.http_local_rate_limit.*` for the
 * local filter, `cluster.<rls cluster>.ratelimit.*` for the global one.
 */

/** Envoy's local rate limit counters. */
export class LocalRateLimitStats {
  enabled = 0;
  enforced = 0;
  rate_limited = 0;
  ok = 0;
}

/** Envoy's global rate limit filter counters. */
export class GlobalRateLimitStats {
  ok = 0;
  over_limit = 0;
  error = 0;
  failure_mode_allowed = 0;
}

export class RateLimitStats {
  private readonly local = new Map<string, LocalRateLimitStats>();
  private readonly global = new Map<string, GlobalRateLimitStats>();

  localFor(statPrefix: string): LocalRateLimitStats {
    let s = this.local.get(statPrefix);
    if (s === undefined) {
      s = new LocalRateLimitStats();
      this.local.set(statPrefix, s);
    }
    return s;
  }

  globalFor(cluster: string): GlobalRateLimitStats {
    let s = this.global.get(cluster);
    if (s === undefined) {
      s = new GlobalRateLimitStats();
      this.global.set(cluster, s);
    }
    return s;
  }

  /** Every counter under its Envoy name. */
  entries(): [string, number][] {
    const out: [string, number][] = [];
    for (const [prefix, s] of this.local) for (const [k, v] of Object.entries(s)) out.push([`${prefix}.http_local_rate_limit.${k}`, v as number]);
    for (const [cluster, s] of this.global) for (const [k, v] of Object.entries(s)) out.push([`cluster.${cluster}.ratelimit.${k}`, v as number]);
    return out;
  }
}
