/**
 * Retry policies compiled into the decisions the data path asks for — is this outcome
 * retriable, and how long to back off (Envoy's fully jittered exponential backoff). Istio's
 * `retries` become the snapshot's policy in `src/snapshot/retries.ts`.
 */
import { RouteConfigError, isRetryOn, type RetryOn, type RetryPolicy } from '../../../snapshot/index.js';
import type { HeaderView } from './request.js';

/** Envoy's retryOn flags, one bit each. */
const FLAGS: Readonly<Record<RetryOn, number>> = Object.freeze({
  '5xx': 1 << 0,
  'gateway-error': 1 << 1,
  reset: 1 << 2,
  'reset-before-request': 1 << 3,
  'connect-failure': 1 << 4,
  'envoy-ratelimited': 1 << 5,
  'retriable-4xx': 1 << 6,
  'refused-stream': 1 << 7,
  'retriable-status-codes': 1 << 8,
  'retriable-headers': 1 << 9,
  'http3-post-connect-failure': 1 << 10,
  cancelled: 1 << 11,
  'deadline-exceeded': 1 << 12,
  internal: 1 << 13,
  'resource-exhausted': 1 << 14,
  unavailable: 1 << 15,
});

/**
 * What ended a try: the HTTP status of the upstream's response headers (a per-try timeout counts
 * as 504, as in Envoy), or a failure without response.
 */
export type RetryOutcome =
  | number
  | 'connect-failure'
  | 'refused-stream'
  /** The stream or connection was reset after the request started. */
  | 'reset'
  /** Reset before the request was fully sent upstream. */
  | 'reset-before-request'
  /** Circuit breaker overflow: never retried. */
  | 'overflow';

export class CompiledRetryPolicy {
  readonly attempts: number;
  /** 0 = the route timeout applies to each try. */
  readonly perTryTimeoutMs: number;
  readonly retryOn: readonly RetryOn[];
  readonly retriableStatusCodes: readonly number[];
  readonly retryRemoteLocalities: boolean;
  readonly retryIgnorePreviousHosts: boolean;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  private readonly flags: number;

  constructor(p: RetryPolicy, where: string) {
    if (!Number.isInteger(p.attempts) || p.attempts < 0) {
      throw new RouteConfigError(`${where}.attempts`, `must be a non-negative integer, got ${String(p.attempts)}`);
    }
    let flags = 0;
    p.retryOn.forEach((on, i) => {
      if (!isRetryOn(on)) throw new RouteConfigError(`${where}.retryOn[${i}]`, `${JSON.stringify(on)} is not a valid retry condition`);
      flags |= FLAGS[on];
    });
    p.retriableStatusCodes.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 100 || c > 599) throw new RouteConfigError(`${where}.retriableStatusCodes[${i}]`, `${String(c)} is not an HTTP status code`);
    });
    const base = p.backoffBaseMs > 0 ? p.backoffBaseMs : 25;
    const max = p.backoffMaxMs ?? base * 10;
    if (max < base) throw new RouteConfigError(`${where}.backoffMaxMs`, `must be at least backoffBaseMs (${base})`);
    this.attempts = p.attempts;
    this.perTryTimeoutMs = p.perTryTimeoutMs ?? 0;
    this.retryOn = [...p.retryOn];
    this.retriableStatusCodes = [...p.retriableStatusCodes];
    this.retryRemoteLocalities = p.retryRemoteLocalities === true;
    this.retryIgnorePreviousHosts = p.retryIgnorePreviousHosts !== false;
    this.backoffBaseMs = base;
    this.backoffMaxMs = max;
    this.flags = flags;
  }

  /**
   * Whether Envoy would retry after this outcome (retries left aside). `grpcStatus` is the
   * `grpc-status` of a trailers-only response; `responseHeaders` lets `x-envoy-ratelimited` count.
   */
  shouldRetry(outcome: RetryOutcome, grpcStatus?: number, responseHeaders?: HeaderView): boolean {
    const f = this.flags;
    if (typeof outcome === 'number') {
      if (responseHeaders?.has('x-envoy-ratelimited') === true) return (f & FLAGS['envoy-ratelimited']) !== 0;
      if (f & FLAGS['5xx'] && outcome >= 500 && outcome <= 599) return true;
      if (f & FLAGS['gateway-error'] && outcome >= 502 && outcome <= 504) return true;
      if (f & FLAGS['retriable-4xx'] && outcome === 409) return true;
      if (f & FLAGS['retriable-status-codes'] && this.retriableStatusCodes.includes(outcome)) return true;
      if (grpcStatus !== undefined) {
        if (grpcStatus === 1 && f & FLAGS.cancelled) return true;
        if (grpcStatus === 4 && f & FLAGS['deadline-exceeded']) return true;
        if (grpcStatus === 8 && f & FLAGS['resource-exhausted']) return true;
        if (grpcStatus === 13 && f & FLAGS.internal) return true;
        if (grpcStatus === 14 && f & FLAGS.unavailable) return true;
      }
      return false;
    }
    if (outcome === 'overflow') return false;
    if (f & (FLAGS['5xx'] | FLAGS['gateway-error'] | FLAGS.reset)) return true;
    if (f & FLAGS['reset-before-request'] && (outcome === 'reset-before-request' || outcome === 'connect-failure')) return true;
    if (f & FLAGS['connect-failure'] && outcome === 'connect-failure') return true;
    if (f & FLAGS['refused-stream'] && outcome === 'refused-stream') return true;
    return false;
  }

  /**
   * Backoff before retry number `retry` (1 for the first retry): uniform in [0, interval) where
   * the interval starts at the base and doubles per retry up to the max (Envoy: 25, 50, 100, 200, 250 ms).
   */
  backoffMs(retry: number, random: () => number): number {
    let interval = this.backoffBaseMs;
    for (let i = 1; i < retry && interval < this.backoffMaxMs; i++) {
      interval = interval < this.backoffMaxMs / 2 ? interval * 2 : this.backoffMaxMs;
    }
    return Math.floor(random() * interval);
  }
}
