/**
 * One request/response exchange on an HTTP/1.1 server connection, as the request flow sees it
 * (`DownstreamStream`): the request body as a pausable source, and the response written with
 * the framing the client understands (Content-Length, chunked, or close-delimited for HTTP/1.0).
 */
import type { Socket } from 'node:net';
import type { HeaderList } from '../http/headers.js';
import type { BodySink, BodySource, DownstreamStream, RequestHead, StreamObserver } from '../http/stream.js';
import type { BodyDecoder, DecoderOutput } from './body-decoder.js';
import { httpDate, responseHeadText } from './serialize.js';
import type { MessageWriter } from './message-writer.js';

/** What a stream needs of the connection that carries it (`Http1ServerConnection` is the one). */
export interface Http1StreamConnection {
  readonly socket: Socket;
  readonly opts: { readonly secure: boolean };
  /** Response writer, shared by every response on the connection. */
  readonly writer: MessageWriter;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly closed: boolean;
  /** The request body finished arriving. */
  requestComplete(stream: Http1Stream): void;
  /** The response finished going out. */
  responseComplete(stream: Http1Stream): void;
  destroy(): void;
  /** Detaches from the socket for a tunnel; returns the bytes read past the head. */
  detach(): Buffer;
}

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

/** Framing chosen for the response body. */
const enum Out {
  None,
  Length,
  Chunked,
  UntilClose,
}

/** One request/response on an HTTP/1.1 connection. */
export class Http1Stream implements DownstreamStream, BodySource, DecoderOutput {
  observer: StreamObserver | null = null;
  responseStarted = false;
  responseDone = false;
  complete: boolean;
  private sink: BodySink | null = null;
  private queue: Buffer[] | null = null;
  private queuedEnd = false;
  private trailers: HeaderList | null = null;
  private paused = false;
  private continueSent = false;
  private out = Out.None;
  private aborted = false;

  constructor(
    private readonly conn: Http1StreamConnection,
    readonly head: RequestHead,
    readonly decoder: BodyDecoder | null,
    public keepAlive: boolean,
    private readonly minor: number,
  ) {
    this.complete = decoder === null;
  }

  get body(): BodySource | null {
    return this.decoder === null ? null : this;
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
    return this.conn.opts.secure;
  }

  // --- BodySource (the request body) ---

  setSink(sink: BodySink | null): void {
    this.sink = sink;
    if (sink === null) return;
    this.sendContinue();
    this.flushQueue();
    if (!this.paused && this.conn.socket.isPaused() && !this.complete) this.conn.socket.resume();
  }

  pause(): void {
    this.paused = true;
    this.conn.socket.pause();
  }

  resume(): void {
    this.paused = false;
    this.flushQueue();
    if (!this.paused && !this.complete && this.sink !== null) this.conn.socket.resume();
  }

  private flushQueue(): void {
    const sink = this.sink;
    if (sink === null) return;
    const q = this.queue;
    if (q !== null) {
      while (q.length > 0 && !this.paused) {
        if (!sink.onData(q.shift()!)) this.paused = true;
      }
      if (q.length > 0) return;
      this.queue = null;
    }
    if (this.queuedEnd && !this.paused) {
      this.queuedEnd = false;
      sink.onEnd(this.trailers);
    }
  }

  // --- DecoderOutput (called by the decoder while the connection reads the body) ---

  onBodyData(bytes: Buffer): void {
    // A copy: the bytes may lie in the shared read buffer (in-place-reads.ts), and the body's
    // consumers keep chunks (queued writes, the retry buffer, mirrors).
    const chunk = Buffer.from(bytes);
    const sink = this.sink;
    if (sink === null || this.paused || this.queue !== null) {
      // Nobody reading yet (or paused): keep this chunk and stop reading until someone is.
      (this.queue ??= []).push(chunk);
      this.conn.socket.pause();
      return;
    }
    if (!sink.onData(chunk)) {
      this.paused = true;
      this.conn.socket.pause();
    }
  }

