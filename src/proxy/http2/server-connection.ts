/**
 * The downstream side of HTTP/2 cleartext (h2c with prior knowledge): runs node:http2's server
 * session on an accepted socket whose first bytes (the connection preface) were already read by
 * protocol detection, and hands each request stream to the request flow. Protocol errors end the
 * session with GOAWAY, never the process.
 */
import http2 from 'node:http2';
import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { RequestHead } from '../http/stream.js';
import type { Http1ServerOptions, StreamHandler } from '../http1/server-connection.js';
import { httpDate } from '../http1/serialize.js';
import { NGHTTP2_FLAG_END_STREAM, contentLengthOf, fromRawHeaders } from './headers.js';
import { Http2DownstreamStream } from './server-stream.js';
import { CONNECTION_WINDOW_BYTES, SESSION_MEMORY_MB, STREAM_WINDOW_BYTES } from './settings.js';
import type { StreamConnectionInfo } from './server-stream.js';

/** What the codec reports about failures it handles itself. */
export interface Http2CodecEvents {
  /** A stream answered by the codec without the request flow (400 no authority, 403 CONNECT). */
  onStreamRejected(status: number, details: string, remoteAddress: string): void;
  /** The peer broke the protocol; the session was ended with GOAWAY. */
  onProtocolError(): void;
}

/** Serves HTTP/2 on one accepted socket. */
export class Http2ServerConnection implements StreamConnectionInfo {
  readonly session: ServerHttp2Session;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly secure: boolean;
  private closed = false;
  private active = 0;

  constructor(
    readonly socket: Socket,
    private readonly opts: Http1ServerOptions,
    private readonly handler: StreamHandler,
    private readonly events: Http2CodecEvents,
    /** Bytes protocol detection already read (at least the preface). */
    initial: Buffer,
    listenerPort: number,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = socket.localAddress ?? '';
    this.localPort = listenerPort;
    this.secure = opts.secure;
    // node:http2 reads what sits in the socket's buffer before the wire, so the preface goes back there.
    socket.pause();
    if (initial.length > 0) socket.unshift(initial);
    this.session = http2.performServerHandshake(socket, {
      settings: { initialWindowSize: STREAM_WINDOW_BYTES, maxHeaderListSize: opts.maxHeaderBytes, enablePush: false },
      maxSessionMemory: SESSION_MEMORY_MB,
    });
    const session = this.session;
    session.on('stream', this.onStream);
    session.on('error', this.onError);
    session.on('close', this.onClose);
    session.on('localSettings', this.onSettings);
    if (opts.idleTimeoutMs > 0) {
      session.setTimeout(opts.idleTimeoutMs);
      session.on('timeout', this.onIdle);
    }
  }

  private readonly onSettings = (): void => {
    this.session.removeListener('localSettings', this.onSettings);
    try {
      this.session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    } catch {
      // The session went away while the handshake completed.
    }
  };

  private readonly onStream = (stream: ServerHttp2Stream, _h: IncomingHttpHeaders, flags: number, raw: string[]): void => {
    this.active++;
    stream.once('close', this.onStreamClosed);
    const { pseudo, headers } = fromRawHeaders(raw);
    const method = pseudo.get(':method') ?? '';
    const authority = pseudo.get(':authority') ?? headers.get('host');
    if (method === 'CONNECT') {
      // Tunnels over HTTP/2 streams are not offered (Envoy: upgrade not configured → 403).
      this.reject(stream, 403, 'upgrade_failed');
      return;
    }
    if (authority === undefined || authority === '') {
      this.reject(stream, 400, 'missing_host_header');
      return;
    }
    // :authority wins over a host field sent beside it (RFC 9113 §8.3.1); one `host` remains.
    headers.set('host', authority);
    const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    const scheme = pseudo.get(':scheme');
    const head: RequestHead = {
      method,
      scheme: scheme === 'http' || scheme === 'https' ? scheme : this.secure ? 'https' : 'http',
      authority,
      path: pseudo.get(':path') ?? '/',
      headers,
      protocol: 'HTTP/2',
      absoluteForm: false,
      hasBody: !endStream,
      contentLength: endStream ? 0 : contentLengthOf(headers),
      expectContinue: !endStream && headers.get('expect')?.toLowerCase() === '100-continue',
      upgrade: null,
    };
    const ds = new Http2DownstreamStream(this, stream, head, endStream);
    try {
      this.handler(ds);
    } catch {
      // A fault in the flow must cost one stream, not the connection or the process.
      if (!ds.responseStarted) this.reject(stream, 500, 'internal_error');
      else ds.reset();
    }
  };

  /** Answers a stream the codec refuses itself (no request flow). */
  private reject(stream: ServerHttp2Stream, status: number, details: string): void {
    this.events.onStreamRejected(status, details, this.remoteAddress);
    stream.on('error', noop);
    if (stream.destroyed || stream.headersSent) return;
    stream.respond({ ':status': status, 'content-length': '0', date: httpDate(), server: this.opts.serverName }, { endStream: true });
  }

  private readonly onError = (): void => {
    // Malformed frames, flow-control violations, memory limits: node:http2 has sent GOAWAY and
    // closes the session; the streams see 'close'.
    this.events.onProtocolError();
  };

  private readonly onStreamClosed = (): void => {
    this.active--;
  };

  private readonly onClose = (): void => {
    this.closed = true;
    if (!this.socket.destroyed) this.socket.destroy();
  };

  private readonly onIdle = (): void => {
    // Only an idle connection is closed; a long stream keeps it open.
    if (this.active === 0) this.drain();
  };

  /** Sends GOAWAY: streams in flight finish, no new ones start (listener removal, shutdown). */
  drain(): void {
    if (this.closed || this.session.closed) return;
    this.session.close();
  }

  destroy(): void {
    this.session.destroy();
    this.socket.destroy();
  }
}

function noop(): void {}
