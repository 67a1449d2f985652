/**
 * One upstream HTTP/1.1 connection against a real loopback server: the request bytes it writes
 * (Content-Length by method, chunked bodies, one terminator), how it reads responses (framing
 * reported to the handler, 204 without a body framing, interim answers, upgrades, bytes after a
 * response), what it tells its pool (connected, failed, done and whether reusable, closed), and
 * its state as the pool reads it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { HeaderList } from '../../../src/proxy/http/headers.js';
import { Http1ClientConnection } from '../../../src/proxy/upstream/http1-client.js';
import type { ConnectionOwner } from '../../../src/proxy/upstream/http1-client.js';
import type { ResetReason } from '../../../src/proxy/upstream/pool.js';
import { HostImpl } from '../../../src/proxy/upstream/endpoint.js';
import { deadPort } from '../helpers.js';
import { Exchange, OK, PeerServer } from './http1-peer.js';
import type { Peer } from './http1-peer.js';

/** Records what a connection tells its pool, in order. */
class Owner implements ConnectionOwner {
  readonly events: string[] = [];
  readonly connected: Promise<void>;
  private onConnect!: () => void;
  private readonly waiters: { event: string; resolve: () => void }[] = [];
  /** Run on each finished exchange, as a pool hands the connection to a waiting request. */
  onDone: ((conn: Http1ClientConnection, reusable: boolean) => void) | null = null;

  constructor() {
    this.connected = new Promise((resolve) => (this.onConnect = resolve));
  }
  private record(event: string): void {
    this.events.push(event);
    for (const w of this.waiters.filter((x) => x.event === event)) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }
  /** Resolves once `event` was recorded (now or later). */
  next(event: string): Promise<void> {
    if (this.events.includes(event)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ event, resolve }));
  }
  onConnected(): void {
    this.record('connected');
    this.onConnect();
  }
  onConnectFailed(_conn: Http1ClientConnection, reason: ResetReason, transportFailure: string): void {
    this.record(`connect failed: ${reason}: ${transportFailure}`);
    this.onConnect();
  }
  onExchangeDone(conn: Http1ClientConnection, reusable: boolean): void {
    this.record(`done ${reusable ? 'reusable' : 'not reusable'}`);
    this.onDone?.(conn, reusable);
  }
  onClosed(): void {
    this.record('closed');
  }
}

const headers = (...pairs: [string, string][]): HeaderList => HeaderList.from([['host', 'backend'], ...pairs]);

