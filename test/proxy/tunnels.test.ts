/**
 * Byte tunnels: WebSocket upgrades spliced after the 101, CONNECT through the outbound listener,
 * TCP listeners with weighted routes and byte counters, and protocol sniffing on `auto` listeners.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { cluster, echo, eventually, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';
import { formatResponseFlags } from '../../src/telemetry/response-flags.js';
import { Disposer } from '../helpers/disposer.js';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A text frame (payload < 126 bytes), masked as clients must. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** Reads one unmasked server text frame. */
function readServerFrame(buf: Buffer): string | null {
  if (buf.length < 2) return null;
  const len = buf[1] & 0x7f;
  return buf.length < 2 + len ? null : buf.subarray(2, 2 + len).toString();
}

/** A WebSocket echo server: answers each text frame with `echo: <text>`. */
async function startWsEcho(): Promise<Backend> {
  const backend = await startBackend(echo('ws-http'));
  backend.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}${WS_GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.on('data', (frame: Buffer) => {
      const len = frame[1] & 0x7f;
      const mask = frame.subarray(2, 6);
      const text = Buffer.from(frame.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4])).toString();
      const out = Buffer.from(`echo: ${text}`);
      socket.write(Buffer.concat([Buffer.from([0x81, out.length]), out]));
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
  });
  return backend;
}

interface TcpBackend {
  port: number;
  connections: number;
  close(): Promise<void>;
}

