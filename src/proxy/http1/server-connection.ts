/**
 * The downstream side of HTTP/1.1: reads requests off one client socket, hands each to the
 * request flow as a `DownstreamStream`, and writes its response. Requests are served one at a
 * time in order (pipelined bytes wait), bodies stream with backpressure, and protocol errors
 * and slow clients are answered with 400/408/431/501/505 and a close, never a crash.
 */
import type { Socket } from 'node:net';
import { HeaderList } from '../http/headers.js';
import type { DownstreamStream, RequestHead } from '../http/stream.js';
import { BodyDecoder, Framing } from './body-decoder.js';
import { MessageWriter, beginWriteBatch, endWriteBatch } from './message-writer.js';
import { parseTarget, requestFraming, wantsKeepAlive } from './framing.js';
import { HeadScanner, Http1ParseError, RequestLineCheck, parseRequestHead } from './head-parser.js';
import { httpDate, reasonPhrase, serializeResponseHead } from './serialize.js';
import { Http1Stream } from './server-stream.js';
import { readAsStream, setReader } from './in-place-reads.js';
import { hasToken } from '../http/headers.js';

export interface Http1ServerOptions {
  /** Limit on a request head (request line + headers), in bytes; beyond it 431. */
  maxHeaderBytes: number;
  /** Time allowed from a head's first byte to its last; 0 disables. Beyond it 408 and close. */
  headersTimeoutMs: number;
  /** A connection with no request in flight and no traffic for this long is closed; 0 disables. */
  idleTimeoutMs: number;
  /** `server` header of the codec's own error replies. */
  serverName: string;
  secure: boolean;
  /** Most header fields a request may have; beyond it 431 (Envoy's `max_headers_count`). */
  maxHeadersCount: number;
  /** Serve HTTP/1.0 requests; when false they get 426 (Envoy's `accept_http_10`, off in Istio). */
  acceptHttp10: boolean;
}

/** Receives every parsed request (the request flow). */
export type StreamHandler = (stream: DownstreamStream) => void;

/** Observes protocol errors the codec answered itself (for stats and access records). */
export type CodecErrorHook = (status: number, details: string, remoteAddress: string) => void;

const enum St {
  Head,
  Body,
  Wait,
  Tunnel,
  Closed,
}

/** Bytes of pipelined requests held while one is in flight before reading pauses. */
const PIPELINE_HOLD_LIMIT = 64 * 1024;
/** How long to keep reading (and dropping) input after an error reply, so the reply is not lost to a RST. */
const LINGER_MS = 2000;

/** Serves HTTP/1.1 on one accepted socket. */
export class Http1ServerConnection {
  private state = St.Head;
  private readonly scanner: HeadScanner;
  /** Follows the request line of a head that arrives in pieces (see `RequestLineCheck`). */
  private lineCheck: RequestLineCheck | null = null;
  private current: Http1Stream | null = null;
  private held: Buffer | null = null;
  private headTimer: NodeJS.Timeout | null = null;
  private headArmed = false;
  /**
   * Idle close without `socket.setTimeout`, which re-arms a timer on every read and write: one
   * timer per connection checks, when it fires, how long ago the last request bytes arrived or
   * the last response finished.
   */
  private idleTimer: NodeJS.Timeout | null = null;
  private lastActivity = 0;
  private clientEnded = false;
  private draining = false;
  /** Response writer, shared by every response on this connection. */
  readonly writer: MessageWriter;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;

  constructor(
    readonly socket: Socket,
    readonly opts: Http1ServerOptions,
    private readonly handler: StreamHandler,
    private readonly onCodecError: CodecErrorHook | null,
    /** Bytes already read from the socket (protocol sniffing). */
    initial: Buffer | null,
    /** Port the listener accepted on. */
    listenerPort: number,
  ) {
    this.scanner = new HeadScanner(opts.maxHeaderBytes);
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = socket.localAddress ?? '';
    this.localPort = listenerPort;
    this.writer = new MessageWriter(socket);
    socket.setNoDelay(true);
    if (!setReader(socket, this.onData)) socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
    socket.on('drain', this.onDrain);
    if (opts.idleTimeoutMs > 0) {
      this.lastActivity = Date.now();
      this.armIdleTimer(opts.idleTimeoutMs);
    }
    if (initial !== null && initial.length > 0) this.onData(initial);
    // A client that sent its FIN before the codec was chosen (nothing at all, or a few bytes):
    // 'end' was emitted before these listeners existed, and with allowHalfOpen the socket would
    // stay half-closed for good. Handle the end now.
    if (socket.readableEnded) this.onEnd();
  }

  private readonly onData = (buf: Buffer): void => {
    if (this.idleTimer !== null) this.lastActivity = Date.now();
    beginWriteBatch();
    try {
      this.consume(buf);
    } catch (err) {
      // Anything but a parse error is a fault of the proxy itself: answered 500, never a crash.
      this.protocolError(err instanceof Http1ParseError ? err : new Http1ParseError(500, 'internal_error', err instanceof Error ? err.message : String(err)));
    } finally {
      endWriteBatch();
    }
  };

