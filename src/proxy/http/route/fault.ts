/**
 * Istio fault injection decided per request as Envoy's fault filter does: the delay and the
 * abort are drawn independently at per-million precision, an unset percentage never fires,
 * and a gRPC abort answers HTTP 200 carrying the gRPC status.
 */
import { RouteConfigError } from '../../../snapshot/index.js';
import type { FaultInjection } from '../../../snapshot/index.js';

/** gRPC status names Istio accepts in `abort.grpcStatus`, with their codes. */
export const GRPC_STATUS_CODES: Readonly<Record<string, number>> = Object.freeze({
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
});

/** What to inject into one request. */
export interface FaultDecision {
  /** Delay before going on (0 = none); Envoy flag `DI`. */
  readonly delayMs: number;
  /** Local reply instead of forwarding (body `fault filter abort`, flag `FI`), or null. */
  readonly abort: { readonly httpStatus: number; readonly grpcStatus?: number } | null;
}

export type FaultDecider = (random: () => number) => FaultDecision | null;

/** Istio's percent (0..100, fractional) as parts per million, truncated as Istio converts it. */
export function percentToPerMillion(percent: number | undefined, where: string): number {
  if (percent === undefined) return 0;
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new RouteConfigError(where, `percentage must be between 0 and 100, got ${String(percent)}`);
  }
  return Math.trunc(percent * 10_000);
}

/** True with probability perMillion / 1e6 (Envoy's `random % 1000000 < numerator`). */
export function draw(perMillion: number, random: () => number): boolean {
  if (perMillion <= 0) return false;
  if (perMillion >= 1_000_000) return true;
  return Math.floor(random() * 1_000_000) < perMillion;
}

export function compileFault(f: FaultInjection | undefined, where: string): FaultDecider | null {
  if (f === undefined || (f.delay === undefined && f.abort === undefined)) return null;
  let delayMs = 0;
  let delayPpm = 0;
  if (f.delay !== undefined) {
    delayMs = f.delay.fixedDelayMs;
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new RouteConfigError(`${where}.delay.fixedDelayMs`, `must be a non-negative number of milliseconds, got ${String(delayMs)}`);
    }
    delayPpm = delayMs > 0 ? percentToPerMillion(f.delay.percent, `${where}.delay.percent`) : 0;
  }
  let abort: FaultDecision['abort'] = null;
  let abortPpm = 0;
  if (f.abort !== undefined) {
    abort = compileAbort(f.abort, `${where}.abort`);
    abortPpm = percentToPerMillion(f.abort.percent, `${where}.abort.percent`);
  }
  // Decisions carry no per-request data, so the few possible outcomes are built once.
  const delayOnly: FaultDecision = Object.freeze({ delayMs, abort: null });
  const abortOnly: FaultDecision = Object.freeze({ delayMs: 0, abort });
  const both: FaultDecision = Object.freeze({ delayMs, abort });
  return (random) => {
    const delayed = draw(delayPpm, random);
    const aborted = abort !== null && draw(abortPpm, random);
    if (delayed) return aborted ? both : delayOnly;
    return aborted ? abortOnly : null;
  };
}

function compileAbort(a: NonNullable<FaultInjection['abort']>, where: string): { httpStatus: number; grpcStatus?: number } {
  const hasHttp = a.httpStatus !== undefined;
  const hasGrpc = a.grpcStatus !== undefined && a.grpcStatus !== '';
  if (hasHttp === hasGrpc) throw new RouteConfigError(where, 'set exactly one of httpStatus, grpcStatus');
  if (hasHttp) {
    const s = a.httpStatus as number;
    if (!Number.isInteger(s) || s < 200 || s > 599) {
      throw new RouteConfigError(`${where}.httpStatus`, `must be an HTTP status between 200 and 599, got ${String(s)}`);
    }
    return Object.freeze({ httpStatus: s });
  }
  const name = (a.grpcStatus as string).toUpperCase();
  let code = GRPC_STATUS_CODES[name];
  if (code === undefined && /^\d+$/.test(name) && Number(name) <= 16) code = Number(name);
  if (code === undefined) {
    throw new RouteConfigError(`${where}.grpcStatus`, `unknown gRPC status ${JSON.stringify(a.grpcStatus)} (e.g. UNAVAILABLE, NOT_FOUND)`);
  }
  return Object.freeze({ httpStatus: 200, grpcStatus: code });
}
