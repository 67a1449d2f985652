/**
 * Exponential backoff with jitter, as client-go's reflector backs off: the delay doubles with
 * every consecutive failure from `initialMs` up to `maxMs`, each delay drawn within ±20 % so that
 * many clients of a restarted API server do not come back in step.
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** Draws a number in [0, 1); `Math.random` by default (tests pass a seeded one). */
  random?: () => number;
}

export class Backoff {
  private failures = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 200;
    this.maxMs = opts.maxMs ?? 30_000;
    this.random = opts.random ?? Math.random;
  }

  /** Consecutive failures so far. */
  get count(): number {
    return this.failures;
  }

  /** Counts a failure and returns how long to wait before the next attempt. */
  fail(): number {
    this.failures++;
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures - 1, 30));
    return Math.round(base * (0.8 + 0.4 * this.random()));
  }

  /** A success: the next failure waits `initialMs` again. */
  reset(): void {
    this.failures = 0;
  }
}
