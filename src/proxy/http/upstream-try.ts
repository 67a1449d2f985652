/**
 * One try of a request against one upstream host: takes a pooled connection (or waits for one),
 * sends the request head and body, relays the response back to the exchange, and settles the
 * host's accounting (active requests, circuit breaker, outlier detection) exactly once.
 */
import type { Socket } from 'node:net';
import type { Cluster } from '../upstream/cluster.js';
import type { ConnectionPool, PendingTicket, PoolClient, ResetReason, ResponseHandler, UpstreamStream } from '../upstream/pool.js';
import type { OutlierOutcome } from '../upstream/outlier.js';
import type { Endpoint } from '../upstream/types.js';
import type { HeaderList } from './headers.js';
import { grpcToHttpStatus, isGrpcRequest } from '../http2/grpc.js';

/** What a try reports to the exchange that owns it. */
export interface TryOwner {
  /** Connected and the request head went out: time to send the body. */
  onTryStarted(t: UpstreamTry): void;
  onTryResponseHead(t: UpstreamTry, status: number, headers: HeaderList, contentLength: number, endStream: boolean): void;
  onTryResponseData(t: UpstreamTry, chunk: Buffer): boolean;
  onTryResponseEnd(t: UpstreamTry, trailers: HeaderList | null): void;
  /** No response (or a broken one): `reason` in Envoy's words, `transportFailure` when Envoy prints one. */
  onTryFailed(t: UpstreamTry, reason: ResetReason, transportFailure: string, afterHeaders: boolean): void;
  onTryDrain(t: UpstreamTry): void;
  onTryUpgrade(t: UpstreamTry, status: number, headers: HeaderList, socket: Socket, head: Buffer): void;
}

/** The request as it goes upstream (shared by every try of one exchange). */
export interface UpstreamRequestHead {
  method: string;
  path: string;
  headers: HeaderList;
  /** Body length: 0 none, -1 unknown (sent chunked). */
  bodyLength: number;
  upgrade: boolean;
}

export class UpstreamTry implements PoolClient, ResponseHandler {
  conn: UpstreamStream | null = null;
  private ticket: PendingTicket | null = null;
  private settled = false;
  /** performance.now() when the try began, for x-envoy-upstream-service-time. */
  readonly startedAt = performance.now();
  perTryTimer: NodeJS.Timeout | null = null;
  /** The response head was passed on. */
  gotHeaders = false;
  /** grpc-status of a gRPC response (head of a trailers-only answer, else trailers). */
  private grpcStatus: number | undefined = undefined;

  constructor(
    private readonly owner: TryOwner,
    readonly cluster: Cluster,
    private readonly pool: ConnectionPool,
    readonly host: Endpoint,
    private readonly req: UpstreamRequestHead,
    /** 1 for the first try. */
    readonly attempt: number,
  ) {}

  /**
   * Starts the try. Returns false on circuit-breaker overflow (nothing was counted and the
   * caller answers 503 `UO`).
   */
  start(): boolean {
    const limits = this.cluster.limits;
    if (!limits.tryAcquireRequest()) return false;
    this.cluster.startRequest(this.host);
    this.cluster.counters.inc('upstream_rq_total');
    const r = this.pool.newStream(this.host, this);
    if (r === 'overflow') {
      this.settle(null);
      return false;
    }
    // A stream handed over at once already went through onPoolReady.
    if (r !== null) this.ticket = r;
    return true;
  }

  onPoolReady(conn: UpstreamStream): void {
    this.ticket = null;
    if (this.settled) {
      // Abandoned while waiting: hand the connection straight back.
      conn.abort();
      return;
    }
    this.conn = conn;
    const h = this.req;
    h.headers.set('x-envoy-attempt-count', String(this.attempt));
    conn.dispatch(this, h.method, h.path, h.headers, h.bodyLength, h.upgrade);
    this.owner.onTryStarted(this);
  }

  onPoolFailure(reason: ResetReason, transportFailure: string): void {
    this.ticket = null;
    if (this.settled) return;
    this.settle(reason === 'overflow' ? null : 'connect-failure');
    this.owner.onTryFailed(this, reason, transportFailure, false);
  }

  onResponseHead(status: number, headers: HeaderList, contentLength: number, endStream: boolean): void {
    if (this.settled) return;
    this.gotHeaders = true;
    this.clearPerTryTimer();
    this.noteGrpcStatus(headers);
    this.owner.onTryResponseHead(this, status, headers, contentLength, endStream);
  }

  onResponseData(chunk: Buffer): boolean {
    if (this.settled) return true;
    return this.owner.onTryResponseData(this, chunk);
  }

  onResponseEnd(trailers: HeaderList | null): void {
    if (this.settled) return;
    if (trailers !== null) this.noteGrpcStatus(trailers);
    this.owner.onTryResponseEnd(this, trailers);
  }

  private noteGrpcStatus(fields: HeaderList): void {
    const v = fields.get('grpc-status');
    if (v !== undefined && /^\d+$/.test(v) && isGrpcRequest(this.req.headers)) this.grpcStatus = Number(v);
  }

  /** What outlier detection hears for a response: gRPC statuses count as Envoy maps them to HTTP. */
  outlierStatus(httpStatus: number): number {
    return this.grpcStatus === undefined ? httpStatus : grpcToHttpStatus(this.grpcStatus);
  }

  onUpstreamReset(reason: ResetReason, afterHeaders: boolean): void {
    if (this.settled) return;
    this.conn = null;
    this.settle('reset');
    this.owner.onTryFailed(this, reason, '', afterHeaders);
  }

  onUpstreamDrain(): void {
    if (!this.settled) this.owner.onTryDrain(this);
  }

  onUpgrade(status: number, headers: HeaderList, socket: Socket, head: Buffer): void {
    this.conn = null;
    if (this.settled) {
      socket.destroy();
      return;
    }
    this.settle(status);
    this.owner.onTryUpgrade(this, status, headers, socket, head);
  }

  /** Ends the try's accounting with the outcome outlier detection should see (null: not the host's fault). */
  settle(outcome: OutlierOutcome | null): void {
    if (this.settled) return;
    this.settled = true;
    this.clearPerTryTimer();
    const cluster = this.cluster;
    cluster.limits.releaseRequest();
    if (outcome === null) {
      // Overflow or cancellation: release the host without judging it.
      const h = this.host;
      if (h.activeRequests > 0) h.activeRequests--;
      if (h.stats.rq_active > 0) h.stats.rq_active--;
    } else cluster.endRequest(this.host, outcome);
  }

  /** Abandons the try (timeout, retry, client gone): the connection is closed, never reused. */
  cancel(outcome: OutlierOutcome | null): void {
    if (this.ticket !== null) {
      this.pool.cancel(this.ticket);
      this.ticket = null;
    }
    const conn = this.conn;
    this.conn = null;
    this.settle(outcome);
    conn?.abort();
  }

  clearPerTryTimer(): void {
    if (this.perTryTimer !== null) clearTimeout(this.perTryTimer);
    this.perTryTimer = null;
  }

  get isSettled(): boolean {
    return this.settled;
  }
}
