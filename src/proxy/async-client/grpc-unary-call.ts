/**
 * One unary gRPC call sent as Envoy's `envoy_grpc` client sends it: an HTTP/2 request on the
 * cluster's own connection pool (`upstream-call.ts`), so it goes through the one upstream connect
 * path with the cluster's TLS, circuit breakers, host counts and outlier detection. The message is
 * one length-prefixed frame each way; the call ends with the `grpc-status` of the trailers (or of
 * a trailers-only answer).
 */
import { HeaderList } from '../http/headers.js';
import type { Cluster } from '../upstream/cluster.js';
import type { ConnectionPool } from '../upstream/pool.js';
import type { Endpoint } from '../upstream/types.js';
import { upstreamCall, type CancelCall, type UpstreamCallError } from './upstream-call.js';

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

const CANCELLED = 1;
const UNKNOWN = 2;
const DEADLINE_EXCEEDED = 4;
const RESOURCE_EXHAUSTED = 8;
const INTERNAL = 13;
const UNAVAILABLE = 14;
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
}

function transportError(err: UpstreamCallError): GrpcCallError {
  switch (err.failure) {
    case 'timeout':
      return new GrpcCallError(err.message, DEADLINE_EXCEEDED);
    case 'too-large':
      return new GrpcCallError(err.message, RESOURCE_EXHAUSTED);
    case 'upgrade':
      return new GrpcCallError(err.message, INTERNAL);
    default:
      return new GrpcCallError(err.message, UNAVAILABLE);
  }
}

/**
 * Sends one unary call to `host` of `cluster` on `pool` (an HTTP/2 pool of that cluster); `done`
 * hears the answer's message bytes or a `GrpcCallError`, once, unless the call is cancelled.
 */
export function startGrpcUnaryCall(
  cluster: Cluster,
  pool: ConnectionPool,
  host: Endpoint,
  opts: UnaryCallOptions,
  done: (err: GrpcCallError | null, message: Buffer | null) => void,
): CancelCall {
  const headers = new HeaderList();
  headers.push('host', 'host', opts.authority);
  headers.push('content-type', 'content-type', 'application/grpc');
  headers.push('te', 'te', 'trailers');
  headers.push('grpc-timeout', 'grpc-timeout', `${Math.max(1, Math.ceil(opts.timeoutMs))}m`);
  const call = { method: 'POST', path: opts.path, headers, body: grpcFrame(opts.message), timeoutMs: opts.timeoutMs, maxResponseBytes: 5 + MAX_MESSAGE_BYTES };
  return upstreamCall(cluster, pool, host, call, (err, res) => {
    if (err !== null) return done(transportError(err), null);
    if (res === null) return done(new GrpcCallError(`no answer from ${cluster.name}`, UNAVAILABLE), null);
    if (res.status !== 200) return done(new GrpcCallError(`HTTP status ${res.status} from ${cluster.name}`, UNAVAILABLE), null);
    // A trailers-only answer carries grpc-status in its head.
    const grpcStatus = res.trailers?.get('grpc-status') ?? res.headers.get('grpc-status');
    const grpcMessage = res.trailers?.get('grpc-message') ?? res.headers.get('grpc-message');
    if (grpcStatus !== '0') {
      const code = Number(grpcStatus ?? UNKNOWN);
      const text = `gRPC status ${grpcStatus ?? 'missing'}${grpcMessage !== undefined && grpcMessage !== '' ? `: ${safeDecode(grpcMessage)}` : ''}`;
      return done(new GrpcCallError(text, Number.isInteger(code) ? code : UNKNOWN), null);
    }
    const data = res.body;
    if (data.length < 5 || data[0] !== 0 || data.readUInt32BE(1) !== data.length - 5) {
      return done(new GrpcCallError('the answer is not one uncompressed gRPC message', INTERNAL), null);
    }
    done(null, data.subarray(5));
  });
}

/** `startGrpcUnaryCall` as a promise; `signal` cancels the call (rejecting with CANCELLED). */
export function grpcUnaryCall(cluster: Cluster, pool: ConnectionPool, host: Endpoint, opts: UnaryCallOptions & { readonly signal: AbortSignal }): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    if (opts.signal.aborted) return reject(new GrpcCallError('cancelled', CANCELLED));
    let settled = false;
    const onAbort = (): void => {
      settled = true;
      cancel();
      reject(new GrpcCallError('cancelled', CANCELLED));
    };
    const cancel = startGrpcUnaryCall(cluster, pool, host, opts, (err, message) => {
      settled = true;
      opts.signal.removeEventListener('abort', onAbort);
      if (err !== null) reject(err);
      else resolve(message ?? Buffer.alloc(0));
    });
    // An answer given at once (a circuit breaker's refusal) needs no listener.
    if (!settled) opts.signal.addEventListener('abort', onAbort, { once: true });
  });
}
