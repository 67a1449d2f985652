/**
 * The router stage of a request (Envoy's router filter): picks a host for each try, enforces the
 * circuit breaker, the route and per-try timeouts and the retry policy, and turns upstream
 * failures into Envoy's local replies and response flags. Its state per request is its own
 * (`Forwarding`: the try in flight, timers, the retry budget held); it reaches the request only
 * through `ForwardedRequest`, which the exchange implements.
 */
import type { Socket } from 'node:net';
import type { Cluster } from '../upstream/cluster.js';
import type { ResetReason, UpstreamStream } from '../upstream/pool.js';
import type { Endpoint, PickContext } from '../upstream/types.js';
import type { HttpListenerStats, ProxyServices } from './context.js';
import type { ConnectionContext } from '../filters/connection-filter.js';
import { NO_HEALTHY_UPSTREAM, UPSTREAM_TIMEOUT, flagForReset, upstreamResetBody } from './local-reply.js';
import type { HeaderList } from './headers.js';
import { ResponseFlag } from '../../telemetry/response-flags.js';
import type { RetryOutcome } from './route/retry.js';
import type { SelectedRoute } from './route/selected.js';
import type { RequestHead } from './stream.js';
import { UpstreamTry, type TryEvents, type UpstreamRequestHead } from './upstream-try.js';
import { effectiveTimeoutMs } from '../http2/grpc.js';
import { withOriginalDestination } from '../upstream/original-destination.js';

const NO_PICK_CONTEXT: PickContext = Object.freeze({});

/** What the router needs of the request it forwards. */
export interface ForwardedRequest {
  readonly head: RequestHead;
  /** The connection it came on: a captured one's original destination is where PassthroughCluster goes. */
  readonly connection: Pick<ConnectionContext, 'originalDestination'>;
  /** True once the request ended: answered, reset, or its client went away. */
  readonly done: boolean;
  /** True once the whole request body arrived (the route and per-try timeouts start then). */
  readonly bodyDone: boolean;
  /** Tries so far; 1 during the first. */
  readonly attempts: number;
  /** A try goes to `host`: one more attempt, and the host the record names. */
  noteAttempt(host: Endpoint): void;
  /** Adds response flags to the record (`URX`, `UO`). */
  addFlags(flags: number): void;
  /** A try is connected: send it the body (what earlier tries consumed first). */
  pumpBodyTo(conn: UpstreamStream): void;
  /** Holds the body while no try can take it (between retries). */
  pauseBody(): void;
  resumeBody(): void;
  /** True when the body can be sent again from its start (a retry may go out). */
  canReplay(): boolean;
  /** Answers from the proxy itself; after the response began, resets the client instead. */
  localReply(status: number, body: string, flag: number, details: string): void;
  /** The response already began and the upstream broke off: reset the client, saying why. */
  abortResponse(flags: number, details: string): void;
  /** Sends a try's response head on (`startedAt` of the try, for the upstream service time). */
  relayHead(startedAt: number, status: number, headers: HeaderList, contentLength: number, endStream: boolean): void;
  relayData(chunk: Buffer): boolean;
  relayEnd(trailers: HeaderList | null): void;
  /** A 101 to a WebSocket upgrade: send it on, then splice the two connections. */
  relayUpgrade(startedAt: number, status: number, headers: HeaderList, upstream: Socket, upstreamHead: Buffer): void;
}

/** A try of a forwarded request. */
type Try = UpstreamTry<Forwarding>;

/** The router's state for one request: made when the request is forwarded, ended with it. */
export class Forwarding {
  /** The try in flight, or null between tries. */
  private current: Try | null = null;
  private triedHosts: Set<Endpoint> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private globalTimer: NodeJS.Timeout | null = null;
  /** A slot of the cluster's retry budget (maxRetries) is held. */
  private retryHeld = false;
  /** Status of the response head relayed. */
  private status = 0;

  constructor(
    private readonly req: ForwardedRequest,
    private readonly route: SelectedRoute,
    private readonly cluster: Cluster,
    private readonly upstream: UpstreamRequestHead,
    /** Consistent-hash key of the request under the cluster's policy. */
    private readonly hashKey: string | undefined,
    private readonly services: ProxyServices,
    private readonly stats: HttpListenerStats,
  ) {}

  /** Sends the request upstream: the first try now, the route timeout once the body is in. */
  start(): void {
    // Envoy starts the route and per-try timeouts once the whole request has been received.
    if (this.req.bodyDone) this.armRouteTimeout();
    this.startTry();
  }

  /** The upstream stream the request body goes to now, or null between tries. */
  upstreamStream(): UpstreamStream | null {
    return this.current?.conn ?? null;
  }

