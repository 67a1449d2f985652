/**
 * The TCP proxy on real sockets, one listener per case: each half of a connection closes on its
 * own (a FIN from either side reaches the other while the opposite direction keeps flowing), and
 * the ways a proxied connection fails — no healthy host (UH), a refused connect and a connect that
 * times out (UF, with the details Envoy's access log shows), a cluster the snapshot lacks (NC) —
 * each closing the client's connection and recorded once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { cluster, deadPort, eventually, snapshot, startProxy } from '../helpers.js';
import type { TestProxy } from '../helpers.js';
import type { ListenerConfig } from '../../../src/snapshot/index.js';
import { formatResponseFlags } from '../../../src/telemetry/response-flags.js';
import { Disposer } from '../../helpers/disposer.js';

const tcpListener = (name: string, clusterName: string): ListenerConfig => ({
  name,
  address: '127.0.0.1',
  port: 0,
  direction: 'outbound',
  protocol: 'tcp',
  tcp: { routes: [{ destinations: [{ cluster: clusterName, weight: 1 }] }] },
});

/** Collects what a socket receives and whether it saw the peer's FIN. */
class Side {
  got = '';
  ended = false;
  constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (this.got += d));
    socket.on('end', () => (this.ended = true));
    socket.on('error', () => {});
  }
}

describe('TCP proxy', () => {
  /** Upstream connections, as the backend accepted them. */
  const accepted: Side[] = [];
  let backend: net.Server;
  let silent: net.Server;
  let dead: number;
  let p: TestProxy;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    backend = net.createServer({ allowHalfOpen: true }, (s) => accepted.push(new Side(s)));
    disposer.add(backend, (s) => {
      for (const a of accepted) a.socket.destroy();
      s.close();
    });
    backend.listen(0, '127.0.0.1');
    // Accepts connections and never answers: a TLS handshake to it never completes.
    silent = net.createServer((s) => s.on('error', () => {}));
    disposer.add(silent, (s) => s.close());
    silent.listen(0, '127.0.0.1');
    await Promise.all([once(backend, 'listening'), once(silent, 'listening')]);
    dead = await deadPort();
    p = disposer.add(await startProxy(
      snapshot({
        listeners: [tcpListener('up', 'backend'), tcpListener('none', 'empty'), tcpListener('refused', 'dead'), tcpListener('slow', 'silent'), tcpListener('missing', 'nowhere')],
        clusters: [
          cluster('backend', [(backend.address() as net.AddressInfo).port], { protocol: 'tcp' }),
          cluster('empty', [], { protocol: 'tcp' }),
          cluster('dead', [dead], { protocol: 'tcp' }),
          cluster('silent', [(silent.address() as net.AddressInfo).port], { protocol: 'tcp', connectionPool: { connectTimeoutMs: 300 }, tls: { mode: 'SIMPLE', insecureSkipVerify: true } }),
        ],
      }),
    ), (r) => r.close());
  }));

  after(() => disposer.drain());

  /** Opens a client connection through listener `name`, and the upstream side the backend accepted. */
  async function pair(name: string): Promise<{ client: Side; upstream: Side }> {
    const before = accepted.length;
    const socket = net.connect({ port: p.port(name), host: '127.0.0.1', allowHalfOpen: true });
    await once(socket, 'connect');
    const client = new Side(socket);
    socket.write('hello');
    await eventually(() => accepted.length > before && accepted[before].got === 'hello', 5000, 'the upstream to get the first bytes');
    return { client, upstream: accepted[before] };
  }

  /** The record of the last connection through listener `name`, once it is done. */
  async function recordOf(name: string): Promise<{ flags: string; details: string }> {
    await eventually(() => p.records.some((r) => r.listener === name), 5000, `a record for ${name}`);
    const rec = p.records.filter((r) => r.listener === name).at(-1)!;
    return { flags: formatResponseFlags(rec.flags), details: rec.details };
  }

  test('the client\'s FIN reaches the upstream, which still answers; then the upstream\'s FIN closes the client\'s side', async () => {
    const { client, upstream } = await pair('up');
    client.socket.end();
    await eventually(() => upstream.ended, 5000, 'the upstream to see the client\'s FIN');
    upstream.socket.write('after your FIN');
    await eventually(() => client.got === 'after your FIN', 5000, 'the answer after the half-close');
    assert.equal(client.ended, false, 'the client\'s side stays open until the upstream ends it');
    upstream.socket.end();
    await once(client.socket, 'close');
    assert.equal(client.ended, true);
    assert.deepEqual(await recordOf('up'), { flags: '-', details: 'via_upstream' });
  });

  test('the upstream\'s FIN reaches the client, which can still send', async () => {
    const { client, upstream } = await pair('up');
    upstream.socket.end('bye');
    await eventually(() => client.ended && client.got === 'bye', 5000, 'the client to see the upstream\'s FIN');
    client.socket.write(' and more');
    await eventually(() => upstream.got === 'hello and more', 5000, 'the client\'s bytes after the upstream\'s FIN');
    client.socket.end();
    await once(client.socket, 'close');
  });

  /** Connects through `name`, sends a byte and waits for the proxy to close the connection. */
  async function closedByProxy(name: string): Promise<void> {
    const socket = net.connect(p.port(name), '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write('x');
    await once(socket, 'close');
  }

  test('no healthy host: closed, UH', async () => {
    await closedByProxy('none');
    assert.deepEqual(await recordOf('none'), { flags: 'UH', details: 'no_healthy_upstream' });
  });

  test('a cluster the snapshot lacks: closed, NC', async () => {
    await closedByProxy('missing');
    assert.deepEqual(await recordOf('missing'), { flags: 'NC', details: 'cluster_not_found' });
  });

  test('a refused connect: closed, UF with the transport failure Envoy prints', async () => {
    await closedByProxy('refused');
    assert.deepEqual(await recordOf('refused'), { flags: 'UF', details: 'upstream_connect_error: delayed connect error: Connection refused' });
    const stats = p.proxy.stats();
    assert.equal(stats.get('cluster.dead.upstream_cx_connect_fail'), 1);
  });

  test('a connect that does not finish in the connect timeout (here, a TLS handshake): closed, UF connection_timeout', async () => {
    await closedByProxy('slow');
    assert.deepEqual(await recordOf('slow'), { flags: 'UF', details: 'connection_timeout' });
    assert.equal(p.proxy.stats().get('cluster.silent.upstream_cx_connect_timeout'), 1);
  });
});
