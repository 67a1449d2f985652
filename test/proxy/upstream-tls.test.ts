/**
 * Upstream TLS through a running proxy: a cluster's `tls` block originates TLS on every way the
 * proxy connects upstream — the HTTP/1.1 pool, HTTP/2 sessions, the TCP proxy and CONNECT
 * tunnels — against real TLS servers that require a client certificate from a test CA; pooled
 * connections are reused (one handshake for many requests) and replaced when the TLS changes;
 * failures answer with Envoy's texts and count in `cluster.<name>.ssl.*`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { cluster, forward, httpListener, request, routeConfig, snapshot, startProxy } from './helpers.js';
import type { TestProxy } from './helpers.js';
import type { ClusterTlsConfig, ListenerConfig, ProxySnapshot } from '../../src/snapshot/index.js';
import { authority, spiffe } from '../helpers/test-pki.js';
import type { Authority, Leaf } from '../helpers/test-pki.js';
import { Disposer } from '../helpers/disposer.js';

const VERIFY_FAILED = 'TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end';

interface SecureBackend {
  port: number;
  /** TLS connections accepted (handshakes completed). */
  connections: number;
  /** Client certificate serials seen, one per connection. */
  clientSerials: string[];
  close(): Promise<void>;
}

/** Tracks the TLS connections of a server and closes them on `close`. */
function track(server: tls.Server, b: SecureBackend): void {
  const sockets = new Set<tls.TLSSocket>();
  server.on('secureConnection', (s: tls.TLSSocket) => {
    b.connections++;
    b.clientSerials.push(s.getPeerCertificate().serialNumber);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => {});
  b.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** HTTPS (HTTP/1.1) answering with the client's SPIFFE id and the protocol it saw. */
async function startHttps(leaf: Leaf, ca: Authority): Promise<SecureBackend> {
  const b: SecureBackend = { port: 0, connections: 0, clientSerials: [], close: async () => {} };
  const server = https.createServer({ cert: leaf.cert, key: leaf.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const peer = (req.socket as tls.TLSSocket).getPeerCertificate();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ client: peer.subjectaltname, protocol: `HTTP/${req.httpVersion}`, path: req.url }));
  });
  track(server, b);
  b.port = await listen(server);
  return b;
}

/** HTTP/2 over TLS (h2 only). */
async function startH2(leaf: Leaf, ca: Authority): Promise<SecureBackend> {
  const b: SecureBackend = { port: 0, connections: 0, clientSerials: [], close: async () => {} };
  const server = http2.createSecureServer({ cert: leaf.cert, key: leaf.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true, allowHTTP1: false });
  server.on('stream', (stream, headers) => {
    const peer = (stream.session!.socket as tls.TLSSocket).getPeerCertificate();
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(JSON.stringify({ client: peer.subjectaltname, protocol: 'HTTP/2', path: headers[':path'] }));
  });
  server.on('sessionError', () => {});
  track(server, b);
  b.port = await listen(server);
  return b;
}

