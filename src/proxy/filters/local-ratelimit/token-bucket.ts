/**
 * The local rate limit's token buckets, kept by the proxy across snapshots: a bucket is found by
 * its key (listener, route or descriptor, and its size), so a new snapshot that leaves a limit as
 * it was does not refill it — only a changed limit starts a new, full bucket. A bucket refills
 * `tokensPerFill` at each whole `fillIntervalMs` since its last fill, up to `maxTokens`, computed
 * when a token is asked for (no timers). Under `--concurrency`, the workers share the primary
 * process's buckets (`shared-buckets.ts`), as Envoy's workers share one bucket per process.
 */
import type { TokenBucket } from '../../../snapshot/index.js';

/** Where buckets live: in this process, or in the primary that all workers ask. */
export interface TokenBuckets {
  /**
   * Takes one token from bucket `key` (made full with `bucket` on first use); true when there was
   * one. A store in another process answers with a promise.
   */
  take(key: string, bucket: TokenBucket): boolean | Promise<boolean>;
}

class Bucket {
  tokens: number;
  lastFill: number;

  constructor(
    readonly cfg: TokenBucket,
    now: number,
  ) {
    this.tokens = cfg.maxTokens;
    this.lastFill = now;
  }

  take(now: number): boolean {
    const { fillIntervalMs, tokensPerFill, maxTokens } = this.cfg;
    if (now - this.lastFill >= fillIntervalMs) {
      const fills = Math.floor((now - this.lastFill) / fillIntervalMs);
      this.tokens = Math.min(maxTokens, this.tokens + fills * tokensPerFill);
      this.lastFill += fills * fillIntervalMs;
    }
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

/** Unused buckets are dropped after this long (a full bucket is the same as none). */
const IDLE_MS = 10 * 60_000;
/** Buckets kept at most (per-connection buckets are keyed by connection and come and go). */
const MAX_BUCKETS = 100_000;

/** Buckets in this process. */
export class LocalTokenBuckets implements TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep: number;

  constructor(private readonly now: () => number = Date.now) {
    this.lastSweep = now();
  }

  take(key: string, cfg: TokenBucket): boolean {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (now - this.lastSweep > IDLE_MS || this.buckets.size >= MAX_BUCKETS) this.sweep(now);
      b = new Bucket(cfg, now);
      this.buckets.set(key, b);
    }
    return b.take(now);
  }

  /** Drops buckets that would be full again by now: forgetting them changes nothing. */
  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, b] of this.buckets) {
      const fills = Math.floor((now - b.lastFill) / b.cfg.fillIntervalMs);
      if (b.tokens + fills * b.cfg.tokensPerFill >= b.cfg.maxTokens) this.buckets.delete(k);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}

/** The key of a bucket of this size under `owner` (listener, route or descriptor). */
export function bucketKey(owner: string, b: TokenBucket): string {
  return `${owner}|${b.maxTokens}/${b.tokensPerFill}/${b.fillIntervalMs}`;
}
