/**
 * CONNECT to a service port that speaks HTTP: the sidecar answers 200 and serves the HTTP/1.1 or
 * HTTP/2 requests inside the tunnel one by one through that port's routes — per-request routing
 * and balancing, faults answered the protocol's way, a record per request — while a CONNECT to an
 * opaque port, or a tunnel whose first bytes are not HTTP, stays a byte tunnel.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import { cluster, echo, eventually, forward, httpListener, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';
import { grpcFrame, grpcHeaders, grpcStatusOf, h2request, messagesOf, startH2Backend } from './http2-helpers.js';
import type { H2Backend } from './http2-helpers.js';
import { formatResponseFlags } from '../../src/telemetry/response-flags.js';
import type { ProxySnapshot, Route } from '../../src/snapshot/index.js';
import { stopConnection, type ConnectionContext, type ConnectionFilter } from '../../src/proxy/filters/connection-filter.js';
import type { HttpFilter, HttpFilterRequest } from '../../src/proxy/filters/http-filter.js';
import { CONTINUE } from '../../src/proxy/filters/verdict.js';
import { withListenerFilters } from './filters/helpers.js';
import { Disposer } from '../helpers/disposer.js';

/** A TCP echo server prefixing what it returns with its name. */
async function startTcpEcho(name: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.on('data', (d: Buffer) => s.write(Buffer.concat([Buffer.from(`${name}:`), d])));
    s.on('end', () => s.end());
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

/** Opens `CONNECT target` on the proxy's port; resolves with the tunnel once answered 200. */
async function openTunnel(port: number, target: string): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  while (!buf.includes('\r\n\r\n')) {
    const [chunk] = (await once(s, 'data')) as [Buffer];
    buf = Buffer.concat([buf, chunk]);
  }
  const end = buf.indexOf('\r\n\r\n') + 4;
  assert.match(buf.subarray(0, end).toString(), /^HTTP\/1\.1 200 /);
  s.pause();
  if (end < buf.length) s.unshift(buf.subarray(end));
  return s;
}

/** Reads HTTP/1.1 responses (Content-Length framed) off a socket, one at a time. */
class ResponseReader {
  private buf = Buffer.alloc(0);
  private waiting: (() => void) | null = null;

  constructor(socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiting?.();
    });
    socket.resume();
  }

  async next(): Promise<{ status: number; headers: Map<string, string>; body: string }> {
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
        const headers = new Map<string, string>();
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
        }
        const status = Number(lines[0].split(' ')[1]);
        const framed = headers.get('transfer-encoding') === 'chunked' ? chunkedBody(this.buf.subarray(end + 4)) : lengthBody(this.buf.subarray(end + 4), Number(headers.get('content-length') ?? 0));
        if (framed !== null) {
          this.buf = this.buf.subarray(end + 4 + framed.used);
          return { status, headers, body: framed.body };
        }
      }
      await new Promise<void>((resolve) => (this.waiting = resolve));
      this.waiting = null;
    }
  }
}

/** A Content-Length body, once whole. */
function lengthBody(buf: Buffer, length: number): { body: string; used: number } | null {
  return buf.length >= length ? { body: buf.subarray(0, length).toString(), used: length } : null;
}

/** A chunked body (no trailers), once its last chunk arrived. */
function chunkedBody(buf: Buffer): { body: string; used: number } | null {
  let pos = 0;
  let body = '';
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return null;
    const size = parseInt(buf.subarray(pos, eol).toString('latin1'), 16);
    if (buf.length < eol + 2 + size + 2) return null;
    if (size === 0) return { body, used: eol + 4 };
    body += buf.subarray(eol + 2, eol + 2 + size).toString();
    pos = eol + 2 + size + 2;
  }
}

/** An HTTP/2 session over a tunnel (prior knowledge, as a gRPC client speaks it after the 200). */
async function h2OverTunnel(tunnel: net.Socket, authority: string): Promise<ClientHttp2Session> {
  tunnel.resume();
  const session = http2.connect(`http://${authority}`, { createConnection: () => tunnel });
  session.on('error', () => {});
  await once(session, 'connect');
  return session;
}

const PICK_C: Route = {
  name: 'pick-c',
  match: [{ headers: { 'x-pick': { exact: 'c' } } }],
  action: { type: 'route', destinations: [{ cluster: 'outbound|8000|c|svc', weight: 100 }] },
};

