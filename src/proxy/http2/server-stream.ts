/**
 * One HTTP/2 stream from a client, as the request flow sees it (`DownstreamStream`): the request
 * body as a pausable source whose pauses hold back WINDOW_UPDATEs (HTTP/2 flow control does the
 * backpressure), request trailers, and the response with END_STREAM where the flow says the
 * message ends and trailers sent with `waitForTrailers` + `sendTrailers`.
 */
import type { Socket } from 'node:net';
import type { ServerHttp2Stream } from 'node:http2';
import type { HeaderList } from '../http/headers.js';
import type { BodySink, BodySource, DownstreamStream, RequestHead, StreamObserver } from '../http/stream.js';
import { NGHTTP2_INTERNAL_ERROR, fromRawHeaders, responseHeaders, trailerFields } from './headers.js';
import { resetStream } from './stream-reset.js';

/** The connection facts a stream reports (shared by every stream of one connection). */
export interface StreamConnectionInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly secure: boolean;
}

export class Http2DownstreamStream implements DownstreamStream, BodySource {
  observer: StreamObserver | null = null;
  responseStarted = false;
  /** The response ended (or the stream was reset): nothing more is written. */
  responseDone = false;
  /** The request body (and trailers) arrived whole. */
  complete: boolean;
  private sink: BodySink | null = null;
  private reading = false;
  private requestTrailers: HeaderList | null = null;
  private responseTrailers: HeaderList | null = null;
  private continueSent = false;

  constructor(
    private readonly conn: StreamConnectionInfo,
    readonly stream: ServerHttp2Stream,
    readonly head: RequestHead,
    endStream: boolean,
  ) {
    this.complete = endStream;
    stream.on('trailers', this.onTrailers);
    stream.on('end', this.onEnd);
    stream.on('close', this.onClose);
    stream.on('drain', this.onDrain);
    stream.on('wantTrailers', this.onWantTrailers);
    // Stream errors (RST_STREAM, protocol errors) end in 'close', which does the cleanup.
    stream.on('error', noop);
  }

  get body(): BodySource | null {
    return this.head.hasBody ? this : null;
  }
  get remoteAddress(): string {
    return this.conn.remoteAddress;
  }
  get remotePort(): number {
    return this.conn.remotePort;
  }
  get localAddress(): string {
    return this.conn.localAddress;
  }
  get localPort(): number {
    return this.conn.localPort;
  }
  get secure(): boolean {
    return this.conn.secure;
  }

  // --- BodySource (the request body) ---

  setSink(sink: BodySink | null): void {
    this.sink = sink;
    if (sink === null) {
      this.stream.pause();
      return;
    }
    this.sendContinue();
    if (!this.reading) {
      this.reading = true;
      this.stream.on('data', this.onData);
    }
    this.stream.resume();
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    if (this.sink !== null) this.stream.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    const sink = this.sink;
    if (sink === null) {
      this.stream.pause();
      return;
    }
    if (!sink.onData(chunk)) this.stream.pause();
  };

  private readonly onTrailers = (_h: unknown, _flags: number, raw: string[]): void => {
    this.requestTrailers = fromRawHeaders(raw).headers;
  };

  private readonly onEnd = (): void => {
    if (this.complete) return;
    this.complete = true;
    this.sink?.onEnd(this.requestTrailers);
  };

  private readonly onClose = (): void => {
    if (!this.complete) {
      this.complete = true;
      this.sink?.onError(new Error('downstream stream reset'));
    }
    if (!this.responseDone) {
      this.responseDone = true;
      this.observer?.onDownstreamReset('downstream stream reset');
    }
  };

  private readonly onDrain = (): void => {
    this.observer?.onDownstreamDrain();
  };

  private readonly onWantTrailers = (): void => {
    const trailers = this.responseTrailers;
    this.responseTrailers = null;
    try {
      this.stream.sendTrailers(trailerFields(trailers));
    } catch {
      resetStream(this.stream, NGHTTP2_INTERNAL_ERROR);
    }
  };

  // --- Response ---

  sendContinue(): void {
    if (!this.head.expectContinue || this.continueSent || this.responseStarted || this.stream.destroyed) return;
    this.continueSent = true;
    this.stream.additionalHeaders({ ':status': 100 });
  }

  writeHead(status: number, headers: HeaderList, _contentLength: number, endStream: boolean): void {
    if (this.responseStarted || this.responseDone || this.stream.destroyed) return;
    if (status < 200) {
      // 1xx heads are informational; 101 has no meaning in HTTP/2 (RFC 9113 §8.6).
      if (status !== 101) this.stream.additionalHeaders(responseHeaders(status, headers));
      return;
    }
    this.responseStarted = true;
    const bodiless = endStream || this.head.method === 'HEAD' || status === 204 || status === 304;
    try {
      this.stream.respond(responseHeaders(status, headers), { endStream: bodiless, waitForTrailers: !bodiless });
    } catch {
      // A header value HTTP/2 cannot carry: the stream cannot be answered properly.
      this.reset();
      return;
    }
    if (bodiless) this.finishResponse();
  }

  writeData(chunk: Buffer): boolean {
    if (this.responseDone || chunk.length === 0 || this.stream.destroyed) return true;
    return this.stream.write(Buffer.from(chunk)); // a copy: the caller's chunk may be a read buffer

  }

  end(trailers: HeaderList | null): void {
    if (this.responseDone) return;
    this.responseTrailers = trailers;
    if (!this.stream.destroyed) this.stream.end();
    this.finishResponse();
  }

  private finishResponse(): void {
    // A response that ends before the request needs nothing more: node:http2 closes the stream
    // with NO_ERROR once END_STREAM is out, as Envoy does.
    this.responseDone = true;
  }

  reset(): void {
    this.responseDone = true;
    resetStream(this.stream, NGHTTP2_INTERNAL_ERROR);
  }

  takeOver(): { socket: Socket; head: Buffer } | null {
    return null;
  }
}

function noop(): void {}
