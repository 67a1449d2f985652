/**
 * The contract between the request path and upstream connection pools, independent of the wire
 * protocol: a pool hands out `UpstreamStream`s (an HTTP/1.1 connection, or a stream on an
 * HTTP/2 session) and reports responses through a `ResponseHandler`.
 */
import type { Socket } from 'node:net';
import type { HeaderList } from '../http/headers.js';
import type { Endpoint } from './types.js';
import type { TlsFacts } from '../../telemetry/request-record.js';

/** Envoy's reset reasons, worded as its local replies print them. */
export type ResetReason =
  | 'remote connection failure'
  | 'local connection failure'
  | 'connection timeout'
  | 'connection termination'
  | 'remote reset'
  /** HTTP/2 REFUSED_STREAM (or a stream past a GOAWAY's last id): never processed, safe to retry. */
  | 'remote refused stream reset'
  | 'local reset'
  | 'overflow'
  | 'protocol error';

/** What a request in flight hears back from upstream. */
export interface ResponseHandler {
  onResponseHead(status: number, headers: HeaderList, contentLength: number, endStream: boolean): void;
  /**
   * False asks the stream to stop reading until `resumeResponse()`. The chunk is valid only
   * during the call (HTTP/1.1 reads in place): whoever keeps it, copies it.
   */
  onResponseData(chunk: Buffer): boolean;
  onResponseEnd(trailers: HeaderList | null): void;
  /** The exchange failed; `afterHeaders` says whether a response head was already delivered. */
  onUpstreamReset(reason: ResetReason, afterHeaders: boolean): void;
  /** The request body can be written again after `writeBody` returned false. */
  onUpstreamDrain(): void;
  /** A 101 response to an Upgrade request: the socket now belongs to the handler. */
  onUpgrade(status: number, headers: HeaderList, socket: Socket, head: Buffer): void;
}

/** One request's channel to an upstream host. */
export interface UpstreamStream {
  /** Sends the request head; the body (if `bodyLength` != 0; -1 = unknown length) follows. */
  dispatch(handler: ResponseHandler, method: string, path: string, headers: HeaderList, bodyLength: number, upgrade: boolean): void;
  /**
   * Writes request body bytes; false when the upstream is slow (wait for `onUpstreamDrain`). The
   * stream may keep the chunk: callers pass buffers of their own, never a read buffer.
   */
  writeBody(chunk: Buffer): boolean;
  endBody(trailers: HeaderList | null): void;
  pauseResponse(): void;
  resumeResponse(): void;
  /** Abandons the exchange: an HTTP/1.1 connection is not reused; an HTTP/2 stream is cancelled. */
  abort(): void;
  /** Bytes accepted for sending but not yet on the wire. */
  readonly bufferedBytes: number;
  /** The TLS the proxy originated on the stream's connection (for the access log), null for plaintext. */
  readonly tls: TlsFacts | null;
}

/** What picking a pool needs to know about the downstream request. */
export interface DownstreamProtocolInfo {
  /** `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`. */
  readonly protocol: string;
  /** The Upgrade the request asks for (WebSocket), null for none. */
  readonly upgrade: string | null;
}

/** A request waiting for (or being handed) a stream. */
export interface PoolClient {
  onPoolReady(stream: UpstreamStream): void;
  onPoolFailure(reason: ResetReason, transportFailure: string): void;
}

/** A place in a pool's queue; pass it to `cancel` to stop waiting. */
export interface PendingTicket {
  readonly client: PoolClient;
}

export interface ConnectionPool {
  /**
   * Asks for a stream to `host`. `client.onPoolReady` runs (possibly before this returns) or
   * `onPoolFailure` does later. Returns a ticket while the request waits, null when it was
   * served at once, or `overflow` when the circuit breaker refuses (503 `UO`).
   */
  newStream(host: Endpoint, client: PoolClient): PendingTicket | null | 'overflow';
  cancel(ticket: PendingTicket): void;
  /** Closes idle connections and stops pooling; busy ones finish first. */
  close(): void;
  /** Closes everything now. */
  destroy(): void;
}
