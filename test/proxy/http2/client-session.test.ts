/**
 * The upstream HTTP/2 session and its streams, driven directly against a real node:http2 server:
 * how a request maps onto a stream (pseudo-headers from the head, `host` as `:authority`,
 * connection-specific fields left out, `te: trailers` kept, bodies of unknown length, request
 * trailers), how the response maps back (status, content length, END_STREAM on HEADERS,
 * trailers), resets in Envoy's words, the peer's SETTINGS and GOAWAY as the pool hears them, and
 * the session over TLS (`:scheme` https, ALPN h2).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Http2ClientSession } from '../../../src/proxy/http2/client-session.js';
import type { SessionOwner, SessionOptions } from '../../../src/proxy/http2/client-session.js';
import { HeaderList } from '../../../src/proxy/http/headers.js';
import type { ResetReason, ResponseHandler } from '../../../src/proxy/upstream/pool.js';
import type { Endpoint } from '../../../src/proxy/upstream/types.js';
import { compileUpstreamTls } from '../../../src/proxy/upstream/upstream-tls.js';
import { CompiledCache } from '../../../src/proxy/tls/compiled-cache.js';
import { WorkloadSecrets } from '../../../src/proxy/tls/workload-secrets.js';
import { authority, spiffe } from '../../helpers/test-pki.js';
import { deadPort } from '../helpers.js';
import { Disposer } from '../../helpers/disposer.js';

/** What the server saw of one stream. */
interface Seen {
  headers: http2.IncomingHttpHeaders;
  body: string;
  trailers: http2.IncomingHttpHeaders | null;
}

/** What a request heard back, in the order it heard it. */
class Recorder implements ResponseHandler {
  status = 0;
  contentLength = -2;
  endStreamOnHead = false;
  headers: HeaderList | null = null;
  body = '';
  trailers: HeaderList | null = null;
  reset: { reason: ResetReason; afterHeaders: boolean } | null = null;
  private finished!: () => void;
  readonly done = new Promise<void>((resolve) => (this.finished = resolve));

  onResponseHead(status: number, headers: HeaderList, contentLength: number, endStream: boolean): void {
    this.status = status;
    this.headers = headers;
    this.contentLength = contentLength;
    this.endStreamOnHead = endStream;
  }
  onResponseData(chunk: Buffer): boolean {
    this.body += chunk.toString();
    return true;
  }
  onResponseEnd(trailers: HeaderList | null): void {
    this.trailers = trailers;
    this.finished();
  }
  onUpstreamReset(reason: ResetReason, afterHeaders: boolean): void {
    this.reset = { reason, afterHeaders };
    this.finished();
  }
  onUpstreamDrain(): void {}
  onUpgrade(): void {
    throw new Error('no upgrades over HTTP/2');
  }
}

/** The pool's side of a session, recorded. */
class Owner implements SessionOwner {
  events: string[] = [];
  failure: { reason: ResetReason; transport: string } | null = null;
  private waiters: [string, () => void][] = [];
  private note(e: string): void {
    this.events.push(e);
    for (const [want, resolve] of this.waiters) if (want === e) resolve();
    this.waiters = this.waiters.filter(([want]) => want !== e);
  }
  /** Resolves once `event` happened (at once when it already did). */
  when(event: string): Promise<void> {
    if (this.events.includes(event)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push([event, resolve]));
  }
  onConnected(): void {
    this.note('connected');
  }
  onConnectFailed(_s: Http2ClientSession, reason: ResetReason, transport: string): void {
    this.failure = { reason, transport };
    this.note('failed');
  }
  onCapacity(): void {
    this.note('capacity');
  }
  onGoaway(): void {
    this.note('goaway');
  }
  onIdleTimeout(): void {
    this.note('idle');
  }
  onClosed(): void {
    this.note('closed');
  }
}

const host = (port: number): Endpoint => ({ key: `127.0.0.1:${port}`, address: '127.0.0.1', port }) as Endpoint;
const OPTIONS: SessionOptions = { connectTimeoutMs: 5000, idleTimeoutMs: 0, maxHeaderListSize: 60 * 1024, tls: null };

function list(pairs: [string, string][]): HeaderList {
  const h = new HeaderList();
  for (const [n, v] of pairs) h.push(n, n.toLowerCase(), v);
  return h;
}

