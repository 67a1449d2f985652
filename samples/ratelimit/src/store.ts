/**
 * Where the rate-limit service counts: fixed windows, as envoyproxy/ratelimit counts them — a
 * counter per descriptor and window (`<domain>_<key>_<value>…_<window start>`), incremented by
 * the request's hits and set to expire with its window, both in one round trip. In Redis when
 * `REDIS_URL` is set (so every replica of the service, and every proxy asking it, shares the
 * counts), in memory otherwise.
 */
import type { Redis } from 'ioredis';

export interface CounterStore {
  /** Adds `hits` to each key (expiring after its `ttlSeconds`) and returns the new counts, in order. */
  increment(items: readonly { key: string; hits: number; ttlSeconds: number }[]): Promise<number[]>;
  close(): Promise<void>;
}

export class MemoryStore implements CounterStore {
  private readonly counts = new Map<string, { n: number; expires: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  increment(items: readonly { key: string; hits: number; ttlSeconds: number }[]): Promise<number[]> {
    const now = this.now();
    if (this.counts.size > 100_000) for (const [k, v] of this.counts) if (v.expires <= now) this.counts.delete(k);
    return Promise.resolve(
      items.map(({ key, hits, ttlSeconds }) => {
        let c = this.counts.get(key);
        if (c === undefined || c.expires <= now) {
          c = { n: 0, expires: now + ttlSeconds * 1000 };
          this.counts.set(key, c);
        }
        c.n += hits;
        return c.n;
      }),
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export class RedisStore implements CounterStore {
  constructor(private readonly redis: Redis) {}

  async increment(items: readonly { key: string; hits: number; ttlSeconds: number }[]): Promise<number[]> {
    // INCRBY and EXPIRE of every key in one pipeline: one round trip to Redis per request.
    const pipeline = this.redis.pipeline();
    for (const { key, hits, ttlSeconds } of items) pipeline.incrby(key, hits).expire(key, ttlSeconds);
    const results = (await pipeline.exec()) ?? [];
    return items.map((_, i) => {
      const [err, value] = results[i * 2] ?? [new Error('no answer from Redis'), null];
      if (err !== null) throw err;
      return Number(value);
    });
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