describe('CONNECT to a port that speaks HTTP', () => {
  let a: Backend;
  let b: Backend;
  let c: Backend;
  let grpc: H2Backend;
  let tcp: { port: number; close(): Promise<void> };
  let proxy: TestProxy;
  let base: ProxySnapshot;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    // Each registered as soon as it listens, whichever of the others fails.
    const opened = <T extends { close(): Promise<void> }>(starting: Promise<T>): Promise<T> => starting.then((r) => disposer.add(r, (x) => x.close()));
    [a, b, c, grpc, tcp] = await Promise.all([opened(startBackend(echo('a'))), opened(startBackend(echo('b'))), opened(startBackend(echo('c'))), opened(startH2Backend('grpc')), opened(startTcpEcho('tcp'))]);
    base = snapshot({
        listeners: [httpListener('out', 'routes')],
        routes: [
          routeConfig('routes', [
            { name: 'svc:8000', domains: ['svc:8000', 'svc'], routes: [PICK_C, forward('default', 'outbound|8000||svc')], connect: { serve: 'http', tcpCluster: 'outbound|8000||svc-tcp' } },
            {
              name: 'grpc:7070',
              domains: ['grpc:7070'],
              routes: [
                forward('abort', 'outbound|7070||grpc', { match: [{ headers: { 'x-fault': { exact: 'on' } } }], fault: { abort: { grpcStatus: 'UNAVAILABLE', percent: 100 } } }),
                forward('default', 'outbound|7070||grpc'),
              ],
              connect: { serve: 'http', tcpCluster: 'outbound|7070||grpc' },
            },
            { name: 'tcp:9000', domains: ['tcp:9000'], routes: [forward('tcp', 'outbound|9000||tcp')] },
            { name: 'allow_any', domains: ['*'], routes: [forward('allow_any', 'outbound|9000||tcp')] },
          ]),
        ],
        clusters: [
          cluster('outbound|8000||svc', [a.port, b.port], { protocol: 'http1' }),
          cluster('outbound|8000|c|svc', [c.port], { protocol: 'http1' }),
          cluster('outbound|8000||svc-tcp', [tcp.port], { protocol: 'tcp' }),
          cluster('outbound|7070||grpc', [grpc.port], { protocol: 'http2' }),
          cluster('outbound|9000||tcp', [tcp.port], { protocol: 'tcp' }),
        ],
    });
    proxy = disposer.add(await startProxy(base), (r) => r.close());
  }));

  after(() => disposer.drain());

  test('HTTP/1.1 inside: each request is routed and balanced on its own, and recorded (the CONNECT is not)', async () => {
    const before = proxy.records.length;
    const tunnel = await openTunnel(proxy.port('out'), 'svc:8000');
    const reader = new ResponseReader(tunnel);
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      tunnel.write('GET /plain HTTP/1.1\r\nHost: svc:8000\r\n\r\n');
      const r = await reader.next();
      assert.equal(r.status, 200);
      names.push(r.headers.get('x-backend') ?? '');
    }
    // Round robin over the two endpoints, request by request, on one connection.
    assert.deepEqual([...new Set(names)].sort(), ['a', 'b'], `backends: ${names.join(',')}`);
    tunnel.write('GET /picked HTTP/1.1\r\nHost: svc:8000\r\nx-pick: c\r\n\r\n');
    const picked = await reader.next();
    assert.equal(picked.headers.get('x-backend'), 'c');
    tunnel.end();
    await eventually(() => proxy.records.length - before >= 5, 3000, 'a record per request');
    const mine = proxy.records.slice(before);
    assert.equal(mine.filter((r) => r.method === 'CONNECT').length, 0, 'the CONNECT itself is no request');
    const picks = mine.filter((r) => r.path === '/picked');
    assert.equal(picks.length, 1);
    assert.equal(picks[0].upstreamCluster, 'outbound|8000|c|svc');
    assert.equal(picks[0].routeName, 'pick-c');
    assert.equal(picks[0].authority, 'svc:8000');
  });

  test('HTTP/2 inside: each stream is routed and balanced on its own', async () => {
    const tunnel = await openTunnel(proxy.port('out'), 'svc:8000');
    const session = await h2OverTunnel(tunnel, 'svc:8000');
    try {
      const names: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await h2request(session, { ':method': 'GET', ':path': '/h2', ':authority': 'svc:8000' });
        assert.equal(r.status, 200);
        names.push(String(r.headers['x-backend']));
      }
      assert.deepEqual([...new Set(names)].sort(), ['a', 'b'], `backends: ${names.join(',')}`);
      const picked = await h2request(session, { ':method': 'GET', ':path': '/h2', ':authority': 'svc:8000', 'x-pick': 'c' });
      assert.equal(picked.headers['x-backend'], 'c');
      // Routed by the tunnel's port, whatever Host the request inside names.
      const other = await h2request(session, { ':method': 'GET', ':path': '/h2', ':authority': 'elsewhere', 'x-pick': 'c' });
      assert.equal(other.headers['x-backend'], 'c');
    } finally {
      session.close();
    }
  });

  test('gRPC inside: a fault abort answers UNAVAILABLE at once, trailers-only, and the next call on the connection works', async () => {
    const before = proxy.records.length;
    const tunnel = await openTunnel(proxy.port('out'), 'grpc:7070');
    const session = await h2OverTunnel(tunnel, 'grpc:7070');
    try {
      const aborted = await h2request(session, grpcHeaders('grpc:7070', '/test.Echo/Unary', { 'x-fault': 'on' }), grpcFrame('hello'));
      assert.equal(aborted.status, 200);
      assert.equal(aborted.headersOnly, true, 'trailers-only');
      assert.equal(grpcStatusOf(aborted).code, 14);
      const ok = await h2request(session, grpcHeaders('grpc:7070', '/test.Echo/Unary'), grpcFrame('again'));
      assert.equal(grpcStatusOf(ok).code, 0);
      assert.deepEqual(messagesOf(ok), ['grpc:again']);
    } finally {
      session.close();
    }
    await eventually(() => proxy.records.length - before >= 2, 3000, 'a record per call');
    const calls = proxy.records.slice(before);
    assert.deepEqual(
      calls.map((r) => [r.method, r.protocol, formatResponseFlags(r.flags)]),
      [
        ['POST', 'HTTP/2', 'FI'],
        ['POST', 'HTTP/2', '-'],
      ],
    );
  });

  test('bytes that are not HTTP inside a tunnel to an HTTP port go to the port’s cluster as bytes', async () => {
    const tunnel = await openTunnel(proxy.port('out'), 'svc:8000');
    // The start of a TLS ClientHello: neither a request line nor the HTTP/2 preface.
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f]);
    tunnel.resume();
    let got = Buffer.alloc(0);
    tunnel.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    tunnel.end(hello);
    await once(tunnel, 'close');
    assert.deepEqual(got, Buffer.concat([Buffer.from('tcp:'), hello]));
  });

  test('CONNECT to a TCP port stays a byte tunnel', async () => {
    const before = proxy.records.length;
    const tunnel = await openTunnel(proxy.port('out'), 'tcp:9000');
    tunnel.resume();
    let got = '';
    tunnel.setEncoding('utf8');
    tunnel.on('data', (d: string) => (got += d));
    // An HTTP request line is only bytes here.
    tunnel.end('GET / HTTP/1.1\r\nHost: tcp:9000\r\n\r\n');
    await once(tunnel, 'close');
    assert.equal(got, 'tcp:GET / HTTP/1.1\r\nHost: tcp:9000\r\n\r\n');
    await eventually(() => proxy.records.slice(before).some((r) => r.method === 'CONNECT'), 3000, 'the tunnel’s record');
    const rec = proxy.records.slice(before).find((r) => r.method === 'CONNECT')!;
    assert.equal(rec.upstreamCluster, 'outbound|9000||tcp');
    assert.equal(rec.status, 200);
  });

  test('CONNECT to a host no virtual host serves HTTP for stays a byte tunnel', async () => {
    const tunnel = await openTunnel(proxy.port('out'), `127.0.0.1:${tcp.port}`);
    tunnel.resume();
    let got = '';
    tunnel.setEncoding('utf8');
    tunnel.on('data', (d: string) => (got += d));
    tunnel.end('GET / HTTP/1.1\r\n\r\n');
    await once(tunnel, 'close');
    assert.equal(got, 'tcp:GET / HTTP/1.1\r\n\r\n');
  });

  test('a CONNECT inside a tunnel is no tunnel again (404 NR)', async () => {
    const tunnel = await openTunnel(proxy.port('out'), 'svc:8000');
    const reader = new ResponseReader(tunnel);
    tunnel.write('CONNECT tcp:9000 HTTP/1.1\r\nHost: tcp:9000\r\n\r\n');
    const r = await reader.next();
    assert.equal(r.status, 404);
    tunnel.destroy();
  });

  test('requests inside an open tunnel follow a new snapshot (a fault applied later answers the next call)', async () => {
    const tunnel = await openTunnel(proxy.port('out'), 'grpc:7070');
    const session = await h2OverTunnel(tunnel, 'grpc:7070');
    try {
      const first = await h2request(session, grpcHeaders('grpc:7070', '/test.Echo/Unary'), grpcFrame('one'));
      assert.equal(grpcStatusOf(first).code, 0);
      const faulted = structuredClone(base);
      faulted.version = '2';
      const vhost = faulted.routes[0].virtualHosts.find((v) => v.name === 'grpc:7070')!;
      vhost.routes = [forward('abort-all', 'outbound|7070||grpc', { fault: { abort: { grpcStatus: 'UNAVAILABLE', percent: 100 } } })];
      await proxy.proxy.applySnapshot(faulted);
      const second = await h2request(session, grpcHeaders('grpc:7070', '/test.Echo/Unary'), grpcFrame('two'));
      assert.equal(grpcStatusOf(second).code, 14);
    } finally {
      session.close();
      await proxy.proxy.applySnapshot({ ...base, version: '3' });
    }
  });

  test('the tunnel passes the connection phase first: a filter that closes it gets 200 then FIN, and no request reaches a backend', async () => {
    const seen: ConnectionContext[] = [];
    const deny: ConnectionFilter = {
      name: 'authz',
      decide(conn) {
        seen.push(conn);
        return stopConnection('close', 'rbac_access_denied_matched_policy[none]');
      },
    };
    withListenerFilters(proxy.proxy, 'out', { connection: [deny] });
    const served = a.count + b.count + c.count;
    try {
      const s = net.connect(proxy.port('out'), '127.0.0.1');
      await once(s, 'connect');
      let got = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => (got += d));
      s.on('error', () => {});
      s.write('CONNECT svc:8000 HTTP/1.1\r\nHost: svc:8000\r\n\r\nGET / HTTP/1.1\r\nHost: svc:8000\r\n\r\n');
      await once(s, 'close');
      assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
      assert.doesNotMatch(got.slice(got.indexOf('\r\n\r\n') + 4), /HTTP\/1\.1/, 'nothing answered inside');
      assert.equal(a.count + b.count + c.count, served);
      assert.equal(seen[0].tunnelTarget, 'svc:8000');
      assert.equal(seen[0].destinationPort, 8000);
    } finally {
      withListenerFilters(proxy.proxy, 'out', { connection: [] });
    }
  });

  test('listener filters see each request inside with the tunnel as its connection and the tunnel port as its port', async () => {
    const seen: { path: string; port: number; target: string | null }[] = [];
    const watch: HttpFilter = {
      name: 'watch',
      decide(req: HttpFilterRequest) {
        seen.push({ path: req.path, port: req.port, target: req.connection.tunnelTarget });
        return CONTINUE;
      },
    };
    withListenerFilters(proxy.proxy, 'out', { http: [watch] });
    try {
      const tunnel = await openTunnel(proxy.port('out'), 'svc:8000');
      const reader = new ResponseReader(tunnel);
      tunnel.write('GET /one HTTP/1.1\r\nHost: svc:8000\r\n\r\n');
      assert.equal((await reader.next()).status, 200);
      tunnel.destroy();
    } finally {
      withListenerFilters(proxy.proxy, 'out', { http: [] });
    }
    // The CONNECT itself, on the listener's connection; then the request inside, on the tunnel.
    assert.deepEqual(seen, [
      { path: 'svc:8000', port: proxy.port('out'), target: null },
      { path: '/one', port: 8000, target: 'svc:8000' },
    ]);
  });
});