  /** The whole request body arrived: the timeouts start. */
  bodyComplete(): void {
    if (this.req.done) return;
    this.armRouteTimeout();
    if (this.current !== null) this.armPerTryTimeout(this.current);
  }

  /** The client went away: the try in flight is abandoned. */
  cancel(): void {
    const t = this.current;
    this.current = null;
    t?.cancel(null);
  }

  /** The request ended: timers off, the retry budget slot back. */
  finish(): void {
    this.clearTimers();
    if (this.retryHeld) {
      this.retryHeld = false;
      this.cluster.limits.releaseRetry();
    }
  }

  private armRouteTimeout(): void {
    // gRPC requests may shorten it with grpc-timeout (Istio sets max_grpc_timeout to the route timeout).
    const timeoutMs = effectiveTimeoutMs(this.route.timeoutMs, this.req.head.headers);
    if (timeoutMs > 0) this.globalTimer = setTimeout(Forwarding.onGlobalTimeout, timeoutMs, this);
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.globalTimer !== null) clearTimeout(this.globalTimer);
    this.retryTimer = null;
    this.globalTimer = null;
    if (this.current !== null) this.current.clearPerTryTimer();
  }

  private static onGlobalTimeout(this: void, fw: Forwarding): void {
    fw.globalTimer = null;
    if (fw.req.done) return;
    fw.cluster.counters.inc('upstream_rq_timeout');
    fw.stats.downstream_rq_timeout++;
    const t = fw.current;
    fw.current = null;
    t?.cancel(t.gotHeaders ? null : 'timeout');
    fw.req.localReply(504, UPSTREAM_TIMEOUT, ResponseFlag.UT, 'upstream_response_timeout');
  }

  private armPerTryTimeout(t: Try): void {
    const ms = this.route.retry?.perTryTimeoutMs ?? 0;
    if (ms <= 0 || t.perTryTimer !== null || t.gotHeaders || !this.req.bodyDone) return;
    t.perTryTimer = setTimeout(Forwarding.onPerTryTimeout, ms, this, t);
  }

  private static onPerTryTimeout(this: void, fw: Forwarding, t: Try): void {
    t.perTryTimer = null;
    if (fw.current !== t || fw.req.done) return;
    fw.cluster.counters.inc('upstream_rq_per_try_timeout');
    fw.current = null;
    t.cancel('timeout');
    // Envoy retries a per-try timeout as if the upstream had answered 504.
    if (fw.retry(504)) return;
    fw.cluster.counters.inc('upstream_rq_timeout');
    fw.req.localReply(504, UPSTREAM_TIMEOUT, ResponseFlag.UT, 'upstream_per_try_timeout');
  }

  /** Picks a host and starts one try; answers 503 `UH` / `UO` itself when it cannot. */
  private startTry(): void {
    const req = this.req;
    if (req.done) return;
    const cluster = this.cluster;
    // Most picks need no context: no hash key, no earlier try to avoid.
    let ctx: PickContext = NO_PICK_CONTEXT;
    if (this.hashKey !== undefined || this.triedHosts !== null) {
      ctx = {};
      if (this.hashKey !== undefined) ctx.hashKey = this.hashKey;
      if (this.triedHosts !== null) ctx.exclude = this.triedHosts;
    }
    ctx = withOriginalDestination(cluster, ctx, req.head.authority, 80, req.connection.originalDestination);
    const host = cluster.pick(ctx);
    if (host === undefined) {
      req.localReply(503, NO_HEALTHY_UPSTREAM, ResponseFlag.UH, 'no_healthy_upstream');
      return;
    }
    req.noteAttempt(host);
    // Retries go to other hosts when they can (Envoy's previous_hosts predicate, on by default in Istio).
    const policy = this.route.retry;
    if (policy !== null && policy.retryIgnorePreviousHosts) (this.triedHosts ??= new Set()).add(host);
    const t = new UpstreamTry(Forwarding.EVENTS, this, cluster, this.services.poolFor(cluster, req.head), host, this.upstream, req.attempts);
    this.current = t;
    if (!t.start()) {
      this.current = null;
      req.localReply(503, upstreamResetBody('overflow', req.attempts > 1, ''), ResponseFlag.UO, 'upstream_reset_before_response_started{overflow}');
    }
  }

  // === Events from the try ===

  private tryStarted(t: Try): void {
    if (this.current !== t || t.conn === null) return;
    this.req.pumpBodyTo(t.conn);
    this.armPerTryTimeout(t);
  }

  private tryResponseHead(t: Try, status: number, headers: HeaderList, contentLength: number, endStream: boolean): void {
    if (this.current !== t || this.req.done) return;
    const policy = this.route.retry;
    if (policy !== null) {
      const grpc = headers.get('grpc-status');
      const grpcStatus = grpc === undefined ? undefined : Number(grpc);
      if (policy.shouldRetry(status, grpcStatus, headers)) {
        this.current = null;
        if (this.retry(status, grpcStatus, headers)) {
          t.cancel(t.outlierStatus(status));
          return;
        }
        this.current = t;
      }
    }
    if (this.retryHeld && status < 500) this.cluster.counters.inc('upstream_rq_retry_success');
    this.status = status;
    this.req.relayHead(t.startedAt, status, headers, contentLength, endStream);
  }

  private tryResponseData(t: Try, chunk: Buffer): boolean {
    if (this.current !== t) return true;
    return this.req.relayData(chunk);
  }

  private tryResponseEnd(t: Try, trailers: HeaderList | null): void {
    if (this.current !== t) return;
    this.current = null;
    const cluster = this.cluster;
    t.settle(t.outlierStatus(this.status));
    cluster.counters.inc('upstream_rq_completed');
    cluster.counters.recordResponseCode(this.status);
    this.req.relayEnd(trailers);
  }

  private tryFailed(t: Try, reason: ResetReason, transportFailure: string, afterHeaders: boolean): void {
    if (this.current !== t || this.req.done) return;
    this.current = null;
    const cluster = this.cluster;
    if (afterHeaders) {
      // The response already started: all that can be done is cut the client off too.
      cluster.counters.inc('upstream_rq_rx_reset');
      this.req.abortResponse(flagForReset(reason), 'upstream_reset_after_response_started');
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
    if (this.retry(outcome)) return;
    const status = reason === 'protocol error' ? 502 : 503;
    const retried = this.req.attempts > 1;
    this.req.localReply(status, upstreamResetBody(reason, retried, transportFailure), flagForReset(reason), `upstream_reset_before_response_started{${reason.replace(/ /g, '_')}}`);
  }

  private tryUpgrade(t: Try, status: number, headers: HeaderList, socket: Socket, head: Buffer): void {
    if (this.current !== t || this.req.done) {
      socket.destroy();
      return;
    }
    this.current = null;
    this.clearTimers();
    this.req.relayUpgrade(t.startedAt, status, headers, socket, head);
  }

  private tryDrain(t: Try): void {
    if (this.current === t) this.req.resumeBody();
  }

  /** Where every try reports: one table for all requests, so no closure per try. */
  private static readonly EVENTS: TryEvents<Forwarding> = {
    started: (fw, t) => fw.tryStarted(t),
    responseHead: (fw, t, status, headers, contentLength, endStream) => fw.tryResponseHead(t, status, headers, contentLength, endStream),
    responseData: (fw, t, chunk) => fw.tryResponseData(t, chunk),
    responseEnd: (fw, t, trailers) => fw.tryResponseEnd(t, trailers),
    failed: (fw, t, reason, transportFailure, afterHeaders) => fw.tryFailed(t, reason, transportFailure, afterHeaders),
    drain: (fw, t) => fw.tryDrain(t),
    upgrade: (fw, t, status, headers, socket, head) => fw.tryUpgrade(t, status, headers, socket, head),
  };

  /**
   * Schedules another try when the policy allows it. Sets `URX` when the policy would retry but
   * the attempts are used up, and `UO` when the cluster's retry budget (maxRetries) is exhausted.
   */
  private retry(outcome: RetryOutcome, grpcStatus?: number, headers?: HeaderList): boolean {
    const policy = this.route.retry;
    const req = this.req;
    if (policy === null || req.done) return false;
    if (!policy.shouldRetry(outcome, grpcStatus, headers)) return false;
    const cluster = this.cluster;
    if (req.attempts > policy.attempts) {
      req.addFlags(ResponseFlag.URX);
      cluster.counters.inc('upstream_rq_retry_limit_exceeded');
      return false;
    }
    if (!req.canReplay()) return false;
    if (!this.retryHeld) {
      if (!cluster.limits.tryAcquireRetry()) {
        req.addFlags(ResponseFlag.UO);
        return false;
      }
      this.retryHeld = true;
    }
    cluster.counters.inc('upstream_rq_retry');
    req.pauseBody();
    this.retryTimer = setTimeout(Forwarding.onRetryTimer, policy.backoffMs(req.attempts, this.services.random), this);
    return true;
  }

  private static onRetryTimer(this: void, fw: Forwarding): void {
    fw.retryTimer = null;
    fw.startTry();
  }
}
