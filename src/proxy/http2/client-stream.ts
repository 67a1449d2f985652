/**
 * One request on an upstream HTTP/2 session (`UpstreamStream`): the request head with
 * `:authority` from `host`, the body with flow control, request trailers, and the response
 * relayed with END_STREAM passed through (a trailers-only answer stays trailers-only). A stream
 * reset maps to Envoy's reset reasons; abandoning a request cancels only its stream.
 */
import type { ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import type { HeaderList } from '../http/headers.js';
import type { ResetReason, ResponseHandler, UpstreamStream } from '../upstream/pool.js';
import {
  NGHTTP2_CANCEL,
  NGHTTP2_FLAG_END_STREAM,
  NGHTTP2_NO_ERROR,
  NGHTTP2_PROTOCOL_ERROR,
  NGHTTP2_REFUSED_STREAM,
  contentLengthOf,
  fromRawHeaders,
  requestHeaders,
  trailerFields,
} from './headers.js';
import { resetStream } from './stream-reset.js';
import type { TlsFacts } from '../../telemetry/request-record.js';

/** The session side a stream needs: opening the stream and giving its slot back. */
export interface StreamHost {
  open(headers: ReturnType<typeof requestHeaders>, endStream: boolean): ClientHttp2Stream;
  /** The stream is over (or was never opened): its concurrency slot is free. */
  release(stream: Http2UpstreamStream): void;
  /** True once the session is gone (GOAWAY received, socket closed). */
  readonly terminated: boolean;
  /** The TLS of the session's connection, null for plaintext. */
  readonly tls: TlsFacts | null;
}

export class Http2UpstreamStream implements UpstreamStream {
  private req: ClientHttp2Stream | null = null;
  private handler: ResponseHandler | null = null;
  private headDelivered = false;
  private responseEnded = false;
  private released = false;
  private trailers: HeaderList | null = null;
  private requestTrailers: HeaderList | null = null;

  constructor(private readonly host: StreamHost) {}

  get bufferedBytes(): number {
    return this.req?.writableLength ?? 0;
  }

  get tls(): TlsFacts | null {
    return this.host.tls;
  }

  dispatch(handler: ResponseHandler, method: string, path: string, headers: HeaderList, bodyLength: number, _upgrade: boolean): void {
    this.handler = handler;
    let req: ClientHttp2Stream;
    try {
      req = this.host.open(requestHeaders(method, path, headers, bodyLength), bodyLength === 0);
    } catch {
      // The session cannot take a stream any more (closing, out of stream ids, bad header value).
      process.nextTick(() => {
        this.fail('local reset');
        this.release();
      });
      return;
    }
    this.req = req;
    req.on('response', this.onResponse);
    req.on('data', this.onData);
    req.on('trailers', this.onTrailers);
    req.on('end', this.onEnd);
    req.on('close', this.onClose);
    req.on('drain', this.onDrain);
    req.on('wantTrailers', this.onWantTrailers);
    // Stream errors end in 'close', which reports them with the reset code.
    req.on('error', noop);
  }

  writeBody(chunk: Buffer): boolean {
    const req = this.req;
    if (req === null || req.destroyed || chunk.length === 0) return true;
    return req.write(chunk);
  }

  endBody(trailers: HeaderList | null): void {
    const req = this.req;
    if (req === null || req.destroyed || req.writableEnded) return;
    this.requestTrailers = trailers;
    req.end();
  }

  pauseResponse(): void {
    this.req?.pause();
  }

  resumeResponse(): void {
    this.req?.resume();
  }

  /** Cancels the request: RST_STREAM CANCEL; the session carries on. */
  abort(): void {
    this.handler = null;
    const req = this.req;
    if (req !== null && !req.closed) resetStream(req, NGHTTP2_CANCEL);
    else this.release();
  }

  private readonly onResponse = (_h: IncomingHttpHeaders, flags: number, raw: string[]): void => {
    const h = this.handler;
    if (h === null || this.headDelivered) return;
    const { pseudo, headers } = fromRawHeaders(raw);
    const status = Number(pseudo.get(':status'));
    this.headDelivered = true;
    const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    h.onResponseHead(status, headers, endStream ? 0 : contentLengthOf(headers), endStream);
    if (endStream) this.finishResponse();
  };

  private readonly onData = (chunk: Buffer): void => {
    const h = this.handler;
    if (h !== null && !h.onResponseData(chunk)) this.req?.pause();
  };

  private readonly onTrailers = (_h: IncomingHttpHeaders, _flags: number, raw: string[]): void => {
    this.trailers = fromRawHeaders(raw).headers;
  };

  private readonly onEnd = (): void => {
    if (this.headDelivered) this.finishResponse();
  };

  private finishResponse(): void {
    if (this.responseEnded) return;
    this.responseEnded = true;
    const h = this.handler;
    this.handler = null;
    h?.onResponseEnd(this.trailers);
    // The answer is complete but the request is still open (the upstream answered early): nobody
    // will send the rest, so the stream is ended here rather than left holding its slot.
    const req = this.req;
    if (req !== null && !req.writableEnded && !req.closed) req.close(NGHTTP2_NO_ERROR);
  }

  private readonly onClose = (): void => {
    const req = this.req;
    if (!this.responseEnded && this.handler !== null && req !== null) this.fail(resetReason(req.rstCode, this.host.terminated));
    this.release();
  };

  private fail(reason: ResetReason): void {
    const h = this.handler;
    this.handler = null;
    h?.onUpstreamReset(reason, this.headDelivered);
  }

  private readonly onDrain = (): void => {
    this.handler?.onUpstreamDrain();
  };

  private readonly onWantTrailers = (): void => {
    const req = this.req;
    if (req === null || req.destroyed) return;
    try {
      req.sendTrailers(trailerFields(this.requestTrailers));
    } catch {
      resetStream(req, NGHTTP2_CANCEL);
    }
  };

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.host.release(this);
  }
}

/** Envoy's reset reason for a stream that closed before its response ended. */
function resetReason(code: number | undefined, sessionGone: boolean): ResetReason {
  if (code === NGHTTP2_REFUSED_STREAM) return 'remote refused stream reset';
  if (code === NGHTTP2_PROTOCOL_ERROR) return 'protocol error';
  if (sessionGone) return 'connection termination';
  if (code === undefined || code === NGHTTP2_NO_ERROR) return 'connection termination';
  return 'remote reset';
}

function noop(): void {}
