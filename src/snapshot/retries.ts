/**
 * Istio's `retries` in the snapshot's form: which `retryOn` conditions exist, how Istio's
 * comma-separated `retryOn` reads, and the route retry policy Istio derives (defaults included).
 * The control plane builds routes with it; the proxy checks conditions against the same list.
 */
import { ISTIO_DEFAULT_RETRY_POLICY, RouteConfigError, type RetryOn, type RetryPolicy } from './routes.js';

/** Every Envoy retry condition; a `Record` so that a condition added to `RetryOn` must be listed. */
const RETRY_CONDITIONS: Readonly<Record<RetryOn, true>> = Object.freeze({
  '5xx': true,
  'gateway-error': true,
  reset: true,
  'reset-before-request': true,
  'connect-failure': true,
  'envoy-ratelimited': true,
  'retriable-4xx': true,
  'refused-stream': true,
  'retriable-status-codes': true,
  'retriable-headers': true,
  'http3-post-connect-failure': true,
  cancelled: true,
  'deadline-exceeded': true,
  internal: true,
  'resource-exhausted': true,
  unavailable: true,
});

export function isRetryOn(s: string): s is RetryOn {
  return Object.prototype.hasOwnProperty.call(RETRY_CONDITIONS, s);
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
