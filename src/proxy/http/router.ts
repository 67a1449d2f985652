/**
 * The router stage of a request (Envoy's router filter): picks a host for each try, enforces the
 * circuit breaker, the route and per-try timeouts and the retry policy, and turns upstream
 * failures into Envoy's local replies and response flags.
 */
import type { Socket } from 'node:net';
import type { ResetReason } from '../upstream/pool.js';
import type { PickContext } from '../upstream/types.js';
import type { HttpExchange } from './exchange.js';
import { NO_HEALTHY_UPSTREAM, UPSTREAM_TIMEOUT, flagForReset, upstreamResetBody } from './local-reply.js';
import type { HeaderList } from './headers.js';
import { ResponseFlag } from '../../telemetry/response-flags.js';
import type { RetryOutcome } from './route/retry.js';
import { UpstreamTry, type TryEvents } from './upstream-try.js';
import { effectiveTimeoutMs } from '../http2/grpc.js';
import { withOriginalDestination } from '../upstream/original-destination.js';

const NO_PICK_CONTEXT: PickContext = Object.freeze({});

/** A try of an exchange. */
type Try = UpstreamTry<HttpExchange>;

/** Sends the request upstream: the first try now, the route timeout once the body is in. */
export function startForwarding(ex: HttpExchange): void {
  // gRPC requests may shorten it with grpc-timeout (Istio sets max_grpc_timeout to the route timeout).
  const timeoutMs = effectiveTimeoutMs(ex.route!.timeoutMs, ex.head.headers);
  // Envoy starts the route and per-try timeouts once the whole request has been received.
  if (ex.bodyDone) {
    if (timeoutMs > 0) ex.globalTimer = setTimeout(onGlobalTimeout, timeoutMs, ex);
  } else {
    ex.onBodyComplete = () => {
      if (ex.done) return;
      if (timeoutMs > 0) ex.globalTimer = setTimeout(onGlobalTimeout, timeoutMs, ex);
      if (ex.current !== null) armPerTryTimeout(ex, ex.current);
    };
  }
  startTry(ex);
}

function onGlobalTimeout(ex: HttpExchange): void {
  ex.globalTimer = null;
  if (ex.done) return;
  const cluster = ex.cluster!;
  cluster.counters.inc('upstream_rq_timeout');
  ex.ctx.stats.downstream_rq_timeout++;
  const t = ex.current;
  ex.current = null;
  t?.cancel(t.gotHeaders ? null : 'timeout');
  ex.localReply(504, UPSTREAM_TIMEOUT, ResponseFlag.UT, 'upstream_response_timeout');
}

function armPerTryTimeout(ex: HttpExchange, t: Try): void {
  const ms = ex.route!.retry?.perTryTimeoutMs ?? 0;
  if (ms <= 0 || t.perTryTimer !== null || t.gotHeaders || !ex.bodyDone) return;
  t.perTryTimer = setTimeout(onPerTryTimeout, ms, ex, t);
}

function onPerTryTimeout(ex: HttpExchange, t: Try): void {
  t.perTryTimer = null;
  if (ex.current !== t || ex.done) return;
  ex.cluster!.counters.inc('upstream_rq_per_try_timeout');
  ex.current = null;
  t.cancel('timeout');
  // Envoy retries a per-try timeout as if the upstream had answered 504.
  if (retry(ex, 504)) return;
  ex.cluster!.counters.inc('upstream_rq_timeout');
  ex.localReply(504, UPSTREAM_TIMEOUT, ResponseFlag.UT, 'upstream_per_try_timeout');
}

/** Picks a host and starts one try; answers 503 `UH` / `UO` itself when it cannot. */
export function startTry(ex: HttpExchange): void {
  if (ex.done) return;
  const cluster = ex.cluster!;
  // Most picks need no context: no hash key, no earlier try to avoid.
  let ctx: PickContext = NO_PICK_CONTEXT;
  if (ex.hashKey !== undefined || ex.triedHosts !== null) {
    ctx = {};
    if (ex.hashKey !== undefined) ctx.hashKey = ex.hashKey;
    if (ex.triedHosts !== null) ctx.exclude = ex.triedHosts;
  }
  ctx = withOriginalDestination(cluster, ctx, ex.head.authority, 80);
  const host = cluster.pick(ctx);
  if (host === undefined) {
    ex.localReply(503, NO_HEALTHY_UPSTREAM, ResponseFlag.UH, 'no_healthy_upstream');
    return;
  }
  ex.attempts++;
  ex.lastHost = host;
  // Retries go to other hosts when they can (Envoy's previous_hosts predicate, on by default in Istio).
  const policy = ex.route!.retry;
  if (policy !== null && policy.retryIgnorePreviousHosts) (ex.triedHosts ??= new Set()).add(host);
  const t = new UpstreamTry(TRY_EVENTS, ex, cluster, ex.ctx.services.poolFor(cluster, ex.head), host, ex.upstream!, ex.attempts);
  ex.current = t;
  if (!t.start()) {
    ex.current = null;
    ex.localReply(503, upstreamResetBody('overflow', ex.attempts > 1, ''), ResponseFlag.UO, 'upstream_reset_before_response_started{overflow}');
  }
}

