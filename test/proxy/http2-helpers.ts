/**
 * Test helpers for HTTP/2 and gRPC: a small h2c backend (node:http2) serving a gRPC echo service
 * with length-prefixed messages (unary, bidi streaming, a trailers-only failure, a slow method, a
 * method that fails until told otherwise) and plain HTTP echo on every other path, plus h2c and
 * gRPC clients that report what arrived on the wire (status, headers, messages, trailers).
 */
import http2 from 'node:http2';
import type { ClientHttp2Session, Http2Session, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type net from 'node:net';
import { once } from 'node:events';

/** A gRPC message on the wire: compressed flag (0), 4-byte big-endian length, payload. */
export function grpcFrame(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Splits complete length-prefixed messages off `buf`; returns them and the unconsumed rest. */
export function readGrpcFrames(buf: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let pos = 0;
  while (buf.length - pos >= 5) {
    const len = buf.readUInt32BE(pos + 1);
    if (buf.length - pos - 5 < len) break;
    messages.push(buf.subarray(pos + 5, pos + 5 + len));
    pos += 5 + len;
  }
  return { messages, rest: buf.subarray(pos) };
}

export interface H2Backend {
  port: number;
  name: string;
  /** Streams served, by path. */
  calls: Map<string, number>;
  /** Sessions (connections) accepted so far. */
  sessions: number;
  /** Request headers of the latest stream. */
  lastHeaders: IncomingHttpHeaders | null;
  /** Request trailers of the latest stream that sent any. */
  lastTrailers: IncomingHttpHeaders | null;
  /** Streams the client cancelled (RST_STREAM) before the backend answered. */
  cancelled: number;
  /** Streams open right now. */
  open: number;
  /** Most streams open at once on one session. */
  maxOpenPerSession: number;
  /** Sends GOAWAY on every live session (graceful: streams in flight finish). */
  goawayAll(): void;
  /**
   * The next stream gets a GOAWAY whose last stream id is the one before it: the client must
   * treat that stream as refused (never processed) and may retry it elsewhere.
   */
  refuseNextStream(): void;
  /** /test.Echo/Flaky answers UNAVAILABLE to this many calls from now on, then OK. */
  failFlaky(times: number): void;
  close(): Promise<void>;
}

/**
 * Starts an h2c backend. gRPC methods on `/test.Echo/`: `Unary` (echoes `name:payload`, with
 * header `x-backend` and trailer `x-trailer`), `Bidi` (echoes each message as it arrives),
 * `Denied` (trailers-only PERMISSION_DENIED), `Slow` (answers after `slowMs`), `Flaky`
 * (trailers-only UNAVAILABLE as often as `failFlaky` says), `Reset` (one message, then
 * RST_STREAM INTERNAL_ERROR), `Hold` (never answers; counts cancellations). `/big/N` answers N bytes; any other path answers 200 with a JSON echo.
 */
export async function startH2Backend(name: string, opts: { slowMs?: number } = {}): Promise<H2Backend> {
  const server = http2.createServer();
  const live = new Set<ServerHttp2Session>();
  let flakyFailures = 0;
  let refuseNext = false;
  const backend: H2Backend = {
    port: 0,
    name,
    calls: new Map(),
    sessions: 0,
    lastHeaders: null,
    lastTrailers: null,
    cancelled: 0,
    open: 0,
    maxOpenPerSession: 0,
    goawayAll() {
      for (const s of live) s.goaway(http2.constants.NGHTTP2_NO_ERROR);
    },
    refuseNextStream() {
      refuseNext = true;
    },
    failFlaky(times: number) {
      flakyFailures = times;
    },
    async close() {
      for (const s of live) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const openPerSession = new Map<Http2Session, number>();
  server.on('session', (s: ServerHttp2Session) => {
    backend.sessions++;
    live.add(s);
    s.on('close', () => live.delete(s));
    s.on('error', () => {});
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    const path = String(headers[':path']);
    backend.calls.set(path, (backend.calls.get(path) ?? 0) + 1);
    backend.lastHeaders = headers;
    const session = stream.session!;
    const n = (openPerSession.get(session) ?? 0) + 1;
    openPerSession.set(session, n);
    backend.maxOpenPerSession = Math.max(backend.maxOpenPerSession, n);
    backend.open++;
    stream.on('close', () => {
      backend.open--;
      openPerSession.set(session, (openPerSession.get(session) ?? 1) - 1);
    });
    stream.on('error', () => {});
    stream.on('trailers', (t: IncomingHttpHeaders) => (backend.lastTrailers = t));
    const id = stream.id ?? 0;
    if (refuseNext && id > 1) {
      refuseNext = false;
      session.goaway(http2.constants.NGHTTP2_NO_ERROR, id - 2);
      return;
    }
    const grpcHead = { ':status': 200, 'content-type': 'application/grpc', 'x-backend': name };
    switch (path) {
      case '/test.Echo/Unary':
        readAll(stream, (body) => {
          const [msg] = readGrpcFrames(body).messages;
          stream.respond(grpcHead, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-trailer': name }));
          stream.end(grpcFrame(`${name}:${msg?.toString() ?? ''}`));
        });
        return;
      case '/test.Echo/Bidi': {
        stream.respond(grpcHead, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        let pending: Buffer = Buffer.alloc(0);
        stream.on('data', (c: Buffer) => {
          const { messages, rest } = readGrpcFrames(Buffer.concat([pending, c]));
          pending = rest;
          for (const m of messages) stream.write(grpcFrame(`echo:${m.toString()}`));
        });
        stream.on('end', () => stream.end());
        return;
      }
      case '/test.Echo/Denied':
        stream.respond({ ...grpcHead, 'grpc-status': '7', 'grpc-message': 'denied by backend' }, { endStream: true });
        return;
      case '/test.Echo/Flaky':
        if (flakyFailures === 0) {
          stream.respond(grpcHead, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(grpcFrame('healed'));
        } else {
          flakyFailures--;
          stream.respond({ ...grpcHead, 'grpc-status': '14', 'grpc-message': 'try again' }, { endStream: true });
        }
        return;
      case '/test.Echo/Slow':
        setTimeout(() => {
          if (stream.closed) return;
          stream.respond(grpcHead, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(grpcFrame('slow'));
        }, opts.slowMs ?? 1000).unref();
        return;
      case '/test.Echo/Reset':
        stream.respond(grpcHead);
        stream.write(grpcFrame('partial'), () =>
          setTimeout(() => {
            // node:http2 would flush END_STREAM ahead of the RST when no write is in flight.
            stream.write(Buffer.alloc(0));
            stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
          }, 20),
        );
        return;
      case '/test.Echo/Hold':
        stream.on('aborted', () => backend.cancelled++);
        stream.resume();
        return;
      default:
        if (path.startsWith('/big/')) {
          stream.respond({ ':status': 200, 'x-backend': name });
          stream.end(Buffer.alloc(Number(path.slice(5)), 'x'));
          return;
        }
        readAll(stream, (body) => {
          stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-backend': name });
          stream.end(JSON.stringify({ name, protocol: 'HTTP/2', headers, bodyLength: body.length }));
        });
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  backend.port = (server.address() as net.AddressInfo).port;
  return backend;
}

function readAll(stream: ServerHttp2Stream, then: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => then(Buffer.concat(chunks)));
}

/** An h2c client session to 127.0.0.1:port (prior knowledge); close it when done. */
export async function h2connect(port: number): Promise<ClientHttp2Session> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  await once(session, 'connect');
  return session;
}

export interface H2Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Trailers, or null when the response ended without any (e.g. trailers-only). */
  trailers: IncomingHttpHeaders | null;
  /** The response head carried END_STREAM (a trailers-only / headers-only answer). */
  headersOnly: boolean;
  /** RST_STREAM code when the stream was reset instead of ending. */
  rstCode: number;
}

/** One request on `session`; resolves when the stream closes. */
export function h2request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Buffer | Buffer[], trailers?: OutgoingHttpHeaders): Promise<H2Reply> {
  return new Promise((resolve) => {
    const hasBody = body !== undefined;
    const req = session.request(headers, { endStream: !hasBody, waitForTrailers: trailers !== undefined });
    const reply: H2Reply = { status: 0, headers: {}, body: Buffer.alloc(0), trailers: null, headersOnly: false, rstCode: 0 };
    const chunks: Buffer[] = [];
    req.on('response', (h, flags) => {
      reply.status = Number(h[':status']);
      reply.headers = h;
      reply.headersOnly = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('trailers', (t: IncomingHttpHeaders) => {
      reply.trailers = t;
    });
    req.on('error', () => {});
    if (trailers !== undefined) req.on('wantTrailers', () => req.sendTrailers(trailers));
    req.on('close', () => {
      reply.body = Buffer.concat(chunks);
      reply.rstCode = req.rstCode ?? 0;
      resolve(reply);
    });
    if (hasBody) {
      for (const b of Array.isArray(body) ? body : [body]) req.write(b);
      req.end();
    }
  });
}

/** gRPC request headers for `method` on `authority`. */
export function grpcHeaders(authority: string, method: string, extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return { ':method': 'POST', ':path': method, ':authority': authority, 'content-type': 'application/grpc', te: 'trailers', ...extra };
}

/** The gRPC status of a reply: from trailers, or from the head of a trailers-only answer. */
export function grpcStatusOf(reply: H2Reply): { code: number; message: string } {
  const src = reply.trailers ?? reply.headers;
  return { code: Number(src['grpc-status']), message: decodeURIComponent(String(src['grpc-message'] ?? '')) };
}

export function messagesOf(reply: H2Reply): string[] {
  return readGrpcFrames(reply.body).messages.map((m) => m.toString());
}
