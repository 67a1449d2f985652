/**
 * The HTTP/1.1 connection idle timeout (`streamIdleTimeoutMs`) seen from a client: an idle
 * keep-alive connection is closed, a request that takes longer than the timeout is still
 * answered, and the connection closes once it has been idle again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { cluster, forward, httpListener, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';
import { Disposer } from '../helpers/disposer.js';

const IDLE_MS = 300;

/** A keep-alive client on one raw connection; `closedAt` is set when the proxy closes it. */
class RawClient {
  readonly socket: net.Socket;
  private got = '';
  readonly closed: Promise<unknown>;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('error', () => {});
    this.socket.on('data', (d: string) => (this.got += d));
    this.closed = once(this.socket, 'close');
  }

  /** Sends one GET and waits for a whole answer (bodies here are small and content-length framed). */
  async get(path: string): Promise<string> {
    this.got = '';
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    for (;;) {
      const m = /content-length: (\d+)\r\n[\s\S]*?\r\n\r\n/i.exec(this.got);
      if (m !== null && this.got.length >= this.got.indexOf('\r\n\r\n') + 4 + Number(m[1])) return this.got;
      if (this.socket.destroyed) throw new Error(`connection closed before the answer; got ${JSON.stringify(this.got)}`);
      await Promise.race([once(this.socket, 'data'), this.closed]);
    }
  }
}

describe('HTTP/1.1 idle timeout', () => {
  let backend: Backend;
  let proxy: TestProxy;
  let port: number;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    backend = disposer.add(await startBackend((req, res) => {
      const answer = (): void => {
        res.writeHead(200, { 'content-length': '4' });
        res.end(req.url === '/slow' ? 'slow' : 'fast');
      };
      if (req.url === '/slow') setTimeout(answer, IDLE_MS * 3);
      else answer();
    }), (r) => r.close());
    proxy = disposer.add(await startProxy(
      snapshot({
        listeners: [httpListener('main', 'routes', { http: { routeConfig: 'routes', streamIdleTimeoutMs: IDLE_MS } })],
        routes: [routeConfig('routes', [{ name: 'all', domains: ['*'], routes: [forward('r', 'backend')] }])],
        clusters: [cluster('backend', [backend.port])],
      }),
    ), (r) => r.close());
    port = proxy.port('main');
  }));

  after(() => disposer.drain());

  test('an idle keep-alive connection is closed by the proxy after serving requests', { timeout: 10_000 }, async () => {
    const c = new RawClient(port);
    try {
      await once(c.socket, 'connect');
      assert.match(await c.get('/a'), /^HTTP\/1\.1 200/);
      assert.match(await c.get('/b'), /^HTTP\/1\.1 200/, 'the connection is kept alive between requests');
      // Without the idle close this waits forever and the test's timeout fails it.
      await c.closed;
    } finally {
      c.socket.destroy();
    }
  });

  test('a request slower than the idle timeout is answered, then the connection closes once idle', { timeout: 10_000 }, async () => {
    const c = new RawClient(port);
    try {
      await once(c.socket, 'connect');
      const answer = await c.get('/slow');
      assert.match(answer, /^HTTP\/1\.1 200/);
      assert.match(answer, /slow$/);
      assert.equal(c.socket.destroyed, false, 'the connection stays open right after a slow answer');
      assert.match(await c.get('/again'), /^HTTP\/1\.1 200/, 'and still serves the next request');
      await c.closed;
    } finally {
      c.socket.destroy();
    }
  });
});
