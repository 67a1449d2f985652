/**
 * One HTTP/1.1 connection to an upstream host: writes a request head and streams its body, parses
 * the response (Content-Length, chunked, close-delimited, 1xx, HEAD/204/304) and hands it to the
 * request's handler with explicit backpressure, then tells its pool whether it can be reused.
 */
import type net from 'node:net';
import type { HeaderList } from '../http/headers.js';
import { wantsKeepAlive, responseFraming } from '../http1/framing.js';
import { BodyDecoder, Framing } from '../http1/body-decoder.js';
import { MessageWriter, beginWriteBatch, endWriteBatch } from '../http1/message-writer.js';
import type { DecoderOutput } from '../http1/body-decoder.js';
import { HeadScanner, Http1ParseError, parseResponseHead } from '../http1/head-parser.js';
import { requestHeadText } from '../http1/serialize.js';
import { inPlaceReads, readAsStream } from '../http1/in-place-reads.js';
import type { Endpoint } from './types.js';
import type { ResetReason, ResponseHandler, UpstreamStream } from './pool.js';
import { connectUpstream } from './connect.js';
import type { ConnectFailure, ConnectHandler, UpstreamConnect } from './connect.js';
import type { ClusterCounters } from './counters.js';
import type { UpstreamTls } from './upstream-tls.js';
import type { TlsFacts } from '../../telemetry/request-record.js';
import { socketTlsFacts } from '../tls/tls-facts.js';

export type { ResetReason, ResponseHandler };

/** What the connection reports to its pool. */
export interface ConnectionOwner {
  onConnected(conn: Http1ClientConnection): void;
  onConnectFailed(conn: Http1ClientConnection, reason: ResetReason, transportFailure: string): void;
  /** The exchange finished; `reusable` when the connection may carry another request. */
  onExchangeDone(conn: Http1ClientConnection, reusable: boolean): void;
  onClosed(conn: Http1ClientConnection): void;
}

const enum State {
  Connecting,
  Idle,
  Busy,
  Closed,
}

/** How a pool's connections are opened: the cluster's connect timeout and upstream TLS. */
export interface Http1ConnectSettings {
  readonly timeoutMs: number;
  readonly tls: UpstreamTls | null;
  readonly counters?: ClusterCounters;
  readonly localAddress?: string;
}

export class Http1ClientConnection implements DecoderOutput, UpstreamStream, ConnectHandler {
  readonly socket: net.Socket;
  private state = State.Connecting;
  private handler: ResponseHandler | null = null;
  private attempt: UpstreamConnect | null;
  private readonly scanner: HeadScanner;
  private decoder: BodyDecoder | null = null;
  private method = 'GET';
  private requestChunked = false;
  private requestDone = false;
  private responseKeepAlive = true;
  private headDelivered = false;
  private upgradeRequested = false;
  private readonly writer: MessageWriter;
  /** Requests this connection has carried. */
  served = 0;
  /** Set when the pool wants the connection closed once the current exchange ends. */
  draining = false;
  idleSince = 0;

  constructor(
    readonly host: Endpoint,
    private readonly owner: ConnectionOwner,
    connect: Http1ConnectSettings,
    maxHeaderBytes: number,
  ) {
    this.scanner = new HeadScanner(maxHeaderBytes);
    const reads = inPlaceReads((buf) => this.onData(buf));
    this.attempt = connectUpstream(host.address, host.port, { timeoutMs: connect.timeoutMs, tls: connect.tls, traffic: 'http1', onread: reads.onread, counters: connect.counters, localAddress: connect.localAddress }, this);
    this.socket = reads.track(this.attempt.socket);
    this.writer = new MessageWriter(this.socket);
    this.socket.on('end', this.onEnd);
    this.socket.on('close', this.onClose);
    this.socket.on('drain', this.onDrain);
  }

  get bufferedBytes(): number {
    return this.writer.bufferedBytes;
  }

  private tlsFacts: TlsFacts | null | undefined = undefined;

  /** The TLS of this connection (read once, on the access log's first use). */
  get tls(): TlsFacts | null {
    this.tlsFacts ??= socketTlsFacts(this.socket);
    return this.tlsFacts;
  }

  get idle(): boolean {
    return this.state === State.Idle;
  }
  get closed(): boolean {
    return this.state === State.Closed;
  }
  get connecting(): boolean {
    return this.state === State.Connecting;
  }

