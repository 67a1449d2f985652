/**
 * One try of a request against one upstream host: takes a pooled connection (or waits for one),
 * sends the request head and body, relays the response back to the exchange, and settles the
 * host's accounting (active requests, circuit breaker, outlier detection) exactly once.
 */
import type { Socket } from 'node:net';
import type { Cluster } from '../upstream/cluster.js';
import type { ConnectionPool, ResetReason, ResponseHandler, UpstreamStream } from '../upstream/pool.js';
import type { Endpoint } from '../upstream/types.js';
import type { HeaderList } from './headers.js';
import { UpstreamRequest } from './upstream-request.js';
import type { UpstreamRequestHead } from './upstream-request.js';
import { grpcToHttpStatus, isGrpcRequest } from '../http2/grpc.js';
import { ORCA_HEADER } from '../upstream/lb/orca.js';

export type { UpstreamRequestHead } from './upstream-request.js';

/**
 * What a try reports, and to whom: the router's handlers, each called with the request the try
 * belongs to (`R`, the exchange), so a try knows nothing of the request beyond carrying it.
 */
export interface TryEvents<R> {
  /** Connected and the request head went out: time to send the body. */
  started(owner: R, t: UpstreamTry<R>): void;
  responseHead(owner: R, t: UpstreamTry<R>, status: number, headers: HeaderList, contentLength: number, endStream: boolean): void;
  responseData(owner: R, t: UpstreamTry<R>, chunk: Buffer): boolean;
  responseEnd(owner: R, t: UpstreamTry<R>, trailers: HeaderList | null): void;
  /** No response (or a broken one): `reason` in Envoy's words, `transportFailure` when Envoy prints one. */
  failed(owner: R, t: UpstreamTry<R>, reason: ResetReason, transportFailure: string, afterHeaders: boolean): void;
  drain(owner: R, t: UpstreamTry<R>): void;
  upgrade(owner: R, t: UpstreamTry<R>, status: number, headers: HeaderList, socket: Socket, head: Buffer): void;
}

export class UpstreamTry<R> extends UpstreamRequest implements ResponseHandler {
  /** performance.now() when the try began, for x-envoy-upstream-service-time. */
  readonly startedAt = performance.now();
  perTryTimer: NodeJS.Timeout | null = null;
  /** The response head was passed on. */
  gotHeaders = false;
  /** grpc-status of a gRPC response (head of a trailers-only answer, else trailers). */
  private grpcStatus: number | undefined = undefined;

  constructor(
    private readonly events: TryEvents<R>,
    private readonly owner: R,
    cluster: Cluster,
    pool: ConnectionPool,
    host: Endpoint,
    req: UpstreamRequestHead,
    /** 1 for the first try. */
    readonly attempt: number,
  ) {
    super(cluster, pool, host, req);
  }

  protected connected(conn: UpstreamStream): void {
    const h = this.req;
    h.headers.set('x-envoy-attempt-count', attemptCount(this.attempt));
    conn.dispatch(this, h.method, h.path, h.headers, h.bodyLength, h.upgrade);
    this.events.started(this.owner, this);
  }

  onPoolFailure(reason: ResetReason, transportFailure: string): void {
    this.poolAnswered();
    if (this.isSettled) return;
    this.settle(reason === 'overflow' ? null : 'connect-failure');
    this.events.failed(this.owner, this, reason, transportFailure, false);
  }

  onResponseHead(status: number, headers: HeaderList, contentLength: number, endStream: boolean): void {
    if (this.isSettled) return;
    this.gotHeaders = true;
    this.clearPerTryTimer();
    this.noteGrpcStatus(headers);
    // backendUtilization: the load the endpoint reports weighs it in the cluster's next picks.
    if (this.cluster.wantsLoadReports) {
      const load = headers.get(ORCA_HEADER);
      if (load !== undefined) this.cluster.reportLoad(this.host, load);
    }
    this.events.responseHead(this.owner, this, status, headers, contentLength, endStream);
  }

  onResponseData(chunk: Buffer): boolean {
    if (this.isSettled) return true;
    return this.events.responseData(this.owner, this, chunk);
  }

  onResponseEnd(trailers: HeaderList | null): void {
    if (this.isSettled) return;
    if (trailers !== null) this.noteGrpcStatus(trailers);
    this.events.responseEnd(this.owner, this, trailers);
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
    if (this.isSettled) return;
    this.conn = null;
    this.settle('reset');
    this.events.failed(this.owner, this, reason, '', afterHeaders);
  }

  onUpstreamDrain(): void {
    if (!this.isSettled) this.events.drain(this.owner, this);
  }

  onUpgrade(status: number, headers: HeaderList, socket: Socket, head: Buffer): void {
    this.conn = null;
    if (this.isSettled) {
      socket.destroy();
      return;
    }
    this.settle(status);
    this.events.upgrade(this.owner, this, status, headers, socket, head);
  }

  protected override onSettled(): void {
    this.clearPerTryTimer();
  }

  clearPerTryTimer(): void {
    if (this.perTryTimer !== null) clearTimeout(this.perTryTimer);
    this.perTryTimer = null;
  }
}

/** `x-envoy-attempt-count` values, made once: almost every request is a first or second try. */
const ATTEMPT_COUNTS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

function attemptCount(n: number): string {
  return n < ATTEMPT_COUNTS.length ? ATTEMPT_COUNTS[n] : String(n);
}
