/**
 * PASSTHROUGH (original-destination) clusters: with ALLOW_ANY outbound traffic, a request for a
 * host outside the registry falls to the `allow_any` route and goes wherever the app was headed —
 * the authority of its absolute-form request line, its Host header, or its CONNECT target.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { deadPort, echo, eventually, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';
import { formatResponseFlags } from '../../src/telemetry/response-flags.js';
import { Disposer } from '../helpers/disposer.js';

/** A TCP server that answers each chunk with `tcp:<chunk>`. */
async function startTcpEcho(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.on('data', (d: Buffer) => s.write(`tcp:${d.toString()}`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Sends a CONNECT for `target`; resolves with the socket and the response head once it is in. */
async function connectThrough(port: number, target: string): Promise<{ socket: net.Socket; head: string; rest: () => string }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let got = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (got += d));
  socket.on('error', () => {});
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  await eventually(() => got.includes('\r\n\r\n'), 5000, `the answer to CONNECT ${target}`);
  const end = got.indexOf('\r\n\r\n') + 4;
  const head = got.slice(0, end);
  const offset = end;
  return { socket, head, rest: () => got.slice(offset) };
}

describe('PassthroughCluster: traffic to hosts outside the mesh', () => {
  let backend: Backend;
  let tcp: { port: number; close(): Promise<void> };
  let proxy: TestProxy;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    backend = disposer.add(await startBackend(echo('outside')), (r) => r.close());
    tcp = disposer.add(await startTcpEcho(), (r) => r.close());
    // What the translation gives a sidecar under ALLOW_ANY: a catch-all virtual host to PassthroughCluster.
    proxy = disposer.add(await startProxy(
      snapshot({
        listeners: [httpListener('out', 'outbound')],
        routes: [
          routeConfig('outbound', [
            { name: 'allow_any', domains: ['*'], routes: [{ name: 'allow_any', match: [], action: { type: 'route', destinations: [{ cluster: 'PassthroughCluster', weight: 100 }] } }] },
          ]),
        ],
        clusters: [{ name: 'PassthroughCluster', discovery: 'original-dst', protocol: 'auto' }],
      }),
    ), (r) => r.close());
  }));

  after(() => disposer.drain());

  test('an absolute-form GET reaches the host and port its authority names', async () => {
    const before = backend.count;
    const res = await request(proxy.port('out'), `http://127.0.0.1:${backend.port}/x?y=1`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-backend'], 'outside');
    const body = JSON.parse(res.body) as { url: string; headers: Record<string, string> };
    assert.equal(body.url, '/x?y=1', 'the backend sees the origin-form path');
    assert.equal(body.headers.host, `127.0.0.1:${backend.port}`);
    assert.equal(backend.count, before + 1);
    await eventually(() => proxy.records.some((r) => r.upstreamCluster === 'PassthroughCluster' && r.status === 200), 3000, 'the access record');
  });

  test('an origin-form request goes where its Host header points', async () => {
    const res = await request(proxy.port('out'), '/by-host', { headers: { host: `127.0.0.1:${backend.port}` } });
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body) as { url: string }).url, '/by-host');
  });

  test('requests to two different outside hosts each reach their own', async () => {
    const other = await startBackend(echo('other'));
    try {
      const a = await request(proxy.port('out'), `http://127.0.0.1:${backend.port}/a`);
      const b = await request(proxy.port('out'), `http://127.0.0.1:${other.port}/b`);
      assert.equal(a.headers['x-backend'], 'outside');
      assert.equal(b.headers['x-backend'], 'other');
    } finally {
      await other.close();
    }
  });

  test('CONNECT opens a tunnel to the target it names', async () => {
    const { socket, head, rest } = await connectThrough(proxy.port('out'), `127.0.0.1:${tcp.port}`);
    try {
      assert.match(head, /^HTTP\/1\.1 200 /);
      socket.write('ping');
      await eventually(() => rest() === 'tcp:ping', 5000, 'the echo through the tunnel');
    } finally {
      socket.destroy();
    }
  });

  test("a host that refuses the connection gets Envoy's 503 UF text", async () => {
    const port = await deadPort();
    const res = await request(proxy.port('out'), `http://127.0.0.1:${port}/`);
    assert.equal(res.status, 503);
    assert.match(res.body, /^upstream connect error or disconnect\/reset before headers\. (retried and the latest )?reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused$/);
    await eventually(() => proxy.records.some((r) => r.status === 503 && formatResponseFlags(r.flags) === 'UF'), 3000, 'the UF record');
  });

  test("a CONNECT to a host that refuses gets Envoy's 503 UF text", async () => {
    const port = await deadPort();
    const { socket, head, rest } = await connectThrough(proxy.port('out'), `127.0.0.1:${port}`);
    try {
      assert.match(head, /^HTTP\/1\.1 503 /);
      await eventually(() => rest().includes('reset reason: remote connection failure'), 5000, 'the 503 body');
      assert.match(rest(), /^upstream connect error or disconnect\/reset before headers\. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused/);
    } finally {
      socket.destroy();
    }
  });
});