describe('upstream HTTP/2 session', () => {
  let server: http2.Http2Server;
  let port: number;
  const seen: Seen[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    server = http2.createServer({ settings: { maxConcurrentStreams: 7 } });
    server.on('session', (s) => {
      sessions.add(s);
      s.on('close', () => sessions.delete(s));
    });
    server.on('stream', (stream, headers) => {
      const record: Seen = { headers, body: '', trailers: null };
      seen.push(record);
      stream.on('data', (c: Buffer) => (record.body += c.toString()));
      stream.on('trailers', (t: http2.IncomingHttpHeaders) => (record.trailers = t));
      stream.on('error', () => {});
      stream.on('end', () => {
        switch (headers[':path']) {
          case '/refuse':
            stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
            return;
          case '/reset-after-head':
            stream.respond({ ':status': 200 });
            stream.write('partial');
            // Destroyed with an error: RST_STREAM INTERNAL_ERROR. (close(code) would end the stream first.)
            setTimeout(() => stream.destroy(new Error('reset after the head')), 20);
            return;
          case '/trailers-only':
            stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5' }, { endStream: true });
            return;
          case '/with-trailers':
            stream.respond({ ':status': 200 }, { waitForTrailers: true });
            stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-checksum': 'abc' }));
            stream.end('body');
            return;
          default:
            stream.respond({ ':status': 201, 'content-length': String(record.body.length + 2), 'x-path': String(headers[':path']) });
            stream.end(`${record.body}ok`);
        }
      });
    });
    disposer.add(server, (s) => {
      for (const session of sessions) session.destroy();
      return new Promise<void>((resolve) => s.close(() => resolve()));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as net.AddressInfo).port;
  }));

  after(() => disposer.drain());

  async function open(owner = new Owner(), opts: SessionOptions = OPTIONS, p = port): Promise<{ session: Http2ClientSession; owner: Owner }> {
    const session = new Http2ClientSession(host(p), owner, opts);
    await Promise.race([owner.when('connected'), owner.when('failed')]);
    return { session, owner };
  }

  test('a request maps onto a stream: pseudo-headers, host as :authority, connection-specific fields left out', async () => {
    const { session } = await open();
    const r = new Recorder();
    const headers = list([
      ['Host', 'reviews:9080'],
      ['Connection', 'keep-alive'],
      ['Keep-Alive', 'timeout=5'],
      ['Transfer-Encoding', 'chunked'],
      ['Upgrade', 'h2c'],
      ['TE', 'trailers'],
      ['X-Custom', 'a'],
      ['X-Custom', 'b'],
    ]);
    session.newStream().dispatch(r, 'GET', '/reviews/1?x=y', headers, 0, false);
    await r.done;
    const h = seen.at(-1)!.headers;
    assert.equal(h[':method'], 'GET');
    assert.equal(h[':path'], '/reviews/1?x=y');
    assert.equal(h[':authority'], 'reviews:9080');
    assert.equal(h[':scheme'], 'http');
    for (const gone of ['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade']) assert.equal(h[gone], undefined, gone);
    assert.equal(h.te, 'trailers');
    assert.equal(h['x-custom'], 'a, b');
    assert.equal(r.status, 201);
    assert.equal(r.contentLength, 2);
    assert.equal(r.headers?.get('x-path'), '/reviews/1?x=y');
    assert.equal(r.body, 'ok');
    session.destroy();
  });

  test('a body of unknown length streams, and request trailers follow it', async () => {
    const { session } = await open();
    const r = new Recorder();
    const stream = session.newStream();
    stream.dispatch(r, 'POST', '/upload', list([['host', 'svc']]), -1, false);
    stream.writeBody(Buffer.from('one,'));
    stream.writeBody(Buffer.from('two'));
    stream.endBody(list([['x-sum', '42']]));
    await r.done;
    const s = seen.at(-1)!;
    assert.equal(s.body, 'one,two');
    assert.equal(s.headers['content-length'], undefined);
    assert.equal(s.trailers?.['x-sum'], '42');
    assert.equal(r.body, 'one,twook');
    session.destroy();
  });

  test('a known body length is sent as content-length', async () => {
    const { session } = await open();
    const r = new Recorder();
    const stream = session.newStream();
    stream.dispatch(r, 'PUT', '/put', list([['host', 'svc']]), 5, false);
    stream.writeBody(Buffer.from('hello'));
    stream.endBody(null);
    await r.done;
    assert.equal(seen.at(-1)!.headers['content-length'], '5');
    session.destroy();
  });

  test('a trailers-only answer keeps END_STREAM on its HEADERS; response trailers come through', async () => {
    const { session } = await open();
    const only = new Recorder();
    session.newStream().dispatch(only, 'POST', '/trailers-only', list([['host', 'svc']]), 0, false);
    await only.done;
    assert.equal(only.endStreamOnHead, true);
    assert.equal(only.contentLength, 0);
    assert.equal(only.headers?.get('grpc-status'), '5');

    const withTrailers = new Recorder();
    session.newStream().dispatch(withTrailers, 'GET', '/with-trailers', list([['host', 'svc']]), 0, false);
    await withTrailers.done;
    assert.equal(withTrailers.contentLength, -1, 'no content-length: unknown');
    assert.equal(withTrailers.body, 'body');
    assert.equal(withTrailers.trailers?.get('grpc-status'), '0');
    assert.equal(withTrailers.trailers?.get('x-checksum'), 'abc');
    session.destroy();
  });

  test('resets in Envoy\'s words: REFUSED_STREAM before the head, another code after it', async () => {
    const { session } = await open();
    const refused = new Recorder();
    session.newStream().dispatch(refused, 'GET', '/refuse', list([['host', 'svc']]), 0, false);
    await refused.done;
    assert.deepEqual(refused.reset, { reason: 'remote refused stream reset', afterHeaders: false });

    const late = new Recorder();
    session.newStream().dispatch(late, 'GET', '/reset-after-head', list([['host', 'svc']]), 0, false);
    await late.done;
    assert.equal(late.body, 'partial');
    assert.deepEqual(late.reset, { reason: 'remote reset', afterHeaders: true });
    session.destroy();
  });

  test('the peer\'s SETTINGS limit streams; streams give their slot back when done', async () => {
    const { session, owner } = await open();
    await owner.when('capacity');
    assert.equal(session.peerMaxStreams, 7);
    const r = new Recorder();
    const stream = session.newStream();
    assert.equal(session.active, 1);
    stream.dispatch(r, 'GET', '/', list([['host', 'svc']]), 0, false);
    await r.done;
    const active = (): number => session.active;
    while (active() !== 0) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(session.served, 1);
    session.destroy();
  });

  test('GOAWAY from the server: the pool hears it and the session takes no new streams', async () => {
    const { session, owner } = await open();
    const r = new Recorder();
    session.newStream().dispatch(r, 'GET', '/', list([['host', 'svc']]), 0, false);
    await r.done;
    // A graceful shutdown: GOAWAY, then the server closes once its streams are done.
    for (const s of sessions) s.close();
    await owner.when('goaway');
    assert.equal(session.usable, false);
    await owner.when('closed');
    assert.equal(session.terminated, true);
  });

  test('GOAWAY alone on an idle session (the server leaves the connection open): the session closes at once and the pool hears it closed', async () => {
    const accepted = once(server, 'session') as Promise<[http2.ServerHttp2Session]>;
    const { session, owner } = await open();
    const [peer] = await accepted;
    peer.goaway(http2.constants.NGHTTP2_NO_ERROR, 0);
    await Promise.race([owner.when('closed'), new Promise((_, reject) => setTimeout(() => reject(new Error('the session never closed')), 5000).unref())]);
    assert.equal(session.terminated, true);
    assert.equal(session.usable, false);
    assert.deepEqual(owner.events.filter((e) => e === 'goaway' || e === 'closed'), ['goaway', 'closed']);
    assert.equal(peer.closed, false, 'the server did not close its side');
  });

  test('a refused connect is reported once, in Envoy\'s words, through the connect path', async () => {
    const owner = new Owner();
    await open(owner, OPTIONS, await deadPort());
    assert.deepEqual(owner.failure, { reason: 'remote connection failure', transport: 'delayed connect error: Connection refused' });
    assert.deepEqual(owner.events, ['failed']);
  });

  test('over TLS: ALPN h2, :scheme https, and the client certificate', async () => {
    const mesh = authority('mesh');
    const serverLeaf = mesh.issue('h2-server', [`URI:${spiffe('foo', 'grpc')}`]);
    const clientLeaf = mesh.issue('h2-client', [`URI:${spiffe('foo', 'curl')}`]);
    const secure = http2.createSecureServer({ cert: serverLeaf.cert, key: serverLeaf.key, ca: mesh.cert, requestCert: true, rejectUnauthorized: true });
    let scheme: unknown;
    let client: string | undefined;
    secure.on('stream', (stream, headers) => {
      scheme = headers[':scheme'];
      client = (stream.session!.socket as unknown as TLSSocket).getPeerCertificate().subjectaltname;
      stream.respond({ ':status': 200 });
      stream.end('secure');
    });
    secure.listen(0, '127.0.0.1');
    await once(secure, 'listening');
    const tls = compileUpstreamTls(
      { mode: 'MUTUAL', clientCertificate: { pem: clientLeaf.cert }, privateKey: { pem: clientLeaf.key }, caCertificates: { pem: mesh.cert }, subjectAltNames: [spiffe('foo', 'grpc')] },
      'clusters[0].tls',
      new WorkloadSecrets(),
      new CompiledCache(),
    );
    const { session } = await open(new Owner(), { ...OPTIONS, tls }, (secure.address() as net.AddressInfo).port);
    try {
      const r = new Recorder();
      session.newStream().dispatch(r, 'GET', '/', list([['host', 'grpc']]), 0, false);
      await r.done;
      assert.equal(r.body, 'secure');
      assert.equal(scheme, 'https');
      assert.equal(client, `URI:${spiffe('foo', 'curl')}`);
    } finally {
      session.destroy();
      secure.close();
    }
  });
});