// === Events from the try ===

function tryStarted(ex: HttpExchange, t: Try): void {
  if (ex.current !== t) return;
  ex.pumpBodyTo(t);
  armPerTryTimeout(ex, t);
}

function tryResponseHead(ex: HttpExchange, t: Try, status: number, headers: HeaderList, contentLength: number, endStream: boolean): void {
  if (ex.current !== t || ex.done) return;
  const policy = ex.route!.retry;
  if (policy !== null) {
    const grpc = headers.get('grpc-status');
    const grpcStatus = grpc === undefined ? undefined : Number(grpc);
    if (policy.shouldRetry(status, grpcStatus, headers)) {
      ex.current = null;
      if (retry(ex, status, grpcStatus, headers)) {
        t.cancel(t.outlierStatus(status));
        return;
      }
      ex.current = t;
    }
  }
  if (ex.retryHeld && status < 500) ex.cluster!.counters.inc('upstream_rq_retry_success');
  ex.details = 'via_upstream';
  ex.relayHead(t, status, headers, contentLength, endStream);
}

function tryResponseData(ex: HttpExchange, t: Try, chunk: Buffer): boolean {
  if (ex.current !== t) return true;
  return ex.relayData(chunk);
}

function tryResponseEnd(ex: HttpExchange, t: Try, trailers: HeaderList | null): void {
  if (ex.current !== t) return;
  ex.current = null;
  const cluster = ex.cluster!;
  t.settle(t.outlierStatus(ex.responseStatus));
  cluster.counters.inc('upstream_rq_completed');
  cluster.counters.recordResponseCode(ex.responseStatus);
  ex.relayEnd(trailers);
}

function tryFailed(ex: HttpExchange, t: Try, reason: ResetReason, transportFailure: string, afterHeaders: boolean): void {
  if (ex.current !== t || ex.done) return;
  ex.current = null;
  const cluster = ex.cluster!;
  if (afterHeaders) {
    // The response already started: all that can be done is cut the client off too.
    cluster.counters.inc('upstream_rq_rx_reset');
    ex.flags |= flagForReset(reason);
    ex.details = 'upstream_reset_after_response_started';
    ex.resetDownstream();
    return;
  }
  const outcome: RetryOutcome =
    reason === 'overflow'
      ? 'overflow'
      : reason === 'remote connection failure' || reason === 'local connection failure' || reason === 'connection timeout'
        ? 'connect-failure'
        : reason === 'remote refused stream reset'
          ? 'refused-stream'
          : 'reset';
  if (reason !== 'overflow' && outcome === 'reset') cluster.counters.inc('upstream_rq_rx_reset');
  if (retry(ex, outcome)) return;
  const status = reason === 'protocol error' ? 502 : 503;
  const retried = ex.attempts > 1;
  ex.localReply(status, upstreamResetBody(reason, retried, transportFailure), flagForReset(reason), `upstream_reset_before_response_started{${reason.replace(/ /g, '_')}}`);
}

function tryUpgrade(ex: HttpExchange, t: Try, status: number, headers: HeaderList, socket: Socket, head: Buffer): void {
  if (ex.current !== t || ex.done) {
    socket.destroy();
    return;
  }
  ex.current = null;
  ex.details = 'via_upstream';
  ex.clearTimers();
  ex.upstreamTimeMs = performance.now() - t.startedAt;
  ex.relayUpgrade(status, headers, socket, head);
}

function tryDrain(ex: HttpExchange, t: Try): void {
  if (ex.current === t) ex.resumeBody();
}

/** Where every try of an exchange reports. */
const TRY_EVENTS: TryEvents<HttpExchange> = {
  started: tryStarted,
  responseHead: tryResponseHead,
  responseData: tryResponseData,
  responseEnd: tryResponseEnd,
  failed: tryFailed,
  drain: tryDrain,
  upgrade: tryUpgrade,
};

/**
 * Schedules another try when the policy allows it. Sets `URX` when the policy would retry but the
 * attempts are used up, and `UO` when the cluster's retry budget (maxRetries) is exhausted.
 */
function retry(ex: HttpExchange, outcome: RetryOutcome, grpcStatus?: number, headers?: HeaderList): boolean {
  const policy = ex.route!.retry;
  if (policy === null || ex.done) return false;
  if (!policy.shouldRetry(outcome, grpcStatus, headers)) return false;
  const cluster = ex.cluster!;
  if (ex.attempts > policy.attempts) {
    ex.flags |= ResponseFlag.URX;
    cluster.counters.inc('upstream_rq_retry_limit_exceeded');
    return false;
  }
  if (!ex.canReplay()) return false;
  if (!ex.retryHeld) {
    if (!cluster.limits.tryAcquireRetry()) {
      ex.flags |= ResponseFlag.UO;
      return false;
    }
    ex.retryHeld = true;
  }
  cluster.counters.inc('upstream_rq_retry');
  ex.pauseBody();
  ex.retryTimer = setTimeout(onRetryTimer, policy.backoffMs(ex.attempts, ex.ctx.services.random), ex);
  return true;
}

function onRetryTimer(ex: HttpExchange): void {
  ex.retryTimer = null;
  startTry(ex);
}
