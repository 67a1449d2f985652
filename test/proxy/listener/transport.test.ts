/**
 * The listener's transport step on real sockets: TLS and plaintext served on one port by two
 * filter chains, STRICT resetting plaintext (the client sees ECONNRESET, as curl's exit 56),
 * chains chosen by SNI and by ALPN, HTTP/1.1 and HTTP/2 over terminated TLS through to the HTTP
 * codecs, client certificates asked for and verified (MUTUAL, ISTIO_MUTUAL with the SAN check),
 * the workload certificate rotated under live connections, and large bodies over TLS on both
 * sides of the proxy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { cluster, echo, forward, httpListener, routeConfig, snapshot, startBackend, startProxy } from '../helpers.js';
import type { Backend, TestProxy } from '../helpers.js';
import type { FilterChainConfig, ListenerConfig, ServerTlsConfig } from '../../../src/snapshot/index.js';
import { authority, spiffe } from '../../helpers/test-pki.js';
import { CONTINUE } from '../../../src/proxy/filters/verdict.js';
import type { ConnectionContext, ConnectionFilter } from '../../../src/proxy/filters/connection-filter.js';
import type { HttpFilter } from '../../../src/proxy/filters/http-filter.js';
import { withListenerFilters } from '../filters/helpers.js';
import type { Authority, Leaf } from '../../helpers/test-pki.js';
import { Disposer } from '../../helpers/disposer.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The server certificate the client saw (TLS only). */
  serverSans?: string;
  serverSerial?: string;
}

interface ClientTls {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
  ALPNProtocols?: string[];
}

/** One HTTPS/1.1 request on a fresh connection. */
function httpsGet(port: number, path: string, t: ClientTls, host = 'app'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path, headers: { host }, agent: false, checkServerIdentity: () => undefined, ...t },
      (res) => {
        const peer = (res.socket as tls.TLSSocket).getPeerCertificate();
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, serverSans: peer.subjectaltname, serverSerial: peer.serialNumber }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** One plaintext HTTP request; rejects with the socket error (ECONNRESET on a reset). */
function httpGet(port: number, path: string, host = 'app'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One HTTP/2 request over TLS (ALPN h2). */
async function h2Get(port: number, path: string, t: ClientTls): Promise<Reply & { alpn: string | false | null }> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { checkServerIdentity: () => undefined, ...t });
  session.on('error', () => {});
  try {
    const stream = session.request({ ':path': path, ':authority': 'app' });
    const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
    let body = '';
    stream.on('data', (c: Buffer) => (body += c.toString()));
    await once(stream, 'end');
    return { status: Number(headers[':status']), headers: {}, body, alpn: (session.socket as tls.TLSSocket).alpnProtocol };
  } finally {
    session.close();
  }
}

/** Opens a TLS connection and reports how it ended: connected (with the ALPN agreed) or the error. */
function tlsHandshake(port: number, t: ClientTls): Promise<{ ok: boolean; code?: string; alpn?: string | false | null; socket?: tls.TLSSocket }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, checkServerIdentity: () => undefined, ...t });
    s.once('secureConnect', () => resolve({ ok: true, alpn: s.alpnProtocol, socket: s }));
    // An alert may follow the client's own finished handshake (TLS 1.3): errors are read from `close`.
    s.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code }));
  });
}

/** TLS 1.3 lets the client finish before the server refuses it: a refusal shows as the connection closing. */
async function refused(port: number, t: ClientTls): Promise<boolean> {
  const h = await tlsHandshake(port, t);
  if (!h.ok) return true;
  const s = h.socket!;
  s.on('error', () => {});
  s.write('GET / HTTP/1.1\r\nhost: app\r\n\r\n');
  let got = '';
  s.on('data', (c: Buffer) => (got += c.toString()));
  // events.once would reject on the alert's 'error'; only the close matters here.
  await new Promise((resolve) => s.once('close', resolve));
  return got === '';
}

const pem = (text: string): { pem: string } => ({ pem: text });

