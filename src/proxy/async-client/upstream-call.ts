/**
 * One request the proxy sends on its own behalf (Envoy's async client: an ext_authz check, a
 * rate-limit call), with the whole answer buffered. It goes on the cluster's own connection pool
 * — HTTP/1.1 or HTTP/2, whichever the caller hands over —, so it takes the one upstream connect
 * path with the cluster's TLS (ISTIO_MUTUAL included), circuit breakers, host counts, counters and
 * outlier detection, as any request to that cluster does.
 */
import type { Socket } from 'node:net';
import { HeaderList } from '../http/headers.js';
import { UpstreamRequest } from '../http/upstream-request.js';
import type { Cluster } from '../upstream/cluster.js';
import type { ConnectionPool, ResetReason, ResponseHandler, UpstreamStream } from '../upstream/pool.js';
import type { Endpoint } from '../upstream/types.js';

/** Why a call got no answer. */
export type CallFailure = 'timeout' | 'overflow' | 'connect' | 'reset' | 'too-large' | 'upgrade';

export class UpstreamCallError extends Error {
  constructor(
    message: string,
    readonly failure: CallFailure,
  ) {
    super(message);
    this.name = 'UpstreamCallError';
  }
}

export interface CallRequest {
  readonly method: string;
  readonly path: string;
  /** Every header of the request, `host` (or `:authority`) included. */
  readonly headers: HeaderList;
  /** null or empty: no body. */
  readonly body: Buffer | null;
  readonly timeoutMs: number;
  /** An answer larger than this (body bytes) fails the call. */
  readonly maxResponseBytes: number;
}

/** The whole answer. */
export interface CallResponse {
  readonly status: number;
  readonly headers: HeaderList;
  readonly body: Buffer;
  readonly trailers: HeaderList | null;
}

export type CallDone = (err: UpstreamCallError | null, res: CallResponse | null) => void;

/** Stops a call in flight; `done` is not called after it. */
export type CancelCall = () => void;

const NO_BODY = Buffer.alloc(0);

class BufferedCall extends UpstreamRequest implements ResponseHandler {
  private chunks: Buffer[] | null = null;
  private received = 0;
  private status = 0;
  private headers: HeaderList | null = null;
  private timer: NodeJS.Timeout | null = null;
  private done = false;

  constructor(
    cluster: Cluster,
    pool: ConnectionPool,
    host: Endpoint,
    private readonly call: CallRequest,
    private readonly finish: CallDone,
  ) {
    const body = call.body ?? NO_BODY;
    super(cluster, pool, host, { method: call.method, path: call.path, headers: call.headers, bodyLength: body.length, upgrade: false });
  }

  run(): void {
    const ms = this.call.timeoutMs;
    this.timer = setTimeout(() => {
      // Counted as the router counts a request's timeout, as Envoy's async client does.
      this.cluster.counters.inc('upstream_rq_timeout');
      this.fail(new UpstreamCallError(`no answer from ${this.cluster.name} within ${ms} ms`, 'timeout'), 'timeout');
    }, ms);
    // Refused by the circuit breaker: nothing was counted, so nothing is settled.
    if (!this.start()) this.end(new UpstreamCallError(`upstream overflow in ${this.cluster.name}`, 'overflow'), null);
  }

  /** The caller no longer wants the answer (its client left). */
  abandon(): void {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    this.cancel(null);
  }

  protected connected(conn: UpstreamStream): void {
    const h = this.req;
    conn.dispatch(this, h.method, h.path, h.headers, h.bodyLength, false);
    const body = this.call.body;
    if (body !== null && body.length > 0) {
      conn.writeBody(body);
      conn.endBody(null);
    }
  }

  onPoolFailure(reason: ResetReason, transportFailure: string): void {
    this.poolAnswered();
    const text = `${reason}${transportFailure === '' ? '' : `: ${transportFailure}`}`;
    if (reason === 'overflow') this.fail(new UpstreamCallError(text, 'overflow'), null);
    else this.fail(new UpstreamCallError(text, 'connect'), 'connect-failure');
  }

  onResponseHead(status: number, headers: HeaderList): void {
    this.status = status;
    this.headers = headers;
  }

  onResponseData(chunk: Buffer): boolean {
    if (this.done) return true;
    this.received += chunk.length;
    if (this.received > this.call.maxResponseBytes) {
      this.fail(new UpstreamCallError(`answer larger than ${this.call.maxResponseBytes} bytes`, 'too-large'), 'reset');
      return true;
    }
    // The chunk is only valid during the call: keep a copy.
    (this.chunks ??= []).push(Buffer.from(chunk));
    return true;
  }

  onResponseEnd(trailers: HeaderList | null): void {
    if (this.done) return;
    this.conn = null;
    this.cluster.counters.inc('upstream_rq_completed');
    this.cluster.counters.recordResponseCode(this.status);
    this.settle(this.status);
    const chunks = this.chunks;
    const body = chunks === null ? NO_BODY : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    // A head always comes before the end; an empty list stands in should a codec ever skip it.
    this.end(null, { status: this.status, headers: this.headers ?? new HeaderList(), body, trailers });
  }

  onUpstreamReset(reason: ResetReason): void {
    this.conn = null;
    this.fail(new UpstreamCallError(`upstream reset: ${reason}`, 'reset'), 'reset');
  }

  onUpstreamDrain(): void {}

  onUpgrade(_status: number, _headers: HeaderList, socket: Socket): void {
    socket.destroy();
    this.fail(new UpstreamCallError('unexpected upgrade', 'upgrade'), null);
  }

  /** Ends the call with an error; the request is abandoned if still in flight. */
  private fail(err: UpstreamCallError, outcome: Parameters<UpstreamRequest['settle']>[0]): void {
    if (this.done) return;
    this.cancel(outcome);
    this.end(err, null);
  }

  private end(err: UpstreamCallError | null, res: CallResponse | null): void {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    this.finish(err, res);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * Sends `call` to `host` of `cluster` on `pool` (one of that cluster's pools); `done` hears the
 * whole answer, or why there is none, exactly once unless the call is cancelled first.
 */
export function upstreamCall(cluster: Cluster, pool: ConnectionPool, host: Endpoint, call: CallRequest, done: CallDone): CancelCall {
  const c = new BufferedCall(cluster, pool, host, call, done);
  c.run();
  return () => c.abandon();
}
