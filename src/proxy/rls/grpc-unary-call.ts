/**
 * One unary gRPC call sent as Envoy's `envoy_grpc` client sends it: an HTTP/2 request on the
 * cluster's own connection pool, so it goes through the one upstream connect path with the
 * cluster's TLS (ISTIO_MUTUAL included), circuit breakers, host counts and outlier detection, as
 * any request to that cluster does. The message is one length-prefixed frame each way; the call
 * ends with the `grpc-status` of the trailers (or of a trailers-only answer).
 */
import type { Socket } from 'node:net';
import { HeaderList } from '../http/headers.js';
import { UpstreamRequest } from '../http/upstream-request.js';
import type { Cluster } from '../upstream/cluster.js';
import type { ConnectionPool, ResetReason, ResponseHandler, UpstreamStream } from '../upstream/pool.js';
import type { Endpoint } from '../upstream/types.js';

/** Why a call failed: a gRPC status other than OK, or the transport. */
export class GrpcCallError extends Error {
  constructor(
    message: string,
    /** The gRPC status code; 14 (UNAVAILABLE) for transport failures, 4 for the deadline. */
    readonly code: number,
  ) {
    super(message);
    this.name = 'GrpcCallError';
  }
}

const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;
/** Largest answer accepted (gRPC's default receive limit). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** `grpc-message` is percent-encoded; a malformed one is shown as sent. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A gRPC message in its length-prefixed frame (uncompressed). */
export function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

export interface UnaryCallOptions {
  /** `/package.Service/Method`. */
  readonly path: string;
  /** `:authority`. */
  readonly authority: string;
  readonly message: Uint8Array;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

class UnaryCall extends UpstreamRequest implements ResponseHandler {
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private status = 0;
  private headStatus: string | undefined;
  private headMessage: string | undefined;
  private timer: NodeJS.Timeout | null = null;
  private done = false;

  constructor(
    cluster: Cluster,
    pool: ConnectionPool,
    host: Endpoint,
    private readonly body: Buffer,
    headers: HeaderList,
    path: string,
    private readonly finish: (err: GrpcCallError | null, message: Buffer | null) => void,
  ) {
    super(cluster, pool, host, { method: 'POST', path, headers, bodyLength: body.length, upgrade: false });
  }

  run(timeoutMs: number, signal: AbortSignal): void {
    if (signal.aborted) return this.fail(new GrpcCallError('cancelled', 1), null);
    this.timer = setTimeout(() => this.fail(new GrpcCallError(`deadline of ${timeoutMs} ms exceeded`, DEADLINE_EXCEEDED), 'timeout'), timeoutMs);
    signal.addEventListener('abort', () => this.fail(new GrpcCallError('cancelled', 1), null), { once: true });
    // Refused by the circuit breaker: nothing was counted, so nothing is settled.
    if (!this.start()) this.end(new GrpcCallError(`upstream overflow in ${this.cluster.name}`, UNAVAILABLE), null);
  }

  protected connected(conn: UpstreamStream): void {
    const h = this.req;
    conn.dispatch(this, h.method, h.path, h.headers, h.bodyLength, false);
    conn.writeBody(this.body);
    conn.endBody(null);
  }

  onPoolFailure(reason: ResetReason, transportFailure: string): void {
    this.poolAnswered();
    this.fail(new GrpcCallError(`${reason}${transportFailure === '' ? '' : `: ${transportFailure}`}`, UNAVAILABLE), reason === 'overflow' ? null : 'connect-failure');
  }

  onResponseHead(status: number, headers: HeaderList): void {
    this.status = status;
    // A trailers-only answer carries grpc-status in its head.
    this.headStatus = headers.get('grpc-status');
    this.headMessage = headers.get('grpc-message');
  }

  onResponseData(chunk: Buffer): boolean {
    if (this.done) return true;
    this.received += chunk.length;
    if (this.received > 5 + MAX_MESSAGE_BYTES) {
      this.fail(new GrpcCallError(`answer larger than ${MAX_MESSAGE_BYTES} bytes`, 8), 'reset');
      return true;
    }
    // The chunk is only valid during the call: keep a copy.
    this.chunks.push(Buffer.from(chunk));
    return true;
  }

  onResponseEnd(trailers: HeaderList | null): void {
    if (this.done) return;
    this.conn = null;
    this.cluster.counters.inc('upstream_rq_completed');
    this.cluster.counters.recordResponseCode(this.status);
    const grpcStatus = trailers?.get('grpc-status') ?? this.headStatus;
    const grpcMessage = trailers?.get('grpc-message') ?? this.headMessage;
    this.settle(this.status);
    if (this.status !== 200) return this.end(new GrpcCallError(`HTTP status ${this.status} from ${this.cluster.name}`, UNAVAILABLE), null);
    if (grpcStatus !== '0') {
      const code = Number(grpcStatus ?? 2);
      return this.end(new GrpcCallError(`gRPC status ${grpcStatus ?? 'missing'}${grpcMessage !== undefined && grpcMessage !== '' ? `: ${safeDecode(grpcMessage)}` : ''}`, Number.isInteger(code) ? code : 2), null);
    }
    const data = Buffer.concat(this.chunks);
    if (data.length < 5 || data[0] !== 0 || data.readUInt32BE(1) !== data.length - 5) {
      return this.end(new GrpcCallError('the answer is not one uncompressed gRPC message', 13), null);
    }
    this.end(null, data.subarray(5));
  }

  onUpstreamReset(reason: ResetReason): void {
    this.conn = null;
    this.fail(new GrpcCallError(`upstream reset: ${reason}`, UNAVAILABLE), 'reset');
  }

  onUpstreamDrain(): void {}

  onUpgrade(_status: number, _headers: HeaderList, socket: Socket): void {
    socket.destroy();
    this.fail(new GrpcCallError('unexpected upgrade', 13), null);
  }

  /** Ends the call with an error; the request is abandoned if still in flight. */
  private fail(err: GrpcCallError, outcome: Parameters<UpstreamRequest['settle']>[0]): void {
    if (this.done) return;
    this.cancel(outcome);
    this.end(err, null);
  }

  private end(err: GrpcCallError | null, message: Buffer | null): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.finish(err, message);
  }
}

/**
 * Sends one unary call to `host` of `cluster` on `pool` (an HTTP/2 pool of that cluster) and
 * resolves with the answer's message bytes; rejects with a `GrpcCallError`.
 */
export function grpcUnaryCall(cluster: Cluster, pool: ConnectionPool, host: Endpoint, opts: UnaryCallOptions): Promise<Buffer> {
  const headers = new HeaderList();
  headers.push('host', 'host', opts.authority);
  headers.push('content-type', 'content-type', 'application/grpc');
  headers.push('te', 'te', 'trailers');
  headers.push('grpc-timeout', 'grpc-timeout', `${Math.max(1, Math.ceil(opts.timeoutMs))}m`);
  return new Promise<Buffer>((resolve, reject) => {
    const call = new UnaryCall(cluster, pool, host, grpcFrame(opts.message), headers, opts.path, (err, message) => {
      if (err !== null) reject(err);
      else resolve(message ?? Buffer.alloc(0));
    });
    call.run(opts.timeoutMs, opts.signal);
  });
}