/** A TLS echo prefixing what it returns with `tls:`. */
async function startTlsEcho(leaf: Leaf, ca: Authority): Promise<SecureBackend> {
  const b: SecureBackend = { port: 0, connections: 0, clientSerials: [], close: async () => {} };
  const server = tls.createServer({ cert: leaf.cert, key: leaf.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (s) => {
    s.on('error', () => {});
    s.on('data', (d: Buffer) => s.write(`tls:${d.toString()}`));
    s.on('end', () => s.end());
  });
  track(server, b);
  b.port = await listen(server);
  return b;
}

/** Connects, sends `data`, half-closes, and returns everything received. */
async function tcpRoundTrip(port: number, data: string): Promise<string> {
  const s = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  await once(s, 'connect');
  s.end(data);
  await once(s, 'close');
  return Buffer.concat(chunks).toString();
}

describe('upstream TLS through the proxy', () => {
  let mesh: Authority;
  let httpbin: Leaf;
  let curl: Leaf;
  let h1: SecureBackend;
  let h2: SecureBackend;
  let tcpEcho: SecureBackend;
  let p: TestProxy;

  const mutual = (sans: string[]): ClusterTlsConfig => ({
    mode: 'MUTUAL',
    clientCertificate: { pem: curl.cert },
    privateKey: { pem: curl.key },
    caCertificates: { pem: mesh.cert },
    subjectAltNames: sans,
  });
  const tcpListener: ListenerConfig = { name: 'tcp', address: '127.0.0.1', port: 0, direction: 'outbound', protocol: 'tcp', tcp: { routes: [{ destinations: [{ cluster: 'tls-echo', weight: 1 }] }] } };

  const snap = (h1Tls: ClusterTlsConfig, version = '1'): ProxySnapshot =>
    snapshot({
      version,
      listeners: [httpListener('out', 'r'), tcpListener],
      routes: [
        routeConfig('r', [
          { name: 'h1', domains: ['h1'], routes: [forward('a', 'h1')] },
          { name: 'h2', domains: ['h2'], routes: [forward('b', 'h2')] },
          { name: 'connect', domains: ['tunnel:443'], routes: [forward('c', 'tls-echo')] },
        ]),
      ],
      clusters: [
        cluster('h1', [h1.port], { protocol: 'http1', tls: h1Tls }),
        cluster('h2', [h2.port], { protocol: 'http2', tls: mutual([spiffe('foo', 'httpbin')]) }),
        cluster('tls-echo', [tcpEcho.port], { protocol: 'tcp', tls: mutual([spiffe('foo', 'httpbin')]) }),
      ],
    });

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    mesh = authority('mesh');
    httpbin = mesh.issue('httpbin', [`URI:${spiffe('foo', 'httpbin')}`]);
    curl = mesh.issue('curl', [`URI:${spiffe('foo', 'curl')}`]);
    h1 = disposer.add(await startHttps(httpbin, mesh), (r) => r.close());
    h2 = disposer.add(await startH2(httpbin, mesh), (r) => r.close());
    tcpEcho = disposer.add(await startTlsEcho(httpbin, mesh), (r) => r.close());
    p = disposer.add(await startProxy(snap(mutual([spiffe('foo', 'httpbin')]))), (r) => r.close());
  }));

  after(() => disposer.drain());

  const stat = (name: string): number => p.proxy.stats().get(name) ?? 0;

  test('HTTP/1.1: requests reach an mTLS server with the client certificate, over one pooled connection', async () => {
    const before = h1.connections;
    for (let i = 0; i < 3; i++) {
      const res = await request(p.port('out'), '/get', { headers: { host: 'h1' } });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(JSON.parse(res.body), { client: `URI:${spiffe('foo', 'curl')}`, protocol: 'HTTP/1.1', path: '/get' });
    }
    assert.equal(h1.connections - before, 1, 'one handshake, then the pooled connection');
    assert.equal(stat('cluster.h1.ssl.handshake'), 1);
  });

  test('HTTP/2: streams go over TLS negotiated with ALPN h2', async () => {
    const res = await request(p.port('out'), '/h2', { headers: { host: 'h2' } });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(JSON.parse(res.body), { client: `URI:${spiffe('foo', 'curl')}`, protocol: 'HTTP/2', path: '/h2' });
  });

  test('TCP proxy: bytes travel over the cluster\'s TLS, half-close included', async () => {
    assert.equal(await tcpRoundTrip(p.port('tcp'), 'ping'), 'tls:ping');
    assert.equal(tcpEcho.clientSerials.at(-1), curl.serial);
  });

  test('CONNECT: the tunnel\'s upstream side is the cluster\'s TLS', async () => {
    const s = net.connect(p.port('out'), '127.0.0.1');
    await once(s, 'connect');
    s.write('CONNECT tunnel:443 HTTP/1.1\r\nHost: tunnel:443\r\n\r\n');
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString()));
    while (!got.includes('\r\n\r\n')) await new Promise((r) => setTimeout(r, 5));
    assert.match(got, /^HTTP\/1\.1 200 /);
    got = '';
    s.write('through');
    while (got !== 'tls:through') await new Promise((r) => setTimeout(r, 5));
    s.destroy();
  });

  test('a server without the SAN asked for answers 503 with Envoy\'s text, counted as fail_verify_san', async () => {
    await p.proxy.applySnapshot(snap(mutual([spiffe('foo', 'reviews')]), '2'));
    const res = await request(p.port('out'), '/get', { headers: { host: 'h1' } });
    assert.equal(res.status, 503);
    assert.equal(res.body, `upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: ${VERIFY_FAILED}`);
    assert.ok(stat('cluster.h1.ssl.fail_verify_san') >= 1);
    assert.ok(stat('cluster.h1.upstream_cx_connect_fail') >= 1);
  });

  test('changing a cluster\'s TLS replaces its pooled connections; the same TLS keeps them', async () => {
    await p.proxy.applySnapshot(snap(mutual([spiffe('foo', 'httpbin')]), '3'));
    const first = h1.connections;
    assert.equal((await request(p.port('out'), '/get', { headers: { host: 'h1' } })).status, 200);
    assert.equal(h1.connections, first + 1, 'a new connection after the TLS changed');
    await p.proxy.applySnapshot(snap(mutual([spiffe('foo', 'httpbin')]), '4'));
    assert.equal((await request(p.port('out'), '/get', { headers: { host: 'h1' } })).status, 200);
    assert.equal(h1.connections, first + 1, 'an unchanged TLS keeps the pooled connection');
  });

  test('ISTIO_MUTUAL: refused as Envoy words it until the workload certificate is installed, then served with it', async () => {
    await p.proxy.applySnapshot(snap({ mode: 'ISTIO_MUTUAL', subjectAltNames: [spiffe('foo', 'httpbin')] }, '5'));
    const refused = await request(p.port('out'), '/get', { headers: { host: 'h1' } });
    assert.equal(refused.status, 503);
    assert.equal(refused.body, 'upstream connect error or disconnect/reset before headers. reset reason: local connection failure, transport failure reason: Secret is not supplied by SDS');

    const workload = mesh.issue('sleep', [`URI:${spiffe('foo', 'sleep')}`]);
    p.proxy.workloadSecrets.install({ certChain: workload.cert, privateKey: workload.key, roots: mesh.cert });
    const res = await request(p.port('out'), '/get', { headers: { host: 'h1' } });
    assert.equal(res.status, 200, res.body);
    assert.equal((JSON.parse(res.body) as { client: string }).client, `URI:${spiffe('foo', 'sleep')}`);
  });
});
