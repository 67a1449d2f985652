/**
 * A cluster's HTTP/1.1 pool against real loopback servers: keep-alive reuse, the pending queue and
 * `maxConnections` (a host's only connection may exceed it), `maxRequestsPerConnection`, idle
 * timeouts, connections the server or the response closes, connect failures and timeouts with
 * their stats, and what close, destroy and a host leaving the cluster do to the connections.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { setImmediate as tick } from 'node:timers/promises';
import { HeaderList } from '../../../src/proxy/http/headers.js';
import { createCluster } from '../../../src/proxy/upstream/cluster.js';
import type { Cluster } from '../../../src/proxy/upstream/cluster.js';
import { ClusterPool } from '../../../src/proxy/upstream/pool-http1.js';
import type { Http1ClientConnection } from '../../../src/proxy/upstream/http1-client.js';
import type { PendingTicket, PoolClient, ResetReason, UpstreamStream } from '../../../src/proxy/upstream/pool.js';
import type { Endpoint } from '../../../src/proxy/upstream/types.js';
import type { ConnectionPoolConfig } from '../../../src/snapshot/index.js';
import { compileUpstreamTls } from '../../../src/proxy/upstream/upstream-tls.js';
import type { UpstreamTls } from '../../../src/proxy/upstream/upstream-tls.js';
import { CompiledCache } from '../../../src/proxy/tls/compiled-cache.js';
import { WorkloadSecrets } from '../../../src/proxy/tls/workload-secrets.js';
import { withDefaults } from '../../../src/snapshot/index.js';
import { authority } from '../../helpers/test-pki.js';
import { deadPort } from '../helpers.js';
import { Exchange, OK, PeerServer } from './http1-peer.js';
import type { Peer } from './http1-peer.js';

const NAME = 'outbound|8000||backend.default.svc.cluster.local';

/** One request through the pool: waits for a connection, then sends a GET and records the answer. */
class Request implements PoolClient {
  readonly exchange = new Exchange();
  conn: Http1ClientConnection | null = null;
  failure: { reason: ResetReason; transportFailure: string } | null = null;
  ticket: PendingTicket | null | 'overflow' = null;
  /** Settles when the request got a connection or failed to. */
  readonly placed: Promise<void>;
  private place!: () => void;

  constructor(private readonly path = '/') {
    this.placed = new Promise((resolve) => (this.place = resolve));
  }
  onPoolReady(stream: UpstreamStream): void {
    this.conn = stream as Http1ClientConnection;
    this.conn.dispatch(this.exchange, 'GET', this.path, HeaderList.from([['host', 'backend']]), 0, false);
    this.place();
  }
  onPoolFailure(reason: ResetReason, transportFailure: string): void {
    this.failure = { reason, transportFailure };
    this.place();
  }
}

function send(pool: ClusterPool, host: Endpoint, path = '/'): Request {
  const r = new Request(path);
  r.ticket = pool.newStream(host, r);
  return r;
}

/** Resolves with `p`, or fails naming `what` when it has not settled within five seconds. */
function within<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`never happened: ${what}`)), 5000).unref())]);
}

/** Sends a request and waits for its whole answer. */
async function fetch(pool: ClusterPool, host: Endpoint, path = '/'): Promise<Request> {
  const r = send(pool, host, path);
  await r.exchange.finished;
  assert.deepEqual(r.exchange.events, ['head 200', 'end'], path);
  return r;
}