/** A TCP echo server prefixing what it returns with its name. */
async function startTcpEcho(name: string): Promise<TcpBackend> {
  const sockets = new Set<net.Socket>();
  const b: TcpBackend = { port: 0, connections: 0, close: async () => {} };
  const server = net.createServer((s) => {
    b.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.on('data', (d: Buffer) => s.write(`${name}:${d.toString()}`));
    s.on('end', () => s.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  b.port = (server.address() as net.AddressInfo).port;
  b.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return b;
}

/** Connects, sends `data`, half-closes, and returns everything received. */
async function tcpRoundTrip(port: number, data: string): Promise<string> {
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  let got = '';
  s.setEncoding('utf8');
  s.on('data', (d: string) => (got += d));
  s.end(data);
  await once(s, 'close');
  return got;
}

describe('tunnels', () => {
  let ws: Backend;
  let tcpA: TcpBackend;
  let tcpB: TcpBackend;
  let http1: Backend;
  let proxy: TestProxy;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    ws = disposer.add(await startWsEcho(), (r) => r.close());
    tcpA = disposer.add(await startTcpEcho('a'), (r) => r.close());
    tcpB = disposer.add(await startTcpEcho('b'), (r) => r.close());
    http1 = disposer.add(await startBackend(echo('http')), (r) => r.close());
    proxy = disposer.add(await startProxy(
      snapshot({
        listeners: [
          httpListener('out', 'routes'),
          { name: 'tcp', address: '127.0.0.1', port: 0, direction: 'outbound', protocol: 'tcp', tcp: { routes: [{ destinations: [{ cluster: 'tcp-a', weight: 50 }, { cluster: 'tcp-b', weight: 50 }] }] } },
          { name: 'auto', address: '127.0.0.1', port: 0, direction: 'outbound', protocol: 'auto', http: { routeConfig: 'routes' }, tcp: { routes: [{ destinations: [{ cluster: 'tcp-a', weight: 1 }] }] } },
        ],
        routes: [
          routeConfig('routes', [
            { name: 'ws', domains: ['ws:8080'], routes: [forward('ws', 'ws')] },
            { name: 'echo', domains: ['echo:9000'], routes: [forward('echo', 'tcp-a')] },
            { name: 'blocked', domains: ['blocked:443'], routes: [forward('block_all', 'BlackHoleCluster')] },
            { name: 'http', domains: ['*'], routes: [forward('http', 'http')] },
          ]),
        ],
        clusters: [cluster('ws', [ws.port]), cluster('tcp-a', [tcpA.port]), cluster('tcp-b', [tcpB.port]), cluster('http', [http1.port]), cluster('BlackHoleCluster', [], { protocol: 'tcp' })],
      }),
      { protocolDetectionTimeoutMs: 200 },
    ), (r) => r.close());
  }));

  after(() => disposer.drain());

  test('WebSocket: the upgrade is forwarded and frames echo through the 101', async () => {
    const s = net.connect(proxy.port('out'), '127.0.0.1');
    await once(s, 'connect');
    s.write('GET /chat HTTP/1.1\r\nHost: ws:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
    await eventually(() => buf.includes('\r\n\r\n'), 3000, 'the 101');
    const headEnd = buf.indexOf('\r\n\r\n') + 4;
    const head = buf.subarray(0, headEnd).toString();
    assert.match(head, /^HTTP\/1\.1 101 Switching Protocols/);
    assert.match(head, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
    assert.match(head, /upgrade: websocket/i);
    buf = buf.subarray(headEnd);
    s.write(clientFrame('hello'));
    await eventually(() => readServerFrame(buf) !== null, 3000, 'the echo frame');
    assert.equal(readServerFrame(buf), 'echo: hello');
    buf = Buffer.alloc(0);
    s.write(clientFrame('again'));
    await eventually(() => readServerFrame(buf) !== null, 3000, 'the second echo frame');
    assert.equal(readServerFrame(buf), 'echo: again');
    const n = proxy.records.length;
    s.destroy();
    await eventually(() => proxy.records.length > n, 3000, 'the tunnel record');
    const rec = proxy.records[n];
    assert.equal(rec.status, 101);
    assert.ok(rec.bytesSent > 0 && rec.bytesReceived > 0);
  });

  test('CONNECT through the outbound listener opens a TCP tunnel', async () => {
    const s = net.connect(proxy.port('out'), '127.0.0.1');
    await once(s, 'connect');
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (got += d));
    s.write('CONNECT echo:9000 HTTP/1.1\r\nHost: echo:9000\r\n\r\n');
    await eventually(() => got.includes('\r\n\r\n'), 3000, 'the 200');
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
    got = '';
    s.write('ping');
    await eventually(() => got === 'a:ping', 3000, 'the echo');
    s.destroy();
  });

  test("CONNECT to the BlackHoleCluster is accepted and closed at once, as Envoy's TCP proxy closes it (UH)", async () => {
    const n = proxy.records.length;
    const s = net.connect(proxy.port('out'), '127.0.0.1');
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (got += d));
    const closed = once(s, 'close');
    s.write('CONNECT blocked:443 HTTP/1.1\r\nHost: blocked:443\r\n\r\n\x16\x03\x01');
    await closed;
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(got.slice(got.indexOf('\r\n\r\n') + 4), '', 'nothing after the head');
    await eventually(() => proxy.records.length > n, 3000, 'the record');
    const rec = proxy.records[n];
    assert.equal(rec.upstreamCluster, 'BlackHoleCluster');
    assert.equal(rec.status, 200);
    assert.equal(formatResponseFlags(rec.flags), 'UH');
  });

  test('TCP listener: weighted routes spread connections and bytes are counted', async () => {
    const replies = new Set<string>();
    const n = proxy.records.length;
    for (let i = 0; i < 20; i++) replies.add((await tcpRoundTrip(proxy.port('tcp'), 'hi')).split(':')[0]);
    assert.deepEqual([...replies].sort(), ['a', 'b']);
    await eventually(() => proxy.records.length >= n + 20, 3000, 'tcp records');
    const rec = proxy.records.slice(n).find((r) => r.kind === 'tcp')!;
    assert.equal(rec.bytesReceived, 2);
    assert.equal(rec.bytesSent, 4);
    assert.match(rec.upstreamCluster, /^tcp-[ab]$/);
  });

  test('auto listener: HTTP goes to the HTTP routes, other bytes to the TCP route', async () => {
    const res = await request(proxy.port('auto'), '/x', { headers: { host: 'anything' } });
    assert.equal(res.headers['x-backend'], 'http');
    assert.equal(await tcpRoundTrip(proxy.port('auto'), '\x00\x01binary'), 'a:\x00\x01binary');
  });

  test('auto listener: a client that says nothing is treated as TCP after the detection timeout', async () => {
    const before = tcpA.connections;
    const s = net.connect(proxy.port('auto'), '127.0.0.1');
    await once(s, 'connect');
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (got += d));
    // The timeout path, not sniffing: the proxy opens the TCP route's upstream before the client has sent a byte.
    await eventually(() => tcpA.connections === before + 1, 3000, 'the upstream connection, opened on the detection timeout');
    assert.equal(got, '');
    s.write('late');
    await eventually(() => got === 'a:late', 3000, 'the echo');
    s.destroy();
  });
});
