/**
 * The Kubernetes client's own requests, against a server on a raw socket that closes a kept-alive
 * connection the moment the next request arrives on it (an API server's idle-connection close
 * racing the client's reuse): the request is sent again on a new connection and answered; a
 * request whose answer had begun, or one on a fresh connection, is not sent twice.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeApiError, KubeClient } from '../../src/kube/client.js';
import { Disposer } from '../helpers/disposer.js';

interface Seen {
  connection: number;
  line: string;
}

/**
 * Answers the first request of every connection with keep-alive; a second request on the same
 * connection is met with a reset (no answer), unless `answerSecond` says otherwise. With
 * `resetFirst`, the first request of every connection is reset too.
 */
function flakyServer(opts: { resetFirst?: boolean } = {}): Promise<{ server: net.Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  let connections = 0;
  const server = net.createServer((socket) => {
    const id = ++connections;
    let served = 0;
    let buf = '';
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        buf = buf.slice(end + 4 + length);
        seen.push({ connection: id, line: head.split('\r\n')[0] });
        served++;
        if (served > 1 || opts.resetFirst === true) {
          socket.resetAndDestroy();
          return;
        }
        const body = JSON.stringify({ kind: 'ConfigMap', metadata: { name: `answer-${seen.length}` } });
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: keep-alive\r\n\r\n${body}`);
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, seen })));
}

describe('Kubernetes client: a kept-alive connection closed under a request', () => {
  let flaky: Awaited<ReturnType<typeof flakyServer>>;
  let client: KubeClient;
  const disposer = new Disposer();
  before(disposer.setup(async () => {
    flaky = disposer.add(await flakyServer(), (f) => f.server.close());
    client = disposer.add(new KubeClient({ server: `http://127.0.0.1:${flaky.port}`, origin: 'test' }), (c) => c.close());
  }));
  after(() => disposer.drain());

  it('sends the request again on a new connection and returns its answer', async () => {
    const first = await client.request('GET', '/api/v1/namespaces/default/configmaps/a');
    assert.equal(first.metadata.name, 'answer-1');
    // The second request goes out on the kept-alive connection, which the server resets.
    const second = await client.request('PUT', '/api/v1/namespaces/default/configmaps/b', { metadata: { name: 'b' } });
    assert.equal(second.metadata.name, 'answer-3');
    assert.deepEqual(
      flaky.seen.map((s) => [s.connection, s.line]),
      [
        [1, 'GET /api/v1/namespaces/default/configmaps/a HTTP/1.1'],
        [1, 'PUT /api/v1/namespaces/default/configmaps/b HTTP/1.1'],
        [2, 'PUT /api/v1/namespaces/default/configmaps/b HTTP/1.1'],
      ],
    );
  });
});

describe('Kubernetes client: a reset on a new connection', () => {
  let flaky: Awaited<ReturnType<typeof flakyServer>>;
  let client: KubeClient;
  const disposer = new Disposer();
  before(disposer.setup(async () => {
    flaky = disposer.add(await flakyServer({ resetFirst: true }), (f) => f.server.close());
    client = disposer.add(new KubeClient({ server: `http://127.0.0.1:${flaky.port}`, origin: 'test' }), (c) => c.close());
  }));
  after(() => disposer.drain());

  it('is not sent again: the error names the request and the server', async () => {
    await assert.rejects(client.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'c' } }), (err: unknown) => {
      assert.ok(err instanceof KubeApiError);
      assert.equal(err.code, 0);
      assert.match(err.message, new RegExp(`^POST http://127\\.0\\.0\\.1:${flaky.port}/api/v1/namespaces/default/configmaps: `));
      return true;
    });
    assert.equal(flaky.seen.length, 1);
  });
});
