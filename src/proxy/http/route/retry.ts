/**
 * Retry policies: Istio's `retries` turned into the Envoy form (retryOn parsing, defaults) and
 * compiled into the decisions the data path asks for — is this outcome retriable, and how
 * long to back off (Envoy's fully jittered exponential backoff).
 */
import { RouteConfigError } from './errors.js';
import { ISTIO_DEFAULT_RETRY_POLICY, type HeaderView, type RetryOn, type RetryPolicy } from './types.js';

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

export function isRetryOn(s: string): s is RetryOn {
  return Object.prototype.hasOwnProperty.call(FLAGS, s);
}

/** HTTP status codes Go's `http.StatusText` knows: Istio only reads these as codes in `retryOn`. */
const KNOWN_STATUS = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423,
  424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

export interface ParsedRetryOn {
  retryOn: RetryOn[];
  retriableStatusCodes: number[];
  /** Parts that are neither a known condition nor a known status code (Istio validation rejects them). */
  invalid: string[];
}

/**
 * Parses Istio's comma-separated `retryOn` ("5xx,503, reset"). Status codes are collected and
 * `retriable-status-codes` is added when codes are present but the condition is not.
 */
export function parseRetryOn(retryOn: string): ParsedRetryOn {
  const out: ParsedRetryOn = { retryOn: [], retriableStatusCodes: [], invalid: [] };
  for (const raw of retryOn.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    if (/^\d+$/.test(part) && KNOWN_STATUS.has(Number(part))) out.retriableStatusCodes.push(Number(part));
    else if (isRetryOn(part)) out.retryOn.push(part);
    else out.invalid.push(part);
  }
  if (out.retriableStatusCodes.length > 0 && !out.retryOn.includes('retriable-status-codes')) {
    out.retryOn.push('retriable-status-codes');
  }
  return out;
}

/** Istio `HTTPRetry` with durations already in milliseconds. */
export interface IstioRetry {
  attempts?: number;
  perTryTimeoutMs?: number;
  retryOn?: string;
  retryRemoteLocalities?: boolean;
  retryIgnorePreviousHosts?: boolean;
  /** Istio `backoff`: base interval of the retry backoff. */
  backoffMs?: number;
}

/**
 * The route's retry policy as Istio derives it: no `retries` → Istio's default policy;
 * `attempts` 0 (or unset) → no retries (undefined); otherwise the default with the given fields.
 * Throws RouteConfigError on retryOn parts Istio would reject.
 */
export function retryPolicyFromIstio(r: IstioRetry | undefined, where = 'retries'): RetryPolicy | undefined {
  if (r === undefined) return { ...ISTIO_DEFAULT_RETRY_POLICY };
  if (r.attempts === undefined || r.attempts <= 0) return undefined;
  const policy: RetryPolicy = { ...ISTIO_DEFAULT_RETRY_POLICY, attempts: r.attempts };
  if (r.retryOn !== undefined && r.retryOn !== '') {
    const parsed = parseRetryOn(r.retryOn);
    if (parsed.invalid.length > 0) {
      throw new RouteConfigError(`${where}.retryOn`, `${parsed.invalid.map((p) => JSON.stringify(p)).join(', ')} is not a valid retry condition`);
    }
    policy.retryOn = parsed.retryOn;
    policy.retriableStatusCodes = parsed.retriableStatusCodes;
  }
  if (r.perTryTimeoutMs !== undefined) policy.perTryTimeoutMs = r.perTryTimeoutMs;
  if (r.retryRemoteLocalities !== undefined) policy.retryRemoteLocalities = r.retryRemoteLocalities;
  if (r.retryIgnorePreviousHosts !== undefined) policy.retryIgnorePreviousHosts = r.retryIgnorePreviousHosts;
  if (r.backoffMs !== undefined) policy.backoffBaseMs = r.backoffMs;
  return policy;
}

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
