/**
 * The HTTP/2 session pool of a cluster, driven directly against real node:http2 servers on
 * loopback: which protocol a request speaks upstream, streams sharing a session, new sessions
 * when a session is full (the cluster's `maxConcurrentStreams`, the peer's
 * SETTINGS_MAX_CONCURRENT_STREAMS, `maxRequestsPerConnection`), `maxConnections` and the pending
 * limit, connect failures failing the requests nothing else will take, idle timeout, GOAWAY, and
 * close, destroy and drained hosts — each seen as the server sees it (sessions, streams) and as
 * the cluster counts it.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { Http2ClusterPool, upstreamProtocol } from '../../../src/proxy/upstream/pool-http2.js';
import { createCluster } from '../../../src/proxy/upstream/cluster.js';
import type { Cluster } from '../../../src/proxy/upstream/cluster.js';
import { HeaderList } from '../../../src/proxy/http/headers.js';
import type { PendingTicket, PoolClient, ResetReason, ResponseHandler, UpstreamStream } from '../../../src/proxy/upstream/pool.js';
import type { ConnectionPoolConfig } from '../../../src/snapshot/index.js';
import { withDefaults } from '../../../src/snapshot/cluster-defaults.js';
import { compileUpstreamTls } from '../../../src/proxy/upstream/upstream-tls.js';
import { CompiledCache } from '../../../src/proxy/tls/compiled-cache.js';
import { WorkloadSecrets } from '../../../src/proxy/tls/workload-secrets.js';
import { deadPort } from '../helpers.js';
import { authority } from '../../helpers/test-pki.js';

/** Resolves once `cond` holds, checking after each turn of the event loop. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
  assert.ok(cond(), `never happened: ${what}`);
}

/** Resolves after the streams that just ended were handed back to their session ('close' follows 'end'). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** An HTTP/2 backend that numbers its sessions and answers `session <n>`, or holds streams until released. */
class Backend {
  readonly server: http2.Http2Server;
  port = 0;
  /** Sessions accepted, in order. */
  readonly sessions: http2.ServerHttp2Session[] = [];
  closedSessions = 0;
  /** The session number each stream arrived on, in arrival order. */
  readonly streamSessions: number[] = [];
  hold = false;
  private readonly held: [http2.ServerHttp2Stream, number][] = [];

  constructor(settings: http2.Settings = {}) {
    this.server = http2.createServer({ settings });
    this.server.on('session', (s) => {
      this.sessions.push(s);
      s.on('close', () => this.closedSessions++);
      s.on('error', () => {});
    });
    this.server.on('stream', (stream) => {
      const n = this.sessions.indexOf(stream.session as http2.ServerHttp2Session) + 1;
      this.streamSessions.push(n);
      stream.on('error', () => {});
      if (this.hold) this.held.push([stream, n]);
      else answer(stream, n);
    });
  }

