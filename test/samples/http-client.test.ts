/** The samples' shared outbound HTTP helper: proxy selection from the environment, deadlines and error kinds. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HttpCallError, httpCall, pickHeaders } from '../../samples/lib/http-client.js';
import { bypassesProxy, proxyFor } from '../../samples/lib/proxy-env.js';
import { tool } from '../helpers/tools.js';
import { closedPort, startRecorder } from './helpers.js';

test('proxyFor picks HTTP_PROXY for http and HTTPS_PROXY for https', () => {
  const env = { HTTP_PROXY: 'http://127.0.0.1:15001', HTTPS_PROXY: 'proxy.local:3128' };
  assert.equal(proxyFor(new URL('http://reviews:9080/'), env)?.href, 'http://127.0.0.1:15001/');
  assert.equal(proxyFor(new URL('https://example.com/'), env)?.href, 'http://proxy.local:3128/');
  assert.equal(proxyFor(new URL('https://example.com/'), { HTTP_PROXY: 'http://p:1' }), undefined);
  assert.equal(proxyFor(new URL('http://x/'), { http_proxy: 'http://lower:1', HTTP_PROXY: 'http://upper:2' })?.host, 'lower:1');
  assert.equal(proxyFor(new URL('http://x/'), { HTTP_PROXY: '  ' }), undefined);
  assert.throws(() => proxyFor(new URL('http://x/'), { HTTP_PROXY: 'socks5://p:1' }), /HTTP_PROXY=socks5:\/\/p:1: only http:\/\/ proxies are supported/);
});

test('NO_PROXY matches hosts, domain suffixes, ports, CIDRs and *', () => {
  const list = 'localhost, .svc.cluster.local,example.com,10.0.0.0/8,api:8443,[::1]';
  assert.ok(bypassesProxy('localhost', '80', list));
  assert.ok(bypassesProxy('reviews.default.svc.cluster.local', '9080', list));
  assert.ok(bypassesProxy('a.example.com', '80', list));
  assert.ok(bypassesProxy('example.com', '80', list));
  assert.ok(!bypassesProxy('notexample.com', '80', list));
  assert.ok(bypassesProxy('10.1.2.3', '80', list));
  assert.ok(!bypassesProxy('11.1.2.3', '80', list));
  assert.ok(bypassesProxy('api', '8443', list));
  assert.ok(!bypassesProxy('api', '80', list));
  assert.ok(bypassesProxy('[::1]', '80', list));
  assert.ok(bypassesProxy('anything', '1', '*'));
  assert.ok(!bypassesProxy('reviews', '9080', undefined));
});

test('httpCall sends absolute-form requests to the proxy and keeps the target Host', async () => {
  const proxy = await startRecorder((_r, res) => res.end('from proxy'));
  try {
    const proxyUrl = new URL(proxy.url);
    proxyUrl.username = 'user';
    proxyUrl.password = 'p@ss';
    const res = await httpCall('http://ratings:9080/ratings/0?x=1', { proxy: proxyUrl, headers: { 'X-Request-Id': 'abc' } });
    assert.equal(res.body.toString(), 'from proxy');
    const seen = proxy.requests[0];
    assert.equal(seen.url, 'http://ratings:9080/ratings/0?x=1');
    assert.equal(seen.headers.host, 'ratings:9080');
    assert.equal(seen.headers['x-request-id'], 'abc');
    assert.equal(seen.headers['proxy-authorization'], `Basic ${Buffer.from('user:p@ss').toString('base64')}`);
  } finally {
    await proxy.close();
  }
});

test('httpCall classifies refused connections, deadlines and empty replies', async () => {
  const port = await closedPort();
  await assert.rejects(httpCall(`http://127.0.0.1:${port}/`, { proxy: null }), (err: unknown) => err instanceof HttpCallError && err.kind === 'connect');

  const server = http.createServer((req, res) => {
    if (req.url === '/hang') return; // never answers
    req.socket.destroy();
    void res;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await assert.rejects(httpCall(`${base}/hang`, { timeoutMs: 200, proxy: null }), (err: unknown) => err instanceof HttpCallError && err.kind === 'timeout' && /within 200 ms/.test(err.message));
    await assert.rejects(httpCall(`${base}/drop`, { proxy: null }), (err: unknown) => err instanceof HttpCallError && err.kind === 'empty-reply');
    await assert.rejects(httpCall('ftp://example.com/'), /unsupported URL scheme "ftp:"/);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('pickHeaders copies named headers and prefixed families only', () => {
  const picked = pickHeaders({ 'x-request-id': 'a', 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2', other: 'no', cookie: 'c' }, ['x-request-id', 'cookie', 'jwt'], ['x-datadog-']);
  assert.deepEqual(picked, { 'x-request-id': 'a', cookie: 'c', 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2' });
});

const openssl = tool('openssl');

/** A self-signed certificate for `secure.test`, made with openssl. */
function selfSigned(dir: string): { key: Buffer; cert: Buffer } {
  execFileSync(openssl.require(), ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=secure.test', '-addext', 'subjectAltName=DNS:secure.test'], { stdio: 'ignore' });
  return { key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) };
}

test('httpCall tunnels HTTPS through HTTPS_PROXY with CONNECT and verifies the server', { skip: openssl.skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-tls-'));
  let pair: { key: Buffer; cert: Buffer };
  try {
    pair = selfSigned(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const server = https.createServer(pair, (req, res) => res.end(`secure ${req.headers.host} ${req.url}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const serverPort = (server.address() as AddressInfo).port;
  const connects: string[] = [];
  const proxy = http.createServer();
  proxy.on('connect', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    connects.push(req.url ?? '');
    const upstream = net.connect(serverPort, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const env = { HTTPS_PROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` };
  try {
    const res = await httpCall('https://secure.test/hello', { env, tls: { ca: pair.cert } });
    assert.equal(res.body.toString(), 'secure secure.test /hello');
    assert.deepEqual(connects, ['secure.test:443']);
    await assert.rejects(httpCall('https://secure.test/again', { env }), (err: unknown) => err instanceof HttpCallError && err.kind === 'tls-verify');
    const direct = await httpCall(`https://secure.test:${serverPort}/direct`, { proxy: null, connectTo: { host: '127.0.0.1', port: serverPort }, tls: { ca: pair.cert } });
    assert.equal(direct.body.toString(), `secure secure.test:${serverPort} /direct`);
  } finally {
    // Not awaiting close: a server that handled CONNECT may never report itself drained,
    // although no socket remains open.
    for (const s of [server, proxy]) {
      s.close();
      s.closeAllConnections();
    }
  }
});
