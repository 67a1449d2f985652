/**
 * The rate-limit service's decision (envoyproxy/ratelimit's `ShouldRateLimit`): each descriptor of
 * the request finds its limit in the domain's configuration; those with a limit are counted in
 * their fixed window; a descriptor over its limit makes the whole answer OVER_LIMIT. Every status
 * carries the limit, what remains of it and the time until its window resets. The clock is
 * injected, so quotas (hour and day limits) are tested without waiting.
 */
import { UNIT_SECONDS, limitFor, type Domains } from './config.js';
import type { CounterStore } from './store.js';

export interface Entry {
  key: string;
  value: string;
}

export interface ShouldRateLimitRequest {
  domain: string;
  descriptors: { entries: Entry[] }[];
  hitsAddend?: number;
}

export interface DescriptorStatus {
  code: 'OK' | 'OVER_LIMIT';
  currentLimit: { name: string; requestsPerUnit: number; unit: string } | null;
  limitRemaining: number;
  durationUntilReset: { seconds: number; nanos: number } | null;
}

export interface ShouldRateLimitResponse {
  overallCode: 'OK' | 'OVER_LIMIT';
  statuses: DescriptorStatus[];
  responseHeadersToAdd: { key: string; value: string }[];
  requestHeadersToAdd: { key: string; value: string }[];
}

export class UnknownDomainError extends Error {}

export class RateLimitService {
  constructor(
    private domains: Domains,
    private readonly store: CounterStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** Replaces the configuration (a reloaded config directory). */
  reconfigure(domains: Domains): void {
    this.domains = domains;
  }

  async shouldRateLimit(req: ShouldRateLimitRequest): Promise<ShouldRateLimitResponse> {
    const root = this.domains.get(req.domain);
    if (root === undefined) throw new UnknownDomainError(`no configuration for domain ${JSON.stringify(req.domain)}`);
    const hits = req.hitsAddend !== undefined && req.hitsAddend > 0 ? req.hitsAddend : 1;
    const nowS = Math.floor(this.now() / 1000);
    const limits = req.descriptors.map((d) => limitFor(root, d.entries));
    const counted: { i: number; key: string; hits: number; ttlSeconds: number; windowEnd: number }[] = [];
    limits.forEach((l, i) => {
      if (l === undefined || l.unlimited === true) return;
      const unit = UNIT_SECONDS[l.unit];
      const start = Math.floor(nowS / unit) * unit;
      const key = `${req.domain}_${req.descriptors[i].entries.map((e) => `${e.key}_${e.value}`).join('_')}_${start}`;
      counted.push({ i, key, hits, ttlSeconds: unit, windowEnd: start + unit });
    });
    const counts = counted.length === 0 ? [] : await this.store.increment(counted);
    const statuses: DescriptorStatus[] = limits.map(() => ({ code: 'OK', currentLimit: null, limitRemaining: 0, durationUntilReset: null }));
    counted.forEach((c, j) => {
      const l = limits[c.i]!;
      const n = counts[j];
      statuses[c.i] = {
        code: n > l.requestsPerUnit ? 'OVER_LIMIT' : 'OK',
        currentLimit: { name: l.name ?? '', requestsPerUnit: l.requestsPerUnit, unit: l.unit },
        limitRemaining: Math.max(0, l.requestsPerUnit - n),
        durationUntilReset: { seconds: c.windowEnd - nowS, nanos: 0 },
      };
    });
    return {
      overallCode: statuses.some((s) => s.code === 'OVER_LIMIT') ? 'OVER_LIMIT' : 'OK',
      statuses,
      responseHeadersToAdd: [],
      requestHeadersToAdd: [],
    };
  }
}
