/**
 * The protocol-neutral contract between a downstream codec (HTTP/1.1 or HTTP/2) and the
 * request flow, and the body-streaming interfaces both directions share. Backpressure is explicit:
 * a sink returns `false` from `onData` and the producer waits until someone calls `resume()`.
 */
import type { Socket } from 'node:net';
import type { HeaderList } from './headers.js';

/** A request as the flow sees it, whatever the wire protocol. */
export interface RequestHead {
  method: string;
  /** `http` or `https` as the client used it. */
  scheme: string;
  /** Host / :authority (absolute-form and CONNECT targets already folded in). */
  authority: string;
  /** Origin-form target (path and query); the authority for CONNECT; `*` for `OPTIONS *`. */
  path: string;
  headers: HeaderList;
  /** `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`. */
  protocol: string;
  /** The request line carried an absolute URI (an HTTP_PROXY-style client). */
  absoluteForm: boolean;
  /** Request framing announced a body (Content-Length > 0 or chunked). */
  hasBody: boolean;
  /** Content-Length of the body, -1 when chunked or unknown. */
  contentLength: number;
  /** `Expect: 100-continue` was sent and not answered yet. */
  expectContinue: boolean;
  /** Lowercase protocol of an `Upgrade` request the codec accepted (e.g. `websocket`), else null. */
  upgrade: string | null;
}

/** Receives body data; returning false from `onData` asks the producer to pause. */
export interface BodySink {
  onData(chunk: Buffer): boolean;
  /** End of body; trailers when the sender sent any. */
  onEnd(trailers: HeaderList | null): void;
  /** The body could not be delivered whole (peer reset, protocol error, abort). */
  onError(err: Error): void;
}

/** Produces a body into one sink at a time. */
export interface BodySource {
  /** Starts (or redirects) delivery. Data already buffered is flushed first. */
  setSink(sink: BodySink | null): void;
  pause(): void;
  resume(): void;
  /** True once the whole body (and trailers) arrived. */
  readonly complete: boolean;
}

/** Callbacks the codec raises on the flow that owns a stream. */
export interface StreamObserver {
  /** The response writer can take more data after `writeData` returned false. */
  onDownstreamDrain(): void;
  /** The client went away or broke the protocol before the response ended. */
  onDownstreamReset(reason: string): void;
}

/** One request/response exchange on a downstream connection. */
export interface DownstreamStream {
  readonly head: RequestHead;
  /** The request body, or null when the request has none. */
  readonly body: BodySource | null;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  /** Port of the listener that accepted the connection. */
  readonly localPort: number;
  /** True when the connection is TLS (scheme defaults to https). */
  readonly secure: boolean;
  observer: StreamObserver | null;
  /** True once the response head went out (a local reply is no longer possible). */
  readonly responseStarted: boolean;
  /** Answers a pending `Expect: 100-continue` (no-op otherwise). */
  sendContinue(): void;
  /**
   * Sends the response head. `contentLength` is the body length when known, -1 otherwise (the
   * codec picks chunked or close-delimited framing); `endStream` when no body follows.
   */
  writeHead(status: number, headers: HeaderList, contentLength: number, endStream: boolean): void;
  /**
   * Writes body data; false when the client is slow (wait for `onDownstreamDrain`). The chunk
   * is the caller's again once this returns (it may lie in a read buffer): a stream that keeps
   * it, copies it.
   */
  writeData(chunk: Buffer): boolean;
  /** Ends the response, with trailers when the protocol can carry them. */
  end(trailers: HeaderList | null): void;
  /** Aborts the stream (HTTP/1.1: closes the connection; HTTP/2: RST_STREAM). */
  reset(): void;
  /**
   * Hands the raw connection over for a tunnel (WebSocket after 101, CONNECT after 200). Bytes the
   * codec already read past the request head come back in `head`. HTTP/1.1 only.
   */
  takeOver(): { socket: Socket; head: Buffer } | null;
}