  // === ConnectHandler ===

  onConnected(): void {
    this.attempt = null;
    if (this.state !== State.Connecting) return;
    this.state = State.Idle;
    this.idleSince = Date.now(); // the pool's idle timeout counts from here when no request takes it now
    this.owner.onConnected(this);
  }

  onConnectFailed(failure: ConnectFailure): void {
    this.attempt = null;
    if (this.state !== State.Connecting) return;
    this.state = State.Closed;
    this.owner.onConnectFailed(this, failure.reason, failure.transportFailure);
  }

  /**
   * Sends a request head; the body (if `bodyLength` != 0) follows through `writeBody`/`endBody`.
   * `bodyLength` -1 means unknown length: the body goes chunked.
   */
  dispatch(handler: ResponseHandler, method: string, path: string, headers: HeaderList, bodyLength: number, upgrade: boolean): void {
    this.state = State.Busy;
    this.handler = handler;
    this.method = method;
    this.served++;
    this.headDelivered = false;
    this.responseKeepAlive = true;
    this.upgradeRequested = upgrade;
    this.requestChunked = bodyLength < 0;
    this.requestDone = bodyLength === 0;
    let extra = '';
    if (bodyLength < 0) extra = 'transfer-encoding: chunked\r\n';
    else if ((bodyLength > 0 || mayHaveBody(method)) && !headers.has('content-length')) {
      // A body's length is stated once: the client's own Content-Length passes as it came (the
      // codec refused a head with more than one), and only a message without one gets it here —
      // so a chain of proxies never adds a second.
      extra = `content-length: ${bodyLength}\r\n`;
    }
    const head = requestHeadText(method, path, headers, extra);
    if (bodyLength === 0) this.writer.writeHead(head);
    // The first body bytes usually follow at once: they leave together with the head.
    else this.writer.holdHead(head, this.requestChunked);
  }

  /** Writes request body bytes; false when the upstream is slow (wait for `onUpstreamDrain`). */
  writeBody(chunk: Buffer): boolean {
    if (this.state !== State.Busy || chunk.length === 0) return true;
    return this.writer.data(chunk, false); // owned by the caller (UpstreamStream.writeBody)
  }

  endBody(trailers: HeaderList | null): void {
    if (this.state !== State.Busy || this.requestDone) return;
    this.requestDone = true;
    this.writer.end(trailers);
    if (this.decoder?.done === true) this.exchangeDone();
  }

  /** Stops reading the response until `resumeResponse`. */
  pauseResponse(): void {
    this.socket.pause();
  }
  resumeResponse(): void {
    if (this.state !== State.Closed) this.socket.resume();
  }

  /** Abandons the exchange in flight (timeout, client gone): the connection cannot be reused. */
  abort(): void {
    this.handler = null;
    this.destroy();
  }

  destroy(): void {
    if (this.state === State.Closed) return;
    this.attempt?.cancel();
    this.attempt = null;
    this.state = State.Closed;
    this.socket.destroy();
  }

  private onData(buf: Buffer): void {
    beginWriteBatch();
    try {
      this.consume(buf);
    } catch (err) {
      const h = this.handler;
      this.handler = null;
      this.destroy();
      if (h !== null) h.onUpstreamReset(err instanceof Http1ParseError ? 'protocol error' : 'connection termination', this.headDelivered);
    } finally {
      endWriteBatch();
    }
  }

  private consume(buf: Buffer): void {
    let pos = 0;
    while (pos < buf.length) {
      const h = this.handler;
      if (h === null || this.state !== State.Busy) {
        // Bytes nobody asked for (an idle connection talking): it cannot be trusted any more.
        this.destroy();
        return;
      }
      const part = pos === 0 ? buf : buf.subarray(pos);
      if (this.decoder === null) {
        const end = this.scanner.scan(part);
        if (end < 0) return;
        pos += end;
        if (this.onHead(this.scanner.take(part, end), h, part.subarray(end))) return;
        continue;
      }
      if (this.decoder.done) {
        // More bytes after a complete response while the request is still being sent.
        this.responseKeepAlive = false;
        return;
      }
      pos += this.decoder.feed(part, 0, this);
    }
  }