  private consume(buf: Buffer): void {
    let pos = 0;
    while (pos < buf.length) {
      switch (this.state) {
        case St.Head: {
          const part = pos === 0 ? buf : buf.subarray(pos);
          // The headers timeout runs from a head's first bytes; a head that arrives whole needs none.
          const fresh = this.scanner.buffered === 0;
          const end = this.scanner.scan(part);
          if (end < 0) {
            if (fresh) this.armHeadTimer();
            (this.lineCheck ??= new RequestLineCheck()).feed(part);
            return;
          }
          const head = this.scanner.take(part, end);
          this.lineCheck?.reset();
          this.headArmed = false;
          pos += end;
          if (isBlank(head)) continue; // stray CRLFs between requests (RFC 9112 §2.2)
          this.startRequest(head);
          break;
        }
        case St.Body: {
          const stream = this.current!;
          const part = pos === 0 ? buf : buf.subarray(pos);
          pos += stream.decoder!.feed(part, 0, stream);
          break;
        }
        case St.Wait:
          this.hold(pos === 0 ? buf : buf.subarray(pos));
          return;
        default:
          return;
      }
    }
  }

  private hold(buf: Buffer): void {
    // Copied: `buf` may be the shared read buffer (in-place-reads.ts).
    this.held = this.held === null ? Buffer.from(buf) : Buffer.concat([this.held, buf]);
    if (this.held.length > PIPELINE_HOLD_LIMIT) this.socket.pause();
  }

  private startRequest(raw: Buffer): void {
    const { line, headers } = parseRequestHead(raw, this.opts.maxHeadersCount);
    if (line.minor === 0 && !this.opts.acceptHttp10) throw new Http1ParseError(426, 'low_version', 'HTTP/1.0 is not accepted on this listener');
    const target = parseTarget(line, headers);
    const isConnect = line.method === 'CONNECT';
    const framing = isConnect ? { framing: Framing.None, length: 0 } : requestFraming(headers);
    const upgradeValue = headers.get('upgrade');
    const upgrade =
      upgradeValue !== undefined && line.minor === 1 && hasToken(headers.get('connection'), 'upgrade') ? upgradeValue.trim().toLowerCase() : null;
    const head: RequestHead = {
      method: line.method,
      scheme: target.scheme ?? (this.opts.secure ? 'https' : 'http'),
      authority: target.authority,
      path: target.path,
      headers,
      protocol: line.minor === 1 ? 'HTTP/1.1' : 'HTTP/1.0',
      absoluteForm: target.absoluteForm,
      hasBody: framing.framing !== Framing.None,
      contentLength: framing.length,
      expectContinue: line.minor === 1 && hasToken(headers.get('expect'), '100-continue'),
      upgrade,
    };
    const keepAlive = !isConnect && upgrade === null && wantsKeepAlive(line.minor, headers);
    const stream = new Http1Stream(this, head, framing.framing === Framing.None ? null : new BodyDecoder(framing.framing, framing.length, this.opts.maxHeaderBytes), keepAlive, line.minor);
    this.current = stream;
    this.state = stream.decoder === null ? St.Wait : St.Body;
    this.handler(stream);
  }

  /** The request body finished arriving. */
  requestComplete(stream: Http1Stream): void {
    if (this.current !== stream || this.state !== St.Body) return;
    this.state = St.Wait;
    if (stream.responseDone) this.nextRequest();
  }

  /** The response finished going out. */
  responseComplete(stream: Http1Stream): void {
    if (this.current !== stream) return;
    if (this.idleTimer !== null) this.lastActivity = Date.now();
    if (this.state === St.Body || !stream.keepAlive || this.clientEnded || this.draining) {
      // A response before the whole request arrived ends the connection (the rest of the
      // body cannot be told apart from a next request without reading it all).
      this.finish();
      return;
    }
    if (this.state === St.Wait) this.nextRequest();
  }

  private nextRequest(): void {
    this.current = null;
    this.state = St.Head;
    const held = this.held;
    this.held = null;
    if (this.socket.isPaused()) this.socket.resume();
    // Pipelined requests start on the next tick, so the previous exchange unwinds first.
    if (held !== null) process.nextTick(this.onData, held);
  }

  /** Ends the connection after what was written is flushed. */
  finish(): void {
    if (this.state === St.Closed) return;
    this.state = St.Closed;
    this.current = null;
    this.clearHeadTimer();
    this.clearIdleTimer();
    this.writer.sendNow();
    this.socket.end();
    this.linger();
  }

  private linger(): void {
    // Keep draining input until the client closes, so unread bytes do not turn our FIN into a RST.
    if (!setReader(this.socket, noop)) {
      this.socket.removeListener('data', this.onData);
      this.socket.on('data', noop);
    }
    if (this.socket.isPaused()) this.socket.resume();
    setTimeout(destroySocket, LINGER_MS, this.socket).unref();
  }