describe('HTTP/1.1 cluster pool', () => {
  const servers: PeerServer[] = [];
  const pools: ClusterPool[] = [];

  async function setup(connectionPool: Partial<ConnectionPoolConfig> = {}, respond: ((peer: Peer) => string | null) | null = () => OK, ports: number[] = []): Promise<{ pool: ClusterPool; cluster: Cluster; server: PeerServer; host: Endpoint }> {
    const server = await new PeerServer(respond === null ? undefined : (p) => respond(p)).listen();
    servers.push(server);
    const cluster = createCluster({ name: NAME, endpoints: [server.port, ...ports].map((port) => ({ address: '127.0.0.1', port })), connectionPool });
    const pool = new ClusterPool(cluster, { maxResponseHeaderBytes: 64 * 1024 });
    pools.push(pool);
    return { pool, cluster, server, host: cluster.endpoints[0] };
  }

  after(async () => {
    for (const p of pools) p.destroy();
    for (const s of servers) await s.close();
  });

  test('keep-alive: requests one after another share one connection; closing the pool closes it and gives its slot back', async () => {
    const { pool, cluster, server, host } = await setup();
    const a = await fetch(pool, host, '/a');
    await tick();
    const b = await fetch(pool, host, '/b');
    assert.equal(a.conn, b.conn);
    assert.equal(b.ticket, null, 'an idle connection serves the request at once');
    assert.equal(server.peers.length, 1);
    assert.equal(pool.connectionCount(host), 1);
    const c = cluster.counters;
    assert.deepEqual([c.get('upstream_cx_total'), c.get('upstream_cx_http1_total'), c.get('upstream_cx_destroy')], [1, 1, 0]);
    assert.equal(cluster.limits.connections, 1);
    assert.deepEqual([host.stats.cx_total, host.stats.cx_active], [1, 1]);
    pool.close();
    await server.peers[0].closed;
    assert.equal(pool.connectionCount(host), 0);
    assert.equal(c.get('upstream_cx_destroy'), 1);
    assert.equal(cluster.limits.connections, 0);
    assert.equal(host.stats.cx_active, 0);
  });

  test('maxConnections 1: a second request waits for the one connection, counted as a connection overflow', async () => {
    const { pool, cluster, server, host } = await setup({ maxConnections: 1 });
    const a = send(pool, host, '/a');
    const b = send(pool, host, '/b');
    assert.notEqual(b.ticket, null);
    await a.exchange.finished;
    await b.exchange.finished;
    assert.deepEqual(b.exchange.events, ['head 200', 'end']);
    assert.equal(a.conn, b.conn);
    assert.equal(server.peers.length, 1);
    assert.equal(cluster.counters.get('upstream_cx_total'), 1);
    assert.equal(cluster.stats().upstream_cx_overflow, 1);
    assert.equal(cluster.limits.pendingRequests, 0);
  });

  test('maxConnections 1: a host with no connection still gets one while another host holds the slot', async () => {
    const other = await new PeerServer((_p) => OK).listen();
    servers.push(other);
    const { pool, cluster, server, host } = await setup({ maxConnections: 1 }, null, [other.port]);
    const a = send(pool, host, '/a');
    const peer = await server.peer(0);
    await peer.heads(1);
    const second = cluster.endpoints[1];
    await fetch(pool, second, '/b');
    assert.equal(other.peers.length, 1);
    peer.write(OK);
    await a.exchange.finished;
    assert.equal(cluster.counters.get('upstream_cx_total'), 2);
  });

  test('a request given up while its connection opens leaves that connection to the next request: no second one', async () => {
    const { pool, cluster, server, host } = await setup();
    const a = send(pool, host, '/a');
    assert.ok(a.ticket !== null && a.ticket !== 'overflow');
    pool.cancel(a.ticket);
    const b = send(pool, host, '/b');
    await b.exchange.finished;
    assert.equal(a.conn, null);
    assert.equal(cluster.counters.get('upstream_cx_total'), 1);
    assert.equal(server.peers.length, 1);
  });

  test('maxRequestsPerConnection 2: the connection retires after its second request', async () => {
    const { pool, cluster, server, host } = await setup({ maxRequestsPerConnection: 2 });
    const a = await fetch(pool, host, '/1');
    await tick();
    const b = await fetch(pool, host, '/2');
    await tick();
    assert.equal(a.conn, b.conn);
    assert.equal(cluster.counters.get('upstream_cx_max_requests'), 1);
    await server.peers[0].closed;
    const c = await fetch(pool, host, '/3');
    await tick();
    assert.notEqual(c.conn, b.conn);
    assert.equal(server.peers.length, 2);
    assert.equal(cluster.counters.get('upstream_cx_max_requests'), 1);
    assert.equal(pool.connectionCount(host), 1);
  });

  test('a response with Connection: close: the pool closes the connection itself and opens none until asked', async () => {
    const { pool, cluster, server, host } = await setup({}, () => 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok');
    await fetch(pool, host);
    await tick();
    assert.equal(pool.connectionCount(host), 0);
    assert.equal(cluster.counters.get('upstream_cx_total'), 1);
    assert.equal(cluster.counters.get('upstream_cx_destroy'), 1);
    await server.peers[0].closed;
    await fetch(pool, host);
    assert.equal(server.peers.length, 2);
  });

  test('one of two connections retiring leaves the other pooled and reused', async () => {
    const { pool, cluster, server, host } = await setup({}, null);
    const a = send(pool, host, '/a');
    const b = send(pool, host, '/b');
    await a.placed;
    await b.placed;
    const first = await server.peer(0);
    const second = await server.peer(1);
    await first.heads(1);
    await second.heads(1);
    // The connection that carried /a answers it with a close; the other one is free again.
    const [closing, staying] = first.text().includes('GET /a') ? [first, second] : [second, first];
    closing.write('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok');
    await a.exchange.finished;
    staying.write(OK);
    await b.exchange.finished;
    await tick();
    const c = send(pool, host, '/c');
    await staying.heads(2);
    staying.write(OK);
    await c.exchange.finished;
    assert.equal(c.conn, b.conn);
    assert.equal(cluster.counters.get('upstream_cx_total'), 2);
    assert.equal(pool.connectionCount(host), 1);
  });

  test('an idle connection the server closes leaves the pool: the next request opens another', async () => {
    const { pool, cluster, server, host } = await setup();
    const a = await fetch(pool, host, '/a');
    const closed = once(a.conn!.socket, 'close');
    server.peers[0].socket.destroy();
    await closed;
    await tick();
    assert.equal(pool.connectionCount(host), 0);
    assert.equal(cluster.counters.get('upstream_cx_destroy'), 1);
    assert.equal(host.stats.cx_active, 0);
    const b = await fetch(pool, host, '/b');
    assert.notEqual(b.conn, a.conn);
    assert.equal(server.peers.length, 2);
  });

  test('a refused connect fails the waiting request with Envoy\'s words and counts a connect failure, not a timeout', async () => {
    const port = await deadPort();
    const cluster = createCluster({ name: NAME, endpoints: [{ address: '127.0.0.1', port }] });
    const pool = new ClusterPool(cluster, { maxResponseHeaderBytes: 64 * 1024 });
    pools.push(pool);
    const host = cluster.endpoints[0];
    const r = send(pool, host);
    await r.placed;
    assert.deepEqual(r.failure, { reason: 'remote connection failure', transportFailure: 'delayed connect error: Connection refused' });
    assert.equal(host.stats.cx_connect_fail, 1);
    assert.equal(cluster.counters.get('upstream_cx_connect_fail'), 1);
    assert.equal(cluster.counters.get('upstream_cx_connect_timeout'), 0);
    assert.equal(cluster.limits.pendingRequests, 0);
    assert.equal(pool.connectionCount(host), 0);
  });

  test('a connect that times out fails the waiting request as a connection timeout, counted as one', async () => {
    const mute = net.createServer((s) => s.on('error', () => {}));
    mute.listen(0, '127.0.0.1');
    await once(mute, 'listening');
    try {
      const port = (mute.address() as net.AddressInfo).port;
      const ca = authority('mesh');
      const tlsConfig = { mode: 'SIMPLE' as const, caCertificates: { pem: ca.cert } };
      const cluster = createCluster({ name: NAME, endpoints: [{ address: '127.0.0.1', port }], connectionPool: { connectTimeoutMs: 100 }, tls: tlsConfig });
      const tls: UpstreamTls | null = compileUpstreamTls(withDefaults({ name: NAME, tls: tlsConfig }).tls!, 'clusters[0].tls', new WorkloadSecrets(), new CompiledCache<UpstreamTls>());
      cluster.tls = tls;
      const pool = new ClusterPool(cluster, { maxResponseHeaderBytes: 64 * 1024 });
      pools.push(pool);
      const r = send(pool, cluster.endpoints[0]);
      await r.placed;
      assert.equal(r.failure?.reason, 'connection timeout');
      assert.equal(cluster.counters.get('upstream_cx_connect_fail'), 1);
      assert.equal(cluster.counters.get('upstream_cx_connect_timeout'), 1);
    } finally {
      mute.close();
    }
  });

  test('SIMPLE TLS: a connection offers ALPN http/1.1 only (never h2) and reports the TLS it made', async () => {
    const ca = authority('mesh');
    const leaf = ca.issue('backend', ['DNS:backend.example.com']);
    const offered: string[][] = [];
    const server = tls.createServer({
      cert: leaf.cert,
      key: leaf.key,
      ALPNCallback: ({ protocols }) => {
        offered.push(protocols);
        return protocols[0];
      },
    });
    server.on('secureConnection', (s: tls.TLSSocket) => {
      s.on('error', () => {});
      s.on('data', () => s.write(OK));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const port = (server.address() as net.AddressInfo).port;
      const tlsConfig = { mode: 'SIMPLE' as const, caCertificates: { pem: ca.cert }, sni: 'backend.example.com', alpn: ['h2', 'http/1.1'] };
      const cluster = createCluster({ name: NAME, endpoints: [{ address: '127.0.0.1', port }], tls: tlsConfig });
      cluster.tls = compileUpstreamTls(withDefaults({ name: NAME, tls: tlsConfig }).tls!, 'clusters[0].tls', new WorkloadSecrets(), new CompiledCache<UpstreamTls>());
      const pool = new ClusterPool(cluster, { maxResponseHeaderBytes: 64 * 1024 });
      pools.push(pool);
      const r = await fetch(pool, cluster.endpoints[0]);
      assert.deepEqual(offered, [['http/1.1']]);
      assert.match(r.conn!.tls?.version ?? '', /^TLSv1\.[23]$/);
      pool.destroy();
    } finally {
      server.close();
    }
  });

  test('a connection that opens after the pool closed is closed, not pooled', async () => {
    const { pool, server, host } = await setup();
    const a = send(pool, host);
    assert.ok(a.ticket !== null && a.ticket !== 'overflow');
    pool.cancel(a.ticket);
    pool.close();
    const peer = await server.peer(0);
    await within(peer.closed, 'the connection closed');
    await tick();
    assert.equal(pool.connectionCount(host), 0);
  });

  test('a connection that opens for a request given up waits idle for idleTimeout like any other: kept over a sweep and reused', async () => {
    const { pool, cluster, server, host } = await setup({ idleTimeoutMs: 10_000 });
    const a = send(pool, host, '/a');
    assert.ok(a.ticket !== null && a.ticket !== 'overflow');
    pool.cancel(a.ticket);
    await server.peer(0);
    // Sweeps run every second for this timeout: one passes while the connection waits idle.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await fetch(pool, host, '/b');
    assert.equal(server.peers.length, 1, 'the connection was kept and reused');
    assert.equal(cluster.counters.get('upstream_cx_idle_timeout'), 0);
    assert.equal(cluster.counters.get('upstream_cx_total'), 1);
  });

  test('idleTimeout: a connection idle that long is closed and counted', async () => {
    const { pool, cluster, server, host } = await setup({ idleTimeoutMs: 100 });
    await fetch(pool, host);
    await server.peers[0].closed;
    await tick();
    assert.equal(cluster.counters.get('upstream_cx_idle_timeout'), 1);
    assert.equal(pool.connectionCount(host), 0);
    // The sweep starts again for the next idle connection.
    await fetch(pool, host);
    await server.peers[1].closed;
    assert.equal(cluster.counters.get('upstream_cx_idle_timeout'), 2);
  });

  test('idleTimeout: a connection idle for less is kept over a sweep and reused', async () => {
    const { pool, cluster, server, host } = await setup({ idleTimeoutMs: 2000 });
    const a = await fetch(pool, host);
    // Sweeps run every second for a two-second timeout: one passes while the connection is idle.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const b = await fetch(pool, host);
    assert.equal(b.conn, a.conn);
    assert.equal(server.peers.length, 1);
    assert.equal(cluster.counters.get('upstream_cx_idle_timeout'), 0);
  });

  test('a host leaving the cluster: its idle connection closes now, its busy one after its request', async () => {
    const { pool, cluster, server, host } = await setup({}, (peer) => (peer.text().includes('GET /a ') ? OK : null));
    const a = send(pool, host, '/a');
    const b = send(pool, host, '/b');
    await a.placed;
    await b.placed;
    const p0 = await server.peer(0);
    const p1 = await server.peer(1);
    await p0.heads(1);
    await p1.heads(1);
    const [busy, idle] = p0.text().includes('GET /a') ? [p1, p0] : [p0, p1];
    await a.exchange.finished;
    await tick();
    // A host the pool never connected to drains without effect.
    pool.drainHost({ ...host, address: '127.0.0.2' });
    cluster.update({ name: NAME, endpoints: [] });
    await idle.closed;
    assert.equal(busy.isClosed, false);
    busy.write(OK);
    await b.exchange.finished;
    await busy.closed;
    assert.equal(cluster.counters.get('upstream_cx_total'), 2);
    assert.equal(pool.connectionCount(host), 0);
  });

  test('destroy closes busy connections at once: the request in flight hears a connection termination', async () => {
    const { pool, server, host } = await setup({}, null);
    const a = send(pool, host);
    const peer = await server.peer(0);
    await peer.heads(1);
    pool.destroy();
    await a.exchange.finished;
    assert.deepEqual(a.exchange.reset, { reason: 'connection termination', afterHeaders: false });
    await peer.closed;
    assert.equal(pool.connectionCount(host), 0);
  });
});