  /** Handles a response head; true when the rest of the bytes are no longer ours (upgrade). */
  private onHead(raw: Buffer, h: ResponseHandler, rest: Buffer): boolean {
    const { line, headers } = parseResponseHead(raw);
    const status = line.status;
    if (status === 101 && this.upgradeRequested) {
      this.detachForUpgrade();
      h.onUpgrade(status, headers, this.socket, Buffer.from(rest));
      return true;
    }
    if (status >= 100 && status < 200) return false; // 100 Continue and other interim answers are dropped
    if (status === 204) noContentHead(headers);
    const framing = responseFraming(this.method, status, headers);
    this.responseKeepAlive = wantsKeepAlive(line.minor, headers) && framing.framing !== Framing.UntilClose;
    this.decoder = new BodyDecoder(framing.framing, framing.length, 64 * 1024);
    this.headDelivered = true;
    const endStream = framing.framing === Framing.None;
    h.onResponseHead(status, headers, framing.framing === Framing.Length ? framing.length : endStream ? 0 : -1, endStream);
    if (endStream && this.handler === h) this.decoder.feed(EMPTY, 0, this);
    return false;
  }

  onBodyData(chunk: Buffer): void {
    const h = this.handler;
    // The chunk lies in the shared read buffer (in-place-reads.ts); receivers copy what they keep.
    if (h !== null && !h.onResponseData(chunk)) this.socket.pause();
  }

  onBodyEnd(trailers: HeaderList | null): void {
    const h = this.handler;
    if (h === null) return;
    h.onResponseEnd(trailers);
    if (this.requestDone) this.exchangeDone();
    // Otherwise the request body is still going; `endBody` finishes the exchange.
  }

  private exchangeDone(): void {
    if (this.state !== State.Busy) return;
    this.handler = null;
    this.decoder = null;
    this.scanner.reset();
    const reusable = this.responseKeepAlive && !this.draining;
    if (reusable) {
      this.state = State.Idle;
      this.idleSince = Date.now();
      if (this.socket.isPaused()) this.socket.resume();
    }
    this.owner.onExchangeDone(this, reusable);
  }

  private detachForUpgrade(): void {
    this.state = State.Closed;
    this.handler = null;
    this.writer.sendNow();
    const s = this.socket;
    readAsStream(s); // the tunnel reads it as a stream
    s.removeListener('end', this.onEnd);
    s.removeListener('close', this.onClose);
    s.removeListener('drain', this.onDrain);
    // The pool stops counting it as a pooled connection; the tunnel owns it now.
    this.owner.onClosed(this);
  }

  private readonly onEnd = (): void => {
    if (this.state === State.Busy && this.decoder !== null && this.decoder.endOfInput(this)) {
      this.destroy();
      return;
    }
    this.destroy();
  };

  private readonly onClose = (): void => {
    // A connection that never connected is reported by the connect path (`onConnectFailed`);
    // errors after that surface here.
    if (this.state === State.Connecting) return;
    this.state = State.Closed;
    const h = this.handler;
    this.handler = null;
    if (h !== null) h.onUpstreamReset('connection termination', this.headDelivered);
    this.owner.onClosed(this);
  };

  private readonly onDrain = (): void => {
    this.handler?.onUpstreamDrain();
  };
}

const EMPTY = Buffer.alloc(0);

/**
 * A 204 may carry neither a body nor its framing (RFC 9110 §8.6, RFC 9112 §6.1). As Envoy's
 * client codec: Transfer-Encoding or a non-zero Content-Length is a protocol error (502), and a
 * `content-length: 0` is dropped rather than forwarded.
 */
function noContentHead(headers: HeaderList): void {
  if (headers.has('transfer-encoding')) throw new Http1ParseError(400, 'upstream.protocol_error', 'transfer encoding not allowed in 204');
  const i = headers.indexOf('content-length');
  if (i < 0) return;
  if (headers.values[i] !== '0' || headers.indexOf('content-length', i + 1) >= 0) {
    throw new Http1ParseError(400, 'upstream.protocol_error', 'content length not allowed in 204');
  }
  headers.removeAt(i);
}

/**
 * Whether a request without a body still states `content-length: 0` upstream. As Envoy
 * (`requestShouldHaveNoBody`): GET, HEAD, DELETE, TRACE and CONNECT go without one, any other
 * method gets it, so a server never waits for the body of a bodiless POST.
 */
function mayHaveBody(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'DELETE':
    case 'TRACE':
    case 'CONNECT':
      return false;
    default:
      return true;
  }
}
