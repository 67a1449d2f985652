/**
 * The fault filter: Istio fault injection decided per request as Envoy's fault filter does. The
 * delay and the abort are drawn independently at per-million precision, an unset percentage never
 * fires; a delay waits on the timer (flag `DI`), then the abort (if drawn) answers with Envoy's
 * text `fault filter abort` (flag `FI`), a gRPC abort as HTTP 200 carrying the gRPC status.
 * Compiled per route (`HTTPRoute.fault`); runs after the route's local answers, before the
 * destination is chosen.
 */
import { RouteConfigError } from '../../../snapshot/index.js';
import type { FaultInjection } from '../../../snapshot/index.js';
import { ResponseFlag } from '../../../telemetry/response-flags.js';
import { localReply, type HttpFilterRequest, type HttpVerdict, type LocalReply } from '../http-filter.js';
import { draw, percentToPerMillion } from '../sampling.js';
import { CONTINUE, waitMs } from '../verdict.js';

/** Envoy's body (and gRPC message) of an abort. */
export const FAULT_ABORT = 'fault filter abort';

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

/** A route's fault policy, compiled. */
export class FaultFilter {
  readonly name = 'fault';
  // Decisions and answers carry no per-request data, so the few possible ones are built once.
  private readonly delayOnly: FaultDecision;
  private readonly abortOnly: FaultDecision;
  private readonly both: FaultDecision;
  private readonly abortReply: LocalReply | null;

  constructor(
    delayMs: number,
    private readonly delayPpm: number,
    private readonly abort: FaultDecision['abort'],
    private readonly abortPpm: number,
  ) {
    this.delayOnly = Object.freeze({ delayMs, abort: null });
    this.abortOnly = Object.freeze({ delayMs: 0, abort });
    this.both = Object.freeze({ delayMs, abort });
    this.abortReply = abort === null ? null : abortReply(abort);
  }

  /** What to inject into one request, or null (most requests: no allocation). */
  draw(random: () => number): FaultDecision | null {
    const delayed = draw(this.delayPpm, random);
    const aborted = this.abort !== null && draw(this.abortPpm, random);
    if (delayed) return aborted ? this.both : this.delayOnly;
    return aborted ? this.abortOnly : null;
  }

  /** Go on, wait for the delay (then go on or abort), or abort now. */
  decide(req: HttpFilterRequest): HttpVerdict {
    const d = this.draw(req.random);
    if (d === null) return CONTINUE;
    const then: HttpVerdict = this.abortReply !== null && d.abort !== null ? this.abortReply : CONTINUE;
    return d.delayMs > 0 ? waitMs<HttpVerdict>(d.delayMs, then, ResponseFlag.DI) : then;
  }
}

/** Compiles `HTTPRoute.fault`; null when it injects nothing. Throws `RouteConfigError` naming the field. */
export function compileFault(f: FaultInjection | undefined, where: string): FaultFilter | null {
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
  return new FaultFilter(delayMs, delayPpm, abort, abortPpm);
}

/** The answer of an abort: the status with Envoy's text, or a gRPC trailers-only answer (HTTP 200 carrying grpc-status). */
function abortReply(abort: NonNullable<FaultDecision['abort']>): LocalReply {
  if (abort.grpcStatus === undefined) return localReply(abort.httpStatus, FAULT_ABORT, ResponseFlag.FI, 'fault_filter_abort');
  return localReply(200, '', ResponseFlag.FI, 'fault_filter_abort', [
    ['content-type', 'application/grpc'],
    ['grpc-status', String(abort.grpcStatus)],
    ['grpc-message', FAULT_ABORT],
  ]);
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