describe('listener transport step', () => {
  let mesh: Authority;
  let other: Authority;
  let server: Leaf;
  let siteA: Leaf;
  let wildcard: Leaf;
  let curl: Leaf;
  let sleepLeaf: Leaf;
  let stranger: Leaf;
  let backend: Backend;
  let tcpEcho: net.Server;
  let tcpPort: number;
  let p: TestProxy;

  const mutual = (): ServerTlsConfig => ({ mode: 'MUTUAL', certificate: pem(server.cert), privateKey: pem(server.key), caCertificates: pem(mesh.cert) });
  const chainsListener = (name: string, chains: FilterChainConfig[], extra: Partial<ListenerConfig> = {}): ListenerConfig => ({ ...httpListener(name, 'r'), filterChains: chains, ...extra });

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    mesh = authority('mesh');
    other = authority('other');
    server = mesh.issue('inbound', [`URI:${spiffe('foo', 'httpbin')}`]);
    siteA = mesh.issue('site-a', ['DNS:a.example.com']);
    wildcard = mesh.issue('site-wild', ['DNS:*.example.com']);
    curl = mesh.issue('curl', [`URI:${spiffe('foo', 'curl')}`]);
    sleepLeaf = mesh.issue('sleep', [`URI:${spiffe('foo', 'sleep')}`]);
    stranger = other.issue('stranger', [`URI:${spiffe('foo', 'curl')}`]);
    backend = disposer.add(await startBackend(echo('app')), (r) => r.close());
    tcpEcho = net.createServer((s) => {
      s.on('error', () => {});
      s.on('data', (d: Buffer) => s.write(`tcp:${d.toString()}`));
      s.on('end', () => s.end());
    });
    disposer.add(tcpEcho, (s) => s.close());
    tcpPort = await new Promise<number>((resolve) => tcpEcho.listen(0, '127.0.0.1', () => resolve((tcpEcho.address() as net.AddressInfo).port)));

    p = disposer.add(await startProxy(null), (r) => r.close());
    // The proxy's own identity, for ISTIO_MUTUAL chains.
    p.proxy.workloadSecrets.install({ certChain: server.cert, privateKey: server.key, roots: mesh.cert });
    await p.proxy.applySnapshot(
      snapshot({
        listeners: [
          chainsListener('both', [
            { name: 'mtls', match: { transportProtocol: 'tls' }, transport: { mode: 'STRICT', tls: mutual() } },
            { name: 'plaintext', match: { transportProtocol: 'raw_buffer' } },
          ]),
          chainsListener('strict', [{ name: 'mtls', transport: { mode: 'STRICT', tls: { mode: 'ISTIO_MUTUAL' } } }]),
          chainsListener('permissive', [{ name: 'any', transport: { mode: 'PERMISSIVE', tls: { mode: 'ISTIO_MUTUAL', subjectAltNames: [spiffe('foo', 'curl')] } } }]),
          chainsListener('sni', [
            { name: 'a', match: { serverNames: ['a.example.com'] }, transport: { mode: 'STRICT', tls: { mode: 'SIMPLE', certificate: pem(siteA.cert), privateKey: pem(siteA.key) } } },
            { name: 'wild', match: { serverNames: ['*.example.com'] }, transport: { mode: 'STRICT', tls: { mode: 'SIMPLE', certificate: pem(wildcard.cert), privateKey: pem(wildcard.key) } } },
          ]),
          chainsListener(
            'alpn',
            [
              { name: 'tcp', match: { applicationProtocols: ['istio-peer-exchange', 'istio'] }, protocol: 'tcp', transport: { mode: 'STRICT', tls: { mode: 'ISTIO_MUTUAL' } } },
              { name: 'http', match: { transportProtocol: 'tls' }, transport: { mode: 'STRICT', tls: { mode: 'ISTIO_MUTUAL' } } },
            ],
            { protocol: 'auto', tcp: { routes: [{ destinations: [{ cluster: 'echo', weight: 1 }] }] } },
          ),
        ],
        routes: [routeConfig('r', [{ name: 'all', domains: ['*'], routes: [forward('app', 'app')] }])],
        clusters: [cluster('app', [backend.port], { protocol: 'http1' }), cluster('echo', [tcpPort], { protocol: 'tcp' })],
      }),
    );
  }));

  after(() => disposer.drain());

  const client = (leaf: Leaf, extra: ClientTls = {}): ClientTls => ({ ca: mesh.cert, cert: leaf.cert, key: leaf.key, ...extra });
  const stat = (listener: string, name: string): number => {
    const a = p.proxy.listenerAddress(listener)!;
    return p.proxy.stats().get(`listener.${a.address}_${a.port}.${name}`) ?? 0;
  };

  test('a TLS chain and a plaintext chain on one port: both are served, TLS as https', async () => {
    const secure = await httpsGet(p.port('both'), '/tls', client(curl));
    assert.equal(secure.status, 200, secure.body);
    assert.equal(secure.serverSans, `URI:${spiffe('foo', 'httpbin')}`);
    assert.equal((JSON.parse(secure.body) as { headers: Record<string, string> }).headers['x-forwarded-proto'], 'https');
    const plain = await httpGet(p.port('both'), '/plain');
    assert.equal(plain.status, 200, plain.body);
    assert.equal((JSON.parse(plain.body) as { headers: Record<string, string> }).headers['x-forwarded-proto'], 'http');
  });

  test('MUTUAL: a client without a certificate, or with one from another root, is refused', async () => {
    assert.ok(await refused(p.port('both'), { ca: mesh.cert }));
    assert.ok(await refused(p.port('both'), client(stranger)));
    assert.ok(stat('both', 'ssl.fail_verify_no_cert') >= 1);
  });

  test('STRICT: plaintext is reset with a TCP RST (the client sees ECONNRESET); TLS with a mesh certificate is served', async () => {
    const before = stat('strict', 'no_filter_chain_match');
    await assert.rejects(httpGet(p.port('strict'), '/'), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET');
    assert.equal(stat('strict', 'no_filter_chain_match'), before + 1);
    const res = await httpsGet(p.port('strict'), '/', client(curl));
    assert.equal(res.status, 200, res.body);
  });

  test('PERMISSIVE: plaintext and mTLS are both served; the SAN check refuses a client with another identity', async () => {
    assert.equal((await httpGet(p.port('permissive'), '/')).status, 200);
    assert.equal((await httpsGet(p.port('permissive'), '/', client(curl))).status, 200);
    assert.ok(await refused(p.port('permissive'), client(sleepLeaf)));
    assert.equal(stat('permissive', 'ssl.fail_verify_san'), 1);
  });

  test('SNI chooses the chain: an exact name before a wildcard; a name no chain takes is reset', async () => {
    const a = await httpsGet(p.port('sni'), '/', { ca: mesh.cert, servername: 'a.example.com' });
    assert.equal(a.status, 200);
    assert.equal(a.serverSans, 'DNS:a.example.com');
    const b = await httpsGet(p.port('sni'), '/', { ca: mesh.cert, servername: 'b.example.com' });
    assert.equal(b.serverSans, 'DNS:*.example.com');
    const before = stat('sni', 'no_filter_chain_match');
    const none = await tlsHandshake(p.port('sni'), { ca: mesh.cert, servername: 'c.example.org' });
    assert.equal(none.ok ? 'connected' : none.code, 'ECONNRESET');
    assert.equal(stat('sni', 'no_filter_chain_match'), before + 1);
  });

  test('ALPN chooses the chain: Istio\'s TCP list goes to the TCP proxy, h2 to the HTTP/2 codec', async () => {
    const h = await tlsHandshake(p.port('alpn'), client(curl, { ALPNProtocols: ['istio-peer-exchange', 'istio'] }));
    assert.ok(h.ok && h.socket !== undefined);
    // The chain selects from the HTTP list by default; a TCP chain selects none, as Envoy would.
    assert.equal(h.alpn, false);
    h.socket.write('bytes');
    const [data] = (await once(h.socket, 'data')) as [Buffer];
    assert.equal(data.toString(), 'tcp:bytes');
    h.socket.destroy();

    const res = await h2Get(p.port('alpn'), '/over-h2', client(curl));
    assert.equal(res.status, 200, res.body);
    assert.equal(res.alpn, 'h2');
    assert.equal((JSON.parse(res.body) as { url: string }).url, '/over-h2');
  });

  test('HTTP/1.1 over TLS: by ALPN http/1.1, and by sniffing the decrypted bytes when the client offers no ALPN', async () => {
    const byAlpn = await httpsGet(p.port('strict'), '/alpn', client(curl, { ALPNProtocols: ['http/1.1'] }));
    assert.equal(byAlpn.status, 200);
    const h = await tlsHandshake(p.port('strict'), client(curl));
    assert.equal(h.alpn, false);
    h.socket!.destroy();
    const sniffed = await httpsGet(p.port('strict'), '/sniffed', client(curl));
    assert.equal(sniffed.status, 200);
    const h2 = await h2Get(p.port('strict'), '/h2', client(curl));
    assert.equal(h2.status, 200);
  });

  test('the connection context carries what the step settled: TLS, SNI, ALPN and the client\'s SPIFFE id, for HTTP and TCP alike', async () => {
    const seen: ConnectionContext[] = [];
    const recordHttp: HttpFilter = { name: 'record', decide: (req) => (seen.push(req.connection), CONTINUE) };
    const recordTcp: ConnectionFilter = { name: 'record', decide: (conn) => (seen.push(conn), CONTINUE) };
    withListenerFilters(p.proxy, 'permissive', { http: [recordHttp] });
    withListenerFilters(p.proxy, 'alpn', { connection: [recordTcp] });

    assert.equal((await httpsGet(p.port('permissive'), '/', client(curl, { servername: 'httpbin.foo', ALPNProtocols: ['http/1.1'] }))).status, 200);
    assert.deepEqual(
      { tls: seen[0].tls, sni: seen[0].sni, alpn: seen[0].alpn, peer: seen[0].peerIdentity },
      { tls: true, sni: 'httpbin.foo', alpn: 'http/1.1', peer: spiffe('foo', 'curl') },
    );
    assert.equal((await httpGet(p.port('permissive'), '/')).status, 200);
    assert.deepEqual({ tls: seen[1].tls, sni: seen[1].sni, alpn: seen[1].alpn, peer: seen[1].peerIdentity }, { tls: false, sni: null, alpn: null, peer: null });

    const h = await tlsHandshake(p.port('alpn'), client(sleepLeaf, { ALPNProtocols: ['istio-peer-exchange', 'istio'] }));
    assert.ok(h.ok && h.socket !== undefined);
    h.socket.write('x');
    await once(h.socket, 'data');
    h.socket.destroy();
    assert.equal(seen[2].tls, true);
    assert.equal(seen[2].peerIdentity, spiffe('foo', 'sleep'), 'a TCP chain passes the connection phase with the verified peer');
  });

  test('a rotated workload certificate is served to new connections while a live one keeps working', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const viaAgent = (): Promise<Reply> =>
      new Promise((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port: p.port('strict'), path: '/', headers: { host: 'app' }, agent, checkServerIdentity: () => undefined, ...client(curl) }, (res) => {
          const serial = (res.socket as tls.TLSSocket).getPeerCertificate().serialNumber;
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '', serverSerial: serial }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      const live = await viaAgent();
      assert.equal(live.serverSerial, server.serial);
      const rotated = mesh.issue('inbound-rotated', [`URI:${spiffe('foo', 'httpbin')}`]);
      p.proxy.workloadSecrets.install({ certChain: rotated.cert, privateKey: rotated.key, roots: mesh.cert });
      const fresh = await httpsGet(p.port('strict'), '/', client(curl));
      assert.equal(fresh.serverSerial, rotated.serial);
      const again = await viaAgent();
      assert.equal(again.status, 200);
      assert.equal(again.serverSerial, server.serial, 'the kept-alive connection still runs on the certificate it was made with');
    } finally {
      agent.destroy();
      p.proxy.workloadSecrets.install({ certChain: server.cert, privateKey: server.key, roots: mesh.cert });
    }
  });

  test('large bodies cross TLS on both sides intact (TLS listener, TLS cluster)', async () => {
    const body = createHash('sha256').update('seed').digest().toString('hex').repeat(64 * 1024); // 4 MiB
    const upstream = https.createServer({ cert: server.cert, key: server.key, ca: mesh.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const hash = createHash('sha256');
      req.on('data', (c: Buffer) => hash.update(c));
      req.on('end', () => {
        res.writeHead(200, { 'x-request-sha': hash.digest('hex') });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()));
    const bulk = await startProxy(
      snapshot({
        listeners: [chainsListener('in', [{ name: 'mtls', transport: { mode: 'STRICT', tls: mutual() } }])],
        routes: [routeConfig('r', [{ name: 'all', domains: ['*'], routes: [forward('up', 'up')] }])],
        clusters: [
          cluster('up', [(upstream.address() as net.AddressInfo).port], {
            protocol: 'http1',
            tls: { mode: 'MUTUAL', clientCertificate: pem(curl.cert), privateKey: pem(curl.key), caCertificates: pem(mesh.cert) },
          }),
        ],
      }),
    );
    try {
      const res = await new Promise<{ status: number; requestSha: string; sha: string }>((resolve, reject) => {
        const req = https.request(
          { host: '127.0.0.1', port: bulk.port('in'), path: '/bulk', method: 'POST', headers: { host: 'app' }, agent: false, checkServerIdentity: () => undefined, ...client(curl) },
          (r) => {
            const hash = createHash('sha256');
            r.on('data', (c: Buffer) => hash.update(c));
            r.on('end', () => resolve({ status: r.statusCode ?? 0, requestSha: String(r.headers['x-request-sha']), sha: hash.digest('hex') }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      const expected = createHash('sha256').update(body).digest('hex');
      assert.equal(res.status, 200);
      assert.equal(res.requestSha, expected, 'the request body arrived whole');
      assert.equal(res.sha, expected, 'the response body arrived whole');
    } finally {
      await bulk.close();
      upstream.closeAllConnections();
      upstream.close();
    }
  });
});