describe('upstream HTTP/1.1 connection', () => {
  let server: PeerServer;
  let host: HostImpl;
  const open: Http1ClientConnection[] = [];

  before(async () => {
    server = await new PeerServer().listen();
    host = new HostImpl({ address: '127.0.0.1', port: server.port });
  });
  after(async () => {
    for (const c of open) c.destroy();
    await server.close();
  });

  /** A connection to the test server, connected, with the server's side of it. */
  async function connect(): Promise<{ conn: Http1ClientConnection; owner: Owner; peer: Peer }> {
    const owner = new Owner();
    const index = server.peers.length;
    const conn = new Http1ClientConnection(host, owner, { timeoutMs: 5000, tls: null }, 64 * 1024);
    open.push(conn);
    assert.equal(conn.connecting, true);
    assert.equal(conn.idle, false);
    assert.equal(conn.closed, false);
    await owner.connected;
    assert.deepEqual(owner.events, ['connected']);
    return { conn, owner, peer: await server.peer(index) };
  }

  test('a connection is connecting, then idle; busy while it carries a request; closed once destroyed', async () => {
    const { conn, owner, peer } = await connect();
    assert.equal(conn.connecting, false);
    assert.equal(conn.idle, true);
    assert.equal(conn.closed, false);
    assert.equal(conn.tls, null, 'a plaintext connection has no TLS facts');
    assert.equal(conn.bufferedBytes, 0);
    const ex = new Exchange();
    conn.dispatch(ex, 'GET', '/a', headers(), 0, false);
    assert.equal(conn.served, 1);
    assert.equal(conn.idle, false);
    await peer.heads(1);
    peer.write(OK);
    await ex.finished;
    assert.equal(ex.body, 'ok');
    assert.deepEqual(owner.events, ['connected', 'done reusable']);
    assert.equal(conn.idle, true);
    conn.destroy();
    assert.equal(conn.closed, true);
    assert.equal(conn.idle, false);
    await peer.closed;
    await owner.next('closed');
  });

  test('Content-Length: none for a bodiless GET, HEAD, DELETE, TRACE or CONNECT; 0 for other methods; the body length when the request has none', async () => {
    const { conn, owner, peer } = await connect();
    const cases: [method: string, len: number, extra: [string, string][], want: string | null][] = [
      ['GET', 0, [], null],
      ['HEAD', 0, [], null],
      ['DELETE', 0, [], null],
      ['TRACE', 0, [], null],
      ['POST', 0, [], 'content-length: 0'],
      ['PUT', 0, [], 'content-length: 0'],
      ['OPTIONS', 0, [], 'content-length: 0'],
      ['POST', 5, [], 'content-length: 5'],
      ['GET', 5, [], 'content-length: 5'],
      ['PUT', 5, [['content-length', '5']], 'content-length: 5'],
    ];
    let at = 0;
    for (const [i, [method, len, extra, want]] of cases.entries()) {
      const ex = new Exchange();
      conn.dispatch(ex, method, `/${i}`, headers(...extra), len, false);
      if (len > 0) {
        assert.equal(conn.writeBody(Buffer.from('hello')), true);
        conn.endBody(null);
      }
      await peer.heads(i + 1);
      const text = peer.text().slice(at);
      const head = text.slice(0, text.indexOf('\r\n\r\n') + 2);
      assert.ok(head.startsWith(`${method} /${i} HTTP/1.1\r\n`), head);
      const lengths = head.split('\r\n').filter((l) => l.toLowerCase().startsWith('content-length'));
      assert.deepEqual(lengths, want === null ? [] : [want], `${method} with a body of ${len}`);
      if (len > 0) await peer.waitFor('hello', cases.slice(0, i + 1).filter((c) => c[1] > 0).length);
      at = peer.text().length;
      peer.write(method === 'HEAD' ? 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n' : OK);
      await ex.finished;
      assert.deepEqual(ex.events, ['head 200', 'end'], method);
    }
    assert.equal(owner.events.filter((e) => e === 'done reusable').length, cases.length);
    assert.equal(conn.served, cases.length);
    const ex = new Exchange();
    conn.dispatch(ex, 'CONNECT', 'backend:443', headers(), 0, false);
    await peer.heads(cases.length + 1);
    assert.equal(peer.text().slice(at), 'CONNECT backend:443 HTTP/1.1\r\nhost: backend\r\n\r\n');
    conn.destroy();
  });

  test('the handler hears each framing: a length, chunked (-1), none (0, the end at once)', async () => {
    const { conn, owner, peer } = await connect();
    const answers: [string, number, boolean, string][] = [
      [OK, 2, false, 'ok'],
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nx-t: 1\r\n\r\n', -1, false, 'ab'],
      ['HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', 0, true, ''],
      ['HTTP/1.1 304 Not Modified\r\netag: x\r\n\r\n', 0, true, ''],
    ];
    for (const [i, [reply, length, endStream, body]] of answers.entries()) {
      const ex = new Exchange();
      conn.dispatch(ex, 'GET', '/', headers(), 0, false);
      await peer.heads(i + 1);
      peer.write(reply);
      await ex.finished;
      assert.equal(ex.head?.contentLength, length, reply);
      assert.equal(ex.head?.endStream, endStream, reply);
      assert.equal(ex.body, body);
      assert.deepEqual(ex.events.at(-1), 'end');
    }
    assert.deepEqual(owner.events.slice(1), answers.map(() => 'done reusable'));
    conn.destroy();
  });

  test('a 204 forwards no Content-Length: 0, wherever it stands among the headers, and ends at once', async () => {
    const { conn, owner, peer } = await connect();
    const ex = new Exchange();
    conn.dispatch(ex, 'GET', '/', headers(), 0, false);
    await peer.heads(1);
    peer.write('HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nx-a: 1\r\n\r\n');
    await ex.finished;
    assert.deepEqual(ex.events, ['head 204', 'end']);
    assert.equal(ex.head?.headers.has('content-length'), false);
    assert.equal(ex.head?.headers.get('x-a'), '1');
    assert.deepEqual(ex.head && [ex.head.contentLength, ex.head.endStream], [0, true]);
    assert.deepEqual(owner.events, ['connected', 'done reusable']);
    const later = new Exchange();
    conn.dispatch(later, 'GET', '/', headers(), 0, false);
    await peer.heads(2);
    peer.write('HTTP/1.1 204 No Content\r\nx-b: 2\r\ncontent-length: 0\r\n\r\n');
    await later.finished;
    assert.deepEqual(later.events, ['head 204', 'end']);
    assert.deepEqual(later.head?.headers.names, ['x-b']);
    conn.destroy();
  });

  for (const [what, reply] of [
    ['Transfer-Encoding', 'HTTP/1.1 204 No Content\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a non-zero Content-Length', 'HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n'],
    ['a second Content-Length: 0', 'HTTP/1.1 204 No Content\r\ncontent-length: 0\r\ncontent-length: 0\r\n\r\n'],
  ]) {
    test(`a 204 with ${what} is a protocol error before any head reaches the handler; the connection closes`, async () => {
      const { conn, owner, peer } = await connect();
      const ex = new Exchange();
      conn.dispatch(ex, 'GET', '/', headers(), 0, false);
      await peer.heads(1);
      peer.write(reply);
      await ex.finished;
      assert.deepEqual(ex.events, ['reset protocol error']);
      assert.deepEqual(ex.reset, { reason: 'protocol error', afterHeaders: false });
      assert.equal(conn.closed, true);
      await peer.closed;
      await owner.next('closed');
      assert.ok(!owner.events.some((e) => e.startsWith('done')));
    });
  }

  test('a response with Connection: close, or delimited by the close, leaves the connection not reusable', async () => {
    {
      const { conn, owner, peer } = await connect();
      const ex = new Exchange();
      conn.dispatch(ex, 'GET', '/', headers(), 0, false);
      await peer.heads(1);
      peer.write('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok');
      await ex.finished;
      assert.deepEqual(owner.events, ['connected', 'done not reusable']);
      assert.equal(conn.idle, false);
      conn.destroy();
    }
    {
      const { conn, owner, peer } = await connect();
      const ex = new Exchange();
      conn.dispatch(ex, 'GET', '/', headers(), 0, false);
      await peer.heads(1);
      peer.write('HTTP/1.1 200 OK\r\n\r\nuntil the end');
      await peer.waitFor('\r\n\r\n');
      peer.socket.end();
      await ex.finished;
      assert.equal(ex.body, 'until the end');
      assert.equal(ex.head?.contentLength, -1);
      assert.deepEqual(owner.events.slice(0, 2), ['connected', 'done not reusable']);
    }
  });

  test('a connection the pool drains finishes its exchange and is not reusable', async () => {
    const { conn, owner, peer } = await connect();
    const ex = new Exchange();
    conn.dispatch(ex, 'GET', '/', headers(), 0, false);
    conn.draining = true;
    await peer.heads(1);
    peer.write(OK);
    await ex.finished;
    assert.deepEqual(owner.events, ['connected', 'done not reusable']);
    conn.destroy();
  });

  test('interim 1xx answers are dropped; a 101 to a request that asked for no upgrade is one of them', async () => {
    const { conn, peer } = await connect();
    const ex = new Exchange();
    conn.dispatch(ex, 'GET', '/', headers(), 0, false);
    await peer.heads(1);
    peer.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\n\r\n${OK}`);
    await ex.finished;
    assert.deepEqual(ex.events, ['head 200', 'end']);
    assert.equal(ex.body, 'ok');
    conn.destroy();
  });

  test('an upgrade refused with a 200 is an ordinary response', async () => {
    const { conn, owner, peer } = await connect();
    const ex = new Exchange();
    conn.dispatch(ex, 'GET', '/ws', headers(['connection', 'upgrade'], ['upgrade', 'websocket']), 0, true);
    await peer.heads(1);
    peer.write(OK);
    await ex.finished;
    assert.deepEqual(ex.events, ['head 200', 'end']);
    assert.deepEqual(owner.events, ['connected', 'done reusable']);
    conn.destroy();
  });

  test('a 101 to an upgrade hands the socket and the bytes after the head to the handler; the connection lets go of it', async () => {
    const { conn, owner, peer } = await connect();
    const ex = new Exchange();
    conn.dispatch(ex, 'GET', '/ws', headers(['connection', 'upgrade'], ['upgrade', 'websocket']), 0, true);
    await peer.heads(1);
    peer.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\nfirst frame');
    await ex.finished;
    assert.deepEqual(ex.events, ['upgrade 101']);
    const up = ex.upgrade!;
    assert.equal(up.headers.get('upgrade'), 'websocket');
    assert.equal(up.head.toString(), 'first frame');
    assert.equal(up.socket, conn.socket);
    assert.deepEqual(owner.events, ['connected', 'closed']);
    assert.equal(conn.closed, true);
    // The tunnel owns the socket: destroying the connection leaves it open.
    conn.destroy();
    assert.equal(up.socket.destroyed, false);
    up.socket.write('to server');
    await peer.waitFor('to server');
    const read = new Promise<string>((resolve) => up.socket.once('data', (d: Buffer) => resolve(d.toString())));
    peer.write('to client');
    assert.equal(await read, 'to client');
    up.socket.on('error', () => {});
    peer.socket.destroy();
    await new Promise((resolve) => up.socket.once('close', resolve));
    await tick();
    assert.deepEqual(owner.events, ['connected', 'closed'], 'the pool hears of the connection once');
    assert.equal(ex.reset, null);
  });

  test('a chunked request body: an empty chunk writes nothing, one terminator however often the body is ended, and the next request follows it', async () => {
    const { conn, owner, peer } = await connect();
    const ex = new Exchange();
    conn.dispatch(ex, 'POST', '/up', headers(), -1, false);
    assert.equal(conn.writeBody(Buffer.alloc(0)), true);
    assert.equal(conn.writeBody(Buffer.from('abc')), true);
    conn.endBody(null);
    conn.endBody(null);
    await peer.waitFor('0\r\n\r\n');
    peer.write(OK);
    await ex.finished;
    assert.deepEqual(owner.events, ['connected', 'done reusable']);
    // Neither body bytes nor an end from a request that is over reach the wire.
    assert.equal(conn.writeBody(Buffer.from('late')), true);
    conn.endBody(null);
    const next = new Exchange();
    conn.dispatch(next, 'GET', '/next', headers(), 0, false);
    await peer.waitFor('GET /next HTTP/1.1\r\nhost: backend\r\n\r\n');
    assert.equal(peer.text(), 'POST /up HTTP/1.1\r\nhost: backend\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\nhost: backend\r\n\r\n');
    peer.write(OK);
    await next.finished;
    conn.destroy();
  });

  test('a request body given before its head was sent reaches the server as it was when given', async () => {
    const { conn, peer } = await connect();
    const ex = new Exchange();
    conn.dispatch(ex, 'POST', '/up', headers(), 3, false);
    const body = Buffer.from('abc');
    conn.writeBody(body);
    body.write('xyz');
    conn.endBody(null);
    await peer.waitFor('\r\n\r\nabc');
    peer.write(OK);
    await ex.finished;
    conn.destroy();
  });

  test('a response that ends before the request body: the exchange is done when the body ends, not before', async () => {
    const { conn, owner, peer } = await connect();
    const ex = new Exchange();
    conn.dispatch(ex, 'POST', '/up', headers(), -1, false);
    conn.writeBody(Buffer.from('a'));
    await peer.waitFor('1\r\na\r\n');
    peer.write(OK);
    await ex.finished;
    await tick();
    assert.deepEqual(owner.events, ['connected'], 'the request is still being sent');
    conn.endBody(null);
    assert.deepEqual(owner.events, ['connected', 'done reusable']);
    conn.destroy();
  });

  test('bytes after a complete response while the request is still sent make the connection not reusable', async () => {
    const { conn, owner, peer } = await connect();
    const ex = new Exchange();
    conn.dispatch(ex, 'POST', '/up', headers(), -1, false);
    conn.writeBody(Buffer.from('a'));
    await peer.waitFor('1\r\na\r\n');
    peer.write(`${OK}HTTP/1.1 200 OK\r\n`);
    await ex.finished;
    await tick();
    assert.deepEqual(ex.events, ['head 200', 'end']);
    conn.endBody(null);
    assert.deepEqual(owner.events, ['connected', 'done not reusable']);
    conn.destroy();
  });

  test('a pool may dispatch the next request while hearing the last one end: it is sent', async () => {
    const { conn, owner, peer } = await connect();
    const second = new Exchange();
    owner.onDone = (c, reusable) => {
      owner.onDone = null;
      if (reusable) c.dispatch(second, 'GET', '/second', headers(), 0, false);
    };
    const first = new Exchange();
    conn.dispatch(first, 'GET', '/first', headers(), 0, false);
    await peer.heads(1);
    peer.write(OK);
    await peer.heads(2);
    assert.ok(peer.text().endsWith('GET /second HTTP/1.1\r\nhost: backend\r\n\r\n'));
    peer.write(OK);
    await second.finished;
    assert.deepEqual(second.events, ['head 200', 'end']);
    conn.destroy();
  });

  test('a head split over two reads is read whole', async () => {
    const { conn, peer } = await connect();
    const ex = new Exchange();
    conn.dispatch(ex, 'GET', '/', headers(), 0, false);
    await peer.heads(1);
    peer.write('HTTP/1.1 200 OK\r\ncontent-');
    await new Promise((resolve) => setTimeout(resolve, 30));
    peer.write('length: 2\r\n\r\nok');
    await ex.finished;
    assert.deepEqual(ex.events, ['head 200', 'end']);
    assert.equal(ex.body, 'ok');
    conn.destroy();
  });

  test('a reset after the head is reported after headers; a malformed head is a protocol error', async () => {
    {
      const { conn, owner, peer } = await connect();
      const ex = new Exchange();
      conn.dispatch(ex, 'GET', '/', headers(), 0, false);
      await peer.heads(1);
      peer.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nab');
      await peer.waitFor('\r\n\r\n');
      await new Promise((resolve) => setTimeout(resolve, 20));
      peer.socket.destroy();
      await ex.finished;
      assert.deepEqual(ex.reset, { reason: 'connection termination', afterHeaders: true });
      await owner.next('closed');
    }
    {
      const { conn, peer } = await connect();
      const ex = new Exchange();
      conn.dispatch(ex, 'GET', '/', headers(), 0, false);
      await peer.heads(1);
      peer.write('HTTP/1.1 2x0 OK\r\n\r\n');
      await ex.finished;
      assert.deepEqual(ex.reset, { reason: 'protocol error', afterHeaders: false });
      assert.equal(conn.closed, true);
    }
  });

  test('a handler that throws on a body chunk ends the exchange as a connection termination', async () => {
    const { conn, owner, peer } = await connect();
    const ex = new Exchange();
    ex.onData = () => {
      throw new Error('receiver failed');
    };
    conn.dispatch(ex, 'GET', '/', headers(), 0, false);
    await peer.heads(1);
    peer.write(OK);
    await ex.finished;
    assert.deepEqual(ex.reset, { reason: 'connection termination', afterHeaders: true });
    assert.equal(conn.closed, true);
    await peer.closed;
    await owner.next('closed');
  });

  test('bytes from an idle connection close it: nobody asked for them', async () => {
    const { conn, owner, peer } = await connect();
    const ex = new Exchange();
    conn.dispatch(ex, 'GET', '/', headers(), 0, false);
    await peer.heads(1);
    peer.write(OK);
    await ex.finished;
    peer.write('HTTP/1.1 200 OK\r\n\r\n');
    await peer.closed;
    await owner.next('closed');
    assert.equal(conn.closed, true);
  });

  test('reading pauses while the handler asks it to, and until resumed; a closed connection stays paused', async () => {
    const { conn, peer } = await connect();
    const ex = new Exchange();
    conn.dispatch(ex, 'GET', '/', headers(), 0, false);
    await peer.heads(1);
    ex.accept = false;
    peer.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nab');
    await new Promise<void>((resolve) => (ex.onData = () => resolve()));
    ex.onData = null;
    await tick();
    assert.equal(conn.socket.isPaused(), true, 'the handler refused the chunk');
    ex.accept = true;
    conn.resumeResponse();
    assert.equal(conn.socket.isPaused(), false);
    peer.write('cd');
    await ex.finished;
    assert.equal(ex.body, 'abcd');
    conn.pauseResponse();
    assert.equal(conn.socket.isPaused(), true);
    conn.destroy();
    conn.resumeResponse();
    assert.equal(conn.socket.isPaused(), true);
  });

  test('a connection that cannot connect reports the failure, with Envoy\'s text, before its close', async () => {
    const owner = new Owner();
    const port = await deadPort();
    const conn = new Http1ClientConnection(new HostImpl({ address: '127.0.0.1', port }), owner, { timeoutMs: 5000, tls: null }, 64 * 1024);
    await owner.connected;
    await owner.next('closed');
    assert.deepEqual(owner.events, ['connect failed: remote connection failure: delayed connect error: Connection refused', 'closed']);
    assert.equal(conn.closed, true);
  });
});