  async listen(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  get heldCount(): number {
    return this.held.length;
  }

  release(): void {
    for (const [stream, n] of this.held.splice(0)) answer(stream, n);
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function answer(stream: http2.ServerHttp2Stream, n: number): void {
  if (stream.destroyed) return;
  stream.respond({ ':status': 200 });
  stream.end(`session ${n}`);
}

/**
 * A TCP hop in front of a backend that never closes a connection towards the client, whatever
 * either side does: a server that sends GOAWAY and leaves the socket open (node:http2's own server
 * closes once the client's GOAWAY comes back).
 */
class HoldOpen {
  readonly server: net.Server;
  port = 0;
  private readonly sockets = new Set<net.Socket>();

  constructor(target: number) {
    this.server = net.createServer({ allowHalfOpen: true }, (client) => {
      const upstream = net.connect({ port: target, host: '127.0.0.1', allowHalfOpen: true });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => {});
      }
      client.pipe(upstream, { end: false });
      upstream.pipe(client, { end: false });
    });
  }

  async listen(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** What one request heard: a response, a reset, or a pool failure. */
interface Outcome {
  status?: number;
  body?: string;
  reset?: ResetReason;
  failure?: { reason: ResetReason; transport: string };
}

/** A request through the pool: dispatched as soon as the pool hands it a stream. */
class Request implements PoolClient, ResponseHandler {
  private status = 0;
  private body = '';
  private settle!: (o: Outcome) => void;
  readonly outcome = new Promise<Outcome>((resolve) => (this.settle = resolve));
  settled = false;
  ready = false;
  /** What `newStream` returned. */
  ticket: PendingTicket | null | 'overflow' = null;

  constructor(readonly path = '/') {}

  onPoolReady(stream: UpstreamStream): void {
    this.ready = true;
    const h = new HeaderList();
    h.push('host', 'host', 'reviews');
    stream.dispatch(this, 'GET', this.path, h, 0, false);
  }
  onPoolFailure(reason: ResetReason, transport: string): void {
    this.done({ failure: { reason, transport } });
  }
  onResponseHead(status: number): void {
    this.status = status;
  }
  onResponseData(chunk: Buffer): boolean {
    this.body += chunk.toString();
    return true;
  }
  onResponseEnd(): void {
    this.done({ status: this.status, body: this.body });
  }
  onUpstreamReset(reason: ResetReason): void {
    this.done({ reset: reason });
  }
  onUpstreamDrain(): void {}
  onUpgrade(): void {
    throw new Error('no upgrades over HTTP/2');
  }
  private done(o: Outcome): void {
    this.settled = true;
    this.settle(o);
  }
}

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function backend(settings: http2.Settings = {}): Promise<Backend> {
  const b = await new Backend(settings).listen();
  closers.push(() => b.close());
  return b;
}

async function holdOpen(target: number): Promise<HoldOpen> {
  const h = await new HoldOpen(target).listen();
  closers.push(() => h.close());
  return h;
}

function poolFor(port: number, connectionPool: Partial<ConnectionPoolConfig> = {}): { cluster: Cluster; pool: Http2ClusterPool } {
  const cluster = createCluster({ name: 'reviews', protocol: 'http2', endpoints: [{ address: '127.0.0.1', port }], connectionPool });
  const pool = new Http2ClusterPool(cluster, { maxResponseHeaderBytes: 60 * 1024 });
  closers.push(() => {
    pool.destroy();
    cluster.close();
  });
  return { cluster, pool };
}

function send(pool: Http2ClusterPool, cluster: Cluster, path = '/'): Request {
  const r = new Request(path);
  r.ticket = pool.newStream(cluster.endpoints[0], r);
  return r;
}

describe('upstreamProtocol', () => {
  const cfg = (protocol: 'http1' | 'http2' | 'auto' | 'tcp', connectionPool: Partial<ConnectionPoolConfig> = {}) =>
    withDefaults({ name: 'c', protocol, connectionPool });
  const h1 = { protocol: 'HTTP/1.1', upgrade: null };
  const h2 = { protocol: 'HTTP/2', upgrade: null };

  test('an upgrade (WebSocket) always goes upstream as HTTP/1.1, even to an http2 port', () => {
    assert.equal(upstreamProtocol(cfg('http2'), { protocol: 'HTTP/1.1', upgrade: 'websocket' }), 'http1');
    assert.equal(upstreamProtocol(cfg('auto', { useClientProtocol: true }), { protocol: 'HTTP/2', upgrade: 'websocket' }), 'http1');
  });

  test('an http2 port speaks HTTP/2 whatever the downstream, also without one', () => {
    assert.equal(upstreamProtocol(cfg('http2'), h1), 'http2');
    assert.equal(upstreamProtocol(cfg('http2'), h2), 'http2');
    assert.equal(upstreamProtocol(cfg('http2'), undefined), 'http2');
  });

  test('useClientProtocol follows the downstream over the port protocol', () => {
    assert.equal(upstreamProtocol(cfg('http2', { useClientProtocol: true }), h1), 'http1');
    assert.equal(upstreamProtocol(cfg('http1', { useClientProtocol: true, h2Upgrade: true }), h1), 'http1');
    assert.equal(upstreamProtocol(cfg('http1', { useClientProtocol: true }), h2), 'http2');
    assert.equal(upstreamProtocol(cfg('tcp', { useClientProtocol: true }), undefined), 'http1');
  });

  test('an http1 port upgrades to HTTP/2 only under h2UpgradePolicy', () => {
    assert.equal(upstreamProtocol(cfg('http1', { h2Upgrade: true }), h1), 'http2');
    assert.equal(upstreamProtocol(cfg('http1'), h1), 'http1');
    assert.equal(upstreamProtocol(cfg('http1'), h2), 'http1');
  });

  test('a sniffed (auto) port follows the downstream and ignores h2UpgradePolicy', () => {
    assert.equal(upstreamProtocol(cfg('auto'), h1), 'http1');
    assert.equal(upstreamProtocol(cfg('auto'), h2), 'http2');
    assert.equal(upstreamProtocol(cfg('auto', { h2Upgrade: true }), h1), 'http1');
    assert.equal(upstreamProtocol(cfg('auto'), undefined), 'http1');
  });

  test('any other port speaks HTTP/1.1', () => {
    assert.equal(upstreamProtocol(cfg('tcp'), h2), 'http1');
    assert.equal(upstreamProtocol(cfg('tcp', { h2Upgrade: true }), h1), 'http1');
  });
});

describe('HTTP/2 session pool', { timeout: 20_000 }, () => {
  test('requests in sequence share one session, counted once as an HTTP/2 connection', async () => {
    const b = await backend();
    const { cluster, pool } = poolFor(b.port);
    const host = cluster.endpoints[0];
    const first = send(pool, cluster, '/1');
    assert.notEqual(first.ticket, null, 'the first request waits for the session to connect');
    assert.notEqual(first.ticket, 'overflow');
    assert.equal(pool.connectionCount(host), 1);
    assert.deepEqual(await first.outcome, { status: 200, body: 'session 1' });
    for (const path of ['/2', '/3']) {
      const r = send(pool, cluster, path);
      assert.equal(r.ticket, null, 'a connected session with room takes the request at once');
      assert.deepEqual(await r.outcome, { status: 200, body: 'session 1' });
    }
    assert.equal(b.sessions.length, 1);
    assert.equal(pool.connectionCount(host), 1);
    assert.equal(cluster.counters.get('upstream_cx_total'), 1);
    assert.equal(cluster.counters.get('upstream_cx_http2_total'), 1);
    assert.equal(host.stats.cx_total, 1);
    assert.equal(host.stats.cx_active, 1);
    assert.equal(pool.connectionCount(cluster.endpoints[0]), 1);
  });

  test('with no limit, concurrent requests are streams of one session', async () => {
    const b = await backend();
    b.hold = true;
    const { cluster, pool } = poolFor(b.port);
    const rs = [1, 2, 3, 4].map((i) => send(pool, cluster, `/${i}`));
    await until(() => b.heldCount === 4, 'four streams at the server');
    assert.equal(b.sessions.length, 1);
    b.release();
    for (const r of rs) assert.deepEqual(await r.outcome, { status: 200, body: 'session 1' });
  });

  test('maxConcurrentStreams: requests beyond what connecting sessions will take open one more session', async () => {
    const b = await backend();
    b.hold = true;
    const { cluster, pool } = poolFor(b.port, { maxConcurrentStreams: 2 });
    const host = cluster.endpoints[0];
    const rs = [1, 2, 3, 4].map((i) => send(pool, cluster, `/${i}`));
    // Two sessions on the way take four requests: no third.
    assert.equal(pool.connectionCount(host), 2);
    await until(() => b.heldCount === 4, 'four streams at the server');
    assert.equal(b.sessions.length, 2);
    assert.deepEqual([...b.streamSessions].sort(), [1, 1, 2, 2]);
    // A fifth finds both full and opens a third.
    const fifth = send(pool, cluster, '/5');
    await until(() => b.heldCount === 5, 'five streams at the server');
    assert.equal(b.sessions.length, 3);
    assert.equal(b.streamSessions[4], 3);
    b.release();
    for (const r of [...rs, fifth]) assert.equal((await r.outcome).status, 200);
    assert.equal(cluster.counters.get('upstream_cx_http2_total'), 3);
  });

  test("the peer's SETTINGS_MAX_CONCURRENT_STREAMS caps a session below the cluster's limit", async () => {
    const b = await backend({ maxConcurrentStreams: 1 });
    const { cluster, pool } = poolFor(b.port);
    assert.deepEqual(await send(pool, cluster).outcome, { status: 200, body: 'session 1' });
    b.hold = true;
    const rs = [send(pool, cluster, '/a'), send(pool, cluster, '/b')];
    await until(() => b.heldCount === 2, 'two streams at the server');
    assert.equal(b.sessions.length, 2);
    assert.deepEqual(b.streamSessions, [1, 1, 2]);
    b.release();
    for (const r of rs) assert.equal((await r.outcome).status, 200);
  });

  test('maxRequestsPerConnection retires a session once its last request is done, and counts it', async () => {
    const b = await backend();
    const { cluster, pool } = poolFor(b.port, { maxRequestsPerConnection: 2 });
    const bodies: string[] = [];
    for (let i = 0; i < 5; i++) {
      bodies.push((await send(pool, cluster).outcome).body!);
      await nextTurn();
    }
    assert.deepEqual(bodies, ['session 1', 'session 1', 'session 2', 'session 2', 'session 3']);
    assert.equal(cluster.counters.get('upstream_cx_max_requests'), 2);
    await until(() => b.closedSessions === 2, 'the two retired sessions closed');
    assert.equal(pool.connectionCount(cluster.endpoints[0]), 1);
  });

  test('maxRequestsPerConnection: the last request a session takes, handed out as the one before it ends, is not refused', async () => {
    const b = await backend();
    const { cluster, pool } = poolFor(b.port, { maxRequestsPerConnection: 2 });
    const outcomes: Outcome[] = [];
    // Each request is sent as soon as the previous response ends, before its stream is handed back.
    for (let i = 0; i < 4; i++) outcomes.push(await send(pool, cluster).outcome);
    assert.deepEqual(outcomes, [
      { status: 200, body: 'session 1' },
      { status: 200, body: 'session 1' },
      { status: 200, body: 'session 2' },
      { status: 200, body: 'session 2' },
    ]);
    await nextTurn();
    assert.equal(cluster.counters.get('upstream_cx_max_requests'), 2);
    await until(() => b.closedSessions === 2, 'both retired sessions closed');
    assert.equal(pool.connectionCount(cluster.endpoints[0]), 0);
  });

  test('maxRequestsPerConnection bounds the streams one session is given at once', async () => {
    const b = await backend();
    b.hold = true;
    const { cluster, pool } = poolFor(b.port, { maxRequestsPerConnection: 2 });
    const rs = [1, 2, 3].map((i) => send(pool, cluster, `/${i}`));
    await until(() => b.heldCount === 3, 'three streams at the server');
    assert.equal(b.sessions.length, 2);
    assert.deepEqual([...b.streamSessions].sort(), [1, 1, 2]);
    b.release();
    for (const r of rs) assert.equal((await r.outcome).status, 200);
  });

  test('maxConnections: a request with no room waits for a stream of the one session, not a new connection', async () => {
    const b = await backend();
    b.hold = true;
    const { cluster, pool } = poolFor(b.port, { maxConnections: 1, maxConcurrentStreams: 1 });
    const first = send(pool, cluster, '/1');
    await until(() => b.heldCount === 1, 'the first stream at the server');
    const second = send(pool, cluster, '/2');
    assert.notEqual(second.ticket, null);
    assert.equal(pool.connectionCount(cluster.endpoints[0]), 1);
    assert.equal(cluster.stats().upstream_rq_pending_active, 1);
    assert.equal(cluster.stats().upstream_cx_overflow, 1);
    b.release();
    assert.equal((await first.outcome).status, 200);
    await until(() => b.heldCount === 1, 'the second stream at the server');
    b.release();
    assert.deepEqual(await second.outcome, { status: 200, body: 'session 1' });
    assert.equal(b.sessions.length, 1);
    assert.equal(cluster.stats().upstream_rq_pending_active, 0);
  });

  test('a host without any connection opens one even when maxConnections is taken', async () => {
    const b = await backend();
    const { cluster, pool } = poolFor(b.port, { maxConnections: 1 });
    assert.ok(cluster.limits.tryAcquireConnection(), 'another pool takes the only slot');
    const r = send(pool, cluster);
    assert.deepEqual(await r.outcome, { status: 200, body: 'session 1' });
  });

  test('a full pending queue answers overflow and opens nothing for it', async () => {
    const b = await backend();
    const { cluster, pool } = poolFor(b.port, { http1MaxPendingRequests: 1 });
    const first = send(pool, cluster);
    const second = send(pool, cluster);
    assert.equal(second.ticket, 'overflow');
    assert.equal(cluster.stats().upstream_rq_pending_overflow, 1);
    assert.equal(pool.connectionCount(cluster.endpoints[0]), 1);
    assert.deepEqual(await first.outcome, { status: 200, body: 'session 1' });
    assert.equal(second.settled, false);
  });

  test('a waiting request goes out as soon as the connection is up, without waiting for the peer\'s SETTINGS', async () => {
    // A peer that reads but never answers: the request's HEADERS frame still arrives.
    let received = Buffer.alloc(0);
    const quiet = net.createServer((socket) => socket.on('data', (d: Buffer) => (received = Buffer.concat([received, d]))));
    const sockets = new Set<net.Socket>();
    quiet.on('connection', (c) => sockets.add(c));
    quiet.listen(0, '127.0.0.1');
    await once(quiet, 'listening');
    closers.push(() => {
      for (const c of sockets) c.destroy();
      return new Promise<void>((resolve) => quiet.close(() => resolve()));
    });
    const { cluster, pool } = poolFor((quiet.address() as net.AddressInfo).port);
    const r = send(pool, cluster);
    await until(() => r.ready, 'the request was handed a stream');
    const frameTypes = (): number[] => {
      const types: number[] = [];
      // The 24-byte client preface, then frames: a 3-byte length, a type, flags, a stream id.
      for (let at = 24; at + 9 <= received.length; at += 9 + received.readUIntBE(at, 3)) types.push(received[at + 3]);
      return types;
    };
    await until(() => frameTypes().includes(0x1), 'a HEADERS frame at the peer');
  });

  test('a refused connect fails every waiting request with the reason and counts the failure', async () => {
    const { cluster, pool } = poolFor(await deadPort());
    const host = cluster.endpoints[0];
    const rs = [1, 2, 3].map((i) => send(pool, cluster, `/${i}`));
    for (const r of rs) {
      const o = await r.outcome;
      assert.equal(o.failure?.reason, 'remote connection failure');
      assert.match(o.failure.transport, /refused/i);
    }
    assert.equal(host.stats.cx_connect_fail, 1);
    assert.equal(host.stats.cx_active, 0);
    assert.equal(cluster.counters.get('upstream_cx_connect_fail'), 1);
    assert.equal(cluster.counters.get('upstream_cx_connect_timeout'), 0);
    assert.equal(cluster.counters.get('upstream_cx_destroy'), 1);
    const stats = cluster.stats();
    assert.equal(stats.upstream_rq_pending_failure_eject, 3);
    assert.equal(stats.upstream_rq_pending_active, 0);
    assert.equal(pool.connectionCount(host), 0);
  });

  test('a connect that does not finish in connectTimeout fails the waiting request as a connection timeout', async () => {
    // A TCP server that never answers the TLS handshake: the connect timeout covers the handshake.
    const silent = net.createServer(() => {});
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const sockets = new Set<net.Socket>();
    silent.on('connection', (s) => sockets.add(s));
    closers.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const { cluster, pool } = poolFor((silent.address() as net.AddressInfo).port, { connectTimeoutMs: 50 });
    cluster.tls = compileUpstreamTls({ mode: 'SIMPLE', insecureSkipVerify: true }, 'reviews', new WorkloadSecrets(), new CompiledCache());
    const o = await send(pool, cluster).outcome;
    assert.equal(o.failure?.reason, 'connection timeout');
    assert.equal(cluster.counters.get('upstream_cx_connect_fail'), 1);
    assert.equal(cluster.counters.get('upstream_cx_connect_timeout'), 1);
  });

  test('a second session that cannot connect fails only the request no live session has room for', async () => {
    const b = await backend();
    b.hold = true;
    const { cluster, pool } = poolFor(b.port, { maxConcurrentStreams: 1 });
    const first = send(pool, cluster, '/1');
    await until(() => b.heldCount === 1, 'the first stream at the server');
    // The listener goes away; the live session stays.
    await new Promise<void>((resolve) => {
      b.server.close();
      resolve();
    });
    const second = send(pool, cluster, '/2');
    const o = await second.outcome;
    assert.equal(o.failure?.reason, 'remote connection failure');
    assert.equal(first.settled, false);
    assert.equal(pool.connectionCount(cluster.endpoints[0]), 1);
    b.release();
    assert.deepEqual(await first.outcome, { status: 200, body: 'session 1' });
  });

  test('a session that cannot connect while another is still connecting fails only the requests the other cannot take', async () => {
    // Over TLS: the first connection is dropped during its handshake; the second is held until
    // the first failure reached the pool, then handed to a real HTTP/2 server.
    const leaf = authority('pool').issue('h2-server', ['DNS:reviews']);
    const secure = http2.createSecureServer({ cert: leaf.cert, key: leaf.key });
    secure.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      stream.end('secure');
    });
    let accepted = 0;
    let heldBack: net.Socket | null = null;
    const front = net.createServer((socket) => {
      if (++accepted === 1) socket.resetAndDestroy();
      else heldBack = socket;
    });
    front.listen(0, '127.0.0.1');
    await once(front, 'listening');
    closers.push(() => {
      heldBack?.destroy();
      secure.close();
      return new Promise<void>((resolve) => front.close(() => resolve()));
    });
    const { cluster, pool } = poolFor((front.address() as net.AddressInfo).port, { maxConcurrentStreams: 1 });
    cluster.tls = compileUpstreamTls({ mode: 'SIMPLE', insecureSkipVerify: true }, 'reviews', new WorkloadSecrets(), new CompiledCache());
    const rs = [send(pool, cluster, '/1'), send(pool, cluster, '/2')];
    assert.equal(pool.connectionCount(cluster.endpoints[0]), 2);
    await until(() => rs.some((r) => r.settled) && heldBack !== null, 'one request failed, the second connection waits');
    const failed = rs.filter((r) => r.settled);
    assert.equal(failed.length, 1, 'the session still connecting keeps the other request');
    assert.equal((await failed[0].outcome).failure?.reason, 'remote connection failure');
    secure.emit('connection', heldBack);
    const served = rs.find((r) => !failed.includes(r))!;
    assert.deepEqual(await served.outcome, { status: 200, body: 'secure' });
  });

  test('an idle session closes after idleTimeout and the next request opens a new one', async () => {
    const b = await backend();
    const { cluster, pool } = poolFor(b.port, { idleTimeoutMs: 30 });
    const host = cluster.endpoints[0];
    assert.deepEqual(await send(pool, cluster).outcome, { status: 200, body: 'session 1' });
    await until(() => b.closedSessions === 1, 'the idle session closed');
    await until(() => pool.connectionCount(host) === 0, 'the pool forgot the session');
    assert.equal(cluster.counters.get('upstream_cx_idle_timeout'), 1);
    assert.equal(cluster.counters.get('upstream_cx_destroy'), 1);
    assert.equal(host.stats.cx_active, 0);
    assert.deepEqual(await send(pool, cluster).outcome, { status: 200, body: 'session 2' });
    assert.equal(host.stats.cx_active, 1);
  });

  test('after GOAWAY the session finishes its stream and a new session takes the next requests', async () => {
    const b = await backend();
    b.hold = true;
    const { cluster, pool } = poolFor(b.port);
    const first = send(pool, cluster);
    await until(() => b.heldCount === 1, 'the stream at the server');
    // GOAWAY goes out before the response, so the client has heard it when the response ends.
    b.sessions[0].goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    b.release();
    assert.deepEqual(await first.outcome, { status: 200, body: 'session 1' });
    b.hold = false;
    assert.deepEqual(await send(pool, cluster).outcome, { status: 200, body: 'session 2' });
  });

  test('GOAWAY on an idle session closes it at once though the server leaves the connection open: no longer counted, and under maxConnections 1 the next request gets a new session', async () => {
    const b = await backend();
    const { cluster, pool } = poolFor(b.port, { maxConnections: 1 });
    const host = cluster.endpoints[0];
    assert.deepEqual(await send(pool, cluster).outcome, { status: 200, body: 'session 1' });
    await nextTurn();
    assert.equal(cluster.stats().upstream_cx_active, 1);
    assert.equal(cluster.stats()['circuit_breakers.default.remaining_cx'], 0);
    // GOAWAY alone: the server takes no new streams but closes nothing itself.
    b.sessions[0].goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    await until(() => pool.connectionCount(host) === 0, 'the pool closed the session that heard GOAWAY');
    assert.equal(b.closedSessions, 0, 'the server left its side open: the pool closed the session itself');
    assert.equal(cluster.stats().upstream_cx_active, 0);
    assert.equal(cluster.stats()['circuit_breakers.default.remaining_cx'], 1);
    assert.equal(host.stats.cx_active, 0);
    assert.equal(cluster.counters.get('upstream_cx_destroy'), 1);
    const next = send(pool, cluster);
    await until(() => next.settled, 'the request after GOAWAY answered');
    assert.deepEqual(await next.outcome, { status: 200, body: 'session 2' });
    assert.equal(cluster.stats().upstream_cx_overflow, 0);
    assert.equal(cluster.stats().upstream_cx_active, 1);
  });

  test('GOAWAY while a stream is active: requests meanwhile go to a new session, the stream completes, then its session closes', async () => {
    const b = await backend();
    b.hold = true;
    const { cluster, pool } = poolFor((await holdOpen(b.port)).port);
    const host = cluster.endpoints[0];
    const first = send(pool, cluster, '/1');
    await until(() => b.heldCount === 1, 'the first stream at the server');
    b.sessions[0].goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    // The PING's answer comes after the client has read the GOAWAY sent before it.
    await new Promise<void>((resolve) => b.sessions[0].ping(() => resolve()));
    const second = send(pool, cluster, '/2');
    await until(() => b.heldCount === 2, 'the second stream at the server');
    assert.deepEqual(b.streamSessions, [1, 2]);
    assert.equal(pool.connectionCount(host), 2);
    b.release();
    assert.deepEqual(await first.outcome, { status: 200, body: 'session 1' });
    assert.deepEqual(await second.outcome, { status: 200, body: 'session 2' });
    await until(() => pool.connectionCount(host) === 1, 'the session that heard GOAWAY closed once its stream was done');
    assert.equal(cluster.stats().upstream_cx_active, 1);
    assert.equal(cluster.counters.get('upstream_cx_destroy'), 1);
    const third = send(pool, cluster, '/3');
    assert.equal(third.ticket, null, 'the new session takes the next request at once');
    b.hold = false;
    assert.deepEqual(await third.outcome, { status: 200, body: 'session 2' });
  });

  test('maxConnections 1 and GOAWAY while a stream is active: a new request waits, and gets a new session as soon as the draining one closes', async () => {
    const b = await backend();
    b.hold = true;
    const { cluster, pool } = poolFor((await holdOpen(b.port)).port, { maxConnections: 1 });
    const host = cluster.endpoints[0];
    const first = send(pool, cluster, '/1');
    await until(() => b.heldCount === 1, 'the first stream at the server');
    b.sessions[0].goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    await new Promise<void>((resolve) => b.sessions[0].ping(() => resolve()));
    // The draining session holds the one connection slot until it closes, as in Envoy.
    const second = send(pool, cluster, '/2');
    assert.notEqual(second.ticket, null);
    assert.notEqual(second.ticket, 'overflow');
    assert.equal(pool.connectionCount(host), 1);
    assert.equal(cluster.stats().upstream_cx_overflow, 1);
    b.hold = false;
    b.release();
    assert.deepEqual(await first.outcome, { status: 200, body: 'session 1' });
    await until(() => second.settled, 'the waiting request answered once the draining session closed');
    assert.deepEqual(await second.outcome, { status: 200, body: 'session 2' });
    assert.equal(pool.connectionCount(host), 1);
    assert.equal(cluster.stats().upstream_cx_active, 1);
    assert.equal(cluster.stats().upstream_rq_pending_active, 0);
  });

  test('close lets streams in flight finish, then closes their sessions; requests after it open nothing', async () => {
    const b = await backend();
    b.hold = true;
    const { cluster, pool } = poolFor(b.port);
    const host = cluster.endpoints[0];
    const r = send(pool, cluster);
    await until(() => b.heldCount === 1, 'the stream at the server');
    pool.close();
    pool.close();
    const late = send(pool, cluster);
    assert.notEqual(late.ticket, 'overflow');
    assert.equal(pool.connectionCount(host), 1, 'no session opened for a request after close');
    b.release();
    assert.deepEqual(await r.outcome, { status: 200, body: 'session 1' });
    await until(() => b.closedSessions === 1, 'the session closed once idle');
    await until(() => pool.connectionCount(host) === 0, 'the pool forgot the session');
    assert.equal(late.settled, false);
    assert.equal(b.sessions.length, 1);
  });

  test('close closes an idle session at once', async () => {
    const b = await backend();
    const { cluster, pool } = poolFor(b.port);
    assert.equal((await send(pool, cluster).outcome).status, 200);
    await nextTurn();
    pool.close();
    await until(() => b.closedSessions === 1, 'the idle session closed');
  });

  test('destroy resets the streams in flight and closes their sessions', async () => {
    const b = await backend();
    b.hold = true;
    const { cluster, pool } = poolFor(b.port);
    const r = send(pool, cluster);
    await until(() => b.heldCount === 1, 'the stream at the server');
    pool.destroy();
    const o = await r.outcome;
    assert.ok(o.reset !== undefined, `a reset, not ${JSON.stringify(o)}`);
    await until(() => b.closedSessions === 1, 'the session closed');
    assert.equal(pool.connectionCount(cluster.endpoints[0]), 0);
  });

  test('a host that leaves the cluster has its idle sessions closed', async () => {
    const b = await backend();
    const { cluster, pool } = poolFor(b.port);
    const host = cluster.endpoints[0];
    assert.equal((await send(pool, cluster).outcome).status, 200);
    await nextTurn();
    cluster.update({ name: 'reviews', protocol: 'http2', endpoints: [] });
    await until(() => b.closedSessions === 1, 'the idle session closed');
    await until(() => pool.connectionCount(host) === 0, 'the pool forgot the session');
  });

  test('a request still waiting for a drained host is served on a new session, which closes once it is done', async () => {
    const b = await backend();
    b.hold = true;
    const { cluster, pool } = poolFor(b.port, { maxConcurrentStreams: 1 });
    const host = cluster.endpoints[0];
    const first = send(pool, cluster, '/1');
    await until(() => b.heldCount === 1, 'the first stream at the server');
    const second = send(pool, cluster, '/2');
    assert.notEqual(second.ticket, null);
    cluster.update({ name: 'reviews', protocol: 'http2', endpoints: [] });
    await until(() => b.heldCount === 2, 'the second stream at the server');
    b.release();
    assert.equal((await first.outcome).status, 200);
    assert.equal((await second.outcome).status, 200);
    await until(() => pool.connectionCount(host) === 0, 'every session of the drained host closed');
    await until(() => b.closedSessions === b.sessions.length, 'the server saw every session close');
  });

  test('a host that leaves the cluster has its busy sessions closed once their streams finish', async () => {
    const b = await backend();
    const { cluster, pool } = poolFor(b.port);
    const host = cluster.endpoints[0];
    assert.equal((await send(pool, cluster).outcome).status, 200);
    b.hold = true;
    const busy = send(pool, cluster);
    await until(() => b.heldCount === 1, 'the stream at the server');
    cluster.update({ name: 'reviews', protocol: 'http2', endpoints: [] });
    assert.equal(host.draining, true);
    b.release();
    assert.equal((await busy.outcome).status, 200);
    await until(() => b.closedSessions === 1, 'the drained session closed');
    await until(() => pool.connectionCount(host) === 0, 'the pool forgot the session');
  });
});