  /** Answers a protocol error the codec detected itself and closes. */
  private protocolError(err: Http1ParseError): void {
    const stream = this.current;
    this.onCodecError?.(err.status, err.details, this.remoteAddress);
    if (stream !== null && stream.responseStarted) {
      // Mid-body error after the response began: nothing sensible can be written any more.
      stream.abortFromCodec(err.message);
      this.destroy();
      return;
    }
    stream?.abortFromCodec(err.message);
    this.writeLocalReply(err.status, reasonPhrase(err.status));
  }

  private writeLocalReply(status: number, body: string): void {
    if (this.state === St.Closed || this.socket.destroyed) return;
    const headers = new HeaderList();
    headers.push('content-length', 'content-length', String(Buffer.byteLength(body)));
    if (body !== '') headers.push('content-type', 'content-type', 'text/plain');
    headers.push('date', 'date', httpDate());
    headers.push('server', 'server', this.opts.serverName);
    headers.push('connection', 'connection', 'close');
    const head = serializeResponseHead(status, headers, '');
    this.writer.writeHead(body === '' ? head : Buffer.concat([head, Buffer.from(body, 'latin1')]));
    this.finish();
  }

  private armHeadTimer(): void {
    if (this.opts.headersTimeoutMs <= 0) return;
    this.headArmed = true;
    if (this.headTimer === null) {
      this.headTimer = setTimeout(this.onHeadTimeout, this.opts.headersTimeoutMs);
      this.headTimer.unref();
    } else this.headTimer.refresh();
  }

  private clearHeadTimer(): void {
    this.headArmed = false;
    if (this.headTimer !== null) clearTimeout(this.headTimer);
    this.headTimer = null;
  }

  private readonly onHeadTimeout = (): void => {
    if (!this.headArmed || this.state !== St.Head) return;
    this.onCodecError?.(408, 'request_header_timeout', this.remoteAddress);
    this.writeLocalReply(408, '');
  };

  private armIdleTimer(ms: number): void {
    this.idleTimer = setTimeout(this.onIdleCheck, ms);
    this.idleTimer.unref();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  private readonly onIdleCheck = (): void => {
    this.idleTimer = null;
    if (this.state === St.Closed || this.state === St.Tunnel) return;
    const idleMs = this.opts.idleTimeoutMs;
    const left = this.lastActivity + idleMs - Date.now();
    if (left > 0) {
      this.armIdleTimer(left);
      return;
    }
    if (this.state === St.Head && this.scanner.buffered === 0 && this.current === null) {
      this.destroy();
      return;
    }
    // A request is in flight: look again a full period after it ends at the latest.
    this.armIdleTimer(idleMs);
  };

  private readonly onEnd = (): void => {
    this.clientEnded = true;
    switch (this.state) {
      case St.Head:
        if (this.scanner.buffered > 0) this.protocolError(new Http1ParseError(400, 'http1.codec_error', 'connection closed mid-headers'));
        else this.finish();
        break;
      case St.Body: {
        const stream = this.current!;
        if (!stream.decoder!.endOfInput(stream)) {
          stream.abortFromCodec('downstream closed mid-body');
          this.destroy();
        }
        break;
      }
      default:
        // St.Wait: the response still goes out; the connection ends after it.
        break;
    }
  };

  private readonly onClose = (): void => {
    const stream = this.current;
    this.state = St.Closed;
    this.current = null;
    this.clearHeadTimer();
    this.clearIdleTimer();
    if (stream !== null && !stream.responseDone) stream.abortFromCodec('downstream connection closed');
  };

  private readonly onError = (): void => {
    // 'close' follows and does the cleanup; the error itself (ECONNRESET...) needs no report.
  };

  private readonly onDrain = (): void => {
    this.current?.observer?.onDownstreamDrain();
  };

  /** Closes now if idle, else after the response in flight (listener removal, shutdown). */
  drain(): void {
    this.draining = true;
    if (this.state === St.Head && this.scanner.buffered === 0) this.finish();
  }

  destroy(): void {
    this.state = St.Closed;
    this.clearHeadTimer();
    this.clearIdleTimer();
    this.socket.destroy();
  }

  /** Detaches from the socket for a tunnel; returns the bytes read past the head. */
  detach(): Buffer {
    this.state = St.Tunnel;
    this.current = null;
    this.clearHeadTimer();
    this.clearIdleTimer();
    this.writer.sendNow(); // the 101 head goes before anything the tunnel relays
    const s = this.socket;
    s.removeListener('data', this.onData);
    readAsStream(s); // the tunnel reads it as a stream
    s.removeListener('end', this.onEnd);
    s.removeListener('close', this.onClose);
    s.removeListener('error', this.onError);
    s.removeListener('drain', this.onDrain);
    const held = this.held ?? Buffer.alloc(0);
    this.held = null;
    if (s.isPaused()) s.resume();
    return held;
  }

  get closed(): boolean {
    return this.state === St.Closed;
  }
}

function isBlank(head: Buffer): boolean {
  for (const b of head) if (b !== 13 && b !== 10) return false;
  return true;
}

function noop(): void {}

function destroySocket(socket: Socket): void {
  socket.destroy();
}