  onBodyEnd(trailers: HeaderList | null): void {
    this.complete = true;
    this.trailers = trailers;
    this.conn.requestComplete(this);
    if (this.sink !== null && this.queue === null && !this.paused) this.sink.onEnd(trailers);
    else this.queuedEnd = true;
  }

  /** The codec gave up on this request (client gone, bad framing). */
  abortFromCodec(reason: string): void {
    if (this.aborted) return;
    this.aborted = true;
    if (!this.complete) this.sink?.onError(new Error(reason));
    if (!this.responseDone) this.observer?.onDownstreamReset(reason);
  }

  // --- Response ---

  sendContinue(): void {
    if (!this.head.expectContinue || this.continueSent || this.responseStarted) return;
    this.continueSent = true;
    this.conn.writer.writeHead(CONTINUE);
  }

  writeHead(status: number, headers: HeaderList, contentLength: number, endStream: boolean): void {
    if (this.responseStarted || this.conn.closed) return;
    this.responseStarted = true;
    if (status < 200 || (this.head.method === 'CONNECT' && status < 300)) {
      // Informational heads, and the 2xx that opens a CONNECT tunnel, go out as they are: the
      // final response follows, or the caller takes the socket over.
      this.conn.writer.writeHead(responseHeadText(status, headers, ''));
      if (status !== 101 && this.head.method !== 'CONNECT') this.responseStarted = false;
      return;
    }
    const bodiless = this.head.method === 'HEAD' || status < 200 || status === 204 || status === 304;
    // RFC 9110 §8.6: no Content-Length on a 204, whatever the upstream or a route said (a 304 and
    // the answer to a HEAD keep theirs: it is the length a GET would have had).
    if (status === 204) headers.remove('content-length');
    // Envoy's connection manager dates every response that comes without a date.
    let extra = headers.has('date') ? '' : `date: ${httpDate()}\r\n`;
    if (bodiless) this.out = Out.None;
    else if (endStream) {
      this.out = Out.None;
      if (!headers.has('content-length')) extra += 'content-length: 0\r\n';
    } else if (contentLength >= 0) {
      this.out = Out.Length;
      if (!headers.has('content-length')) extra += `content-length: ${contentLength}\r\n`;
    } else if (this.minor === 1) {
      this.out = Out.Chunked;
      extra += 'transfer-encoding: chunked\r\n';
    } else {
      this.out = Out.UntilClose;
      this.keepAlive = false;
    }
    // A response that goes out before the request finished ends the connection.
    if (!this.complete) this.keepAlive = false;
    if (!this.keepAlive) extra += 'connection: close\r\n';
    else if (this.minor === 0) extra += 'connection: keep-alive\r\n';
    const text = responseHeadText(status, headers, extra);
    const writer = this.conn.writer;
    if (endStream || bodiless) {
      writer.writeHead(text);
      this.finishResponse();
      return;
    }
    writer.holdHead(text, this.out === Out.Chunked);
  }

  writeData(chunk: Buffer): boolean {
    if (this.responseDone || chunk.length === 0 || this.conn.socket.destroyed) return true;
    return this.conn.writer.data(chunk, true); // the caller's chunk may be a read buffer (DownstreamStream.writeData)
  }

  end(trailers: HeaderList | null): void {
    if (this.responseDone) return;
    this.conn.writer.end(trailers);
    if (this.out === Out.UntilClose) this.keepAlive = false;
    this.finishResponse();
  }

  private finishResponse(): void {
    this.responseDone = true;
    this.conn.responseComplete(this);
  }

  reset(): void {
    if (this.responseDone) return;
    this.responseDone = true;
    this.conn.destroy();
  }

  takeOver(): { socket: Socket; head: Buffer } | null {
    if (this.conn.closed) return null;
    this.responseDone = true;
    const head = this.conn.detach();
    return { socket: this.conn.socket, head };
  }
}
