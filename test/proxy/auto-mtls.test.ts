/**
 * Istio mutual TLS between two real proxies, as translation configures it: the client's cluster
 * originates ISTIO_MUTUAL with its workload certificate towards endpoints that run a sidecar and
 * plaintext towards those that do not (automatic mTLS); the server's inbound listener terminates
 * it with its own workload certificate (PERMISSIVE: plaintext too; STRICT: plaintext reset),
 * takes the client's SPIFFE id as the peer identity and tells the app through
 * `X-Forwarded-Client-Cert`, and records both principals.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { cluster, echo, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, Echo, TestProxy } from './helpers.js';
import type { ChainTransport, ClusterTlsConfig, ProxySnapshot } from '../../src/snapshot/index.js';
import { authority, spiffe } from '../helpers/test-pki.js';
import type { Authority, Leaf } from '../helpers/test-pki.js';
import { Disposer } from '../helpers/disposer.js';

const AUTO: ClusterTlsConfig = { mode: 'ISTIO_MUTUAL', subjectAltNames: [spiffe('foo', 'httpbin')], autoMtls: true };

/** What a raw plaintext client sees: the status line, or the error that ended the connection. */
function plaintextGet(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString()));
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    s.on('close', () => resolve(got.split('\r\n')[0]));
    s.on('connect', () => s.write('GET /headers HTTP/1.1\r\nHost: httpbin\r\nx-forwarded-client-cert: By=forged\r\nConnection: close\r\n\r\n'));
  });
}

describe('automatic mutual TLS between sidecars', () => {
  let mesh: Authority;
  let httpbinCert: Leaf;
  let curlCert: Leaf;
  let app: Backend;
  let legacyApp: Backend;
  let server: TestProxy;
  let client: TestProxy;

  const serverSnap = (transport: ChainTransport, version: string): ProxySnapshot =>
    snapshot({
      version,
      listeners: [httpListener('inbound', 'in', { direction: 'inbound', filterChains: [{ name: 'mtls', transport }] })],
      routes: [routeConfig('in', [{ name: 'in', domains: ['*'], routes: [forward('app', 'inbound|8080||')] }])],
      clusters: [cluster('inbound|8080||', [app.port], { protocol: 'http1' })],
    });

  const clientSnap = (version: string): ProxySnapshot => {
    const sidecarEndpoint = { address: '127.0.0.1', port: server.port('inbound'), tlsMode: 'istio' as const, serviceAccount: spiffe('foo', 'httpbin') };
    const legacyEndpoint = { address: '127.0.0.1', port: legacyApp.port, tlsMode: 'disabled' as const };
    return snapshot({
      version,
      listeners: [httpListener('out', 'r')],
      routes: [
        routeConfig('r', [
          { name: 'foo', domains: ['httpbin.foo'], routes: [forward('foo', 'outbound|8000||httpbin.foo')] },
          { name: 'legacy', domains: ['httpbin.legacy'], routes: [forward('legacy', 'outbound|8000||httpbin.legacy')] },
          { name: 'forced', domains: ['forced.legacy'], routes: [forward('forced', 'forced')] },
        ]),
      ],
      clusters: [
        { name: 'outbound|8000||httpbin.foo', protocol: 'http1', endpoints: [sidecarEndpoint], tls: AUTO },
        { name: 'outbound|8000||httpbin.legacy', protocol: 'http1', endpoints: [legacyEndpoint], tls: { ...AUTO, subjectAltNames: [] } },
        // A DestinationRule's ISTIO_MUTUAL applies to every endpoint, sidecar or not.
        { name: 'forced', protocol: 'http1', endpoints: [legacyEndpoint], tls: { mode: 'ISTIO_MUTUAL' } },
      ],
    });
  };

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    mesh = authority('mesh');
    httpbinCert = mesh.issue('httpbin', [`URI:${spiffe('foo', 'httpbin')}`]);
    curlCert = mesh.issue('curl', [`URI:${spiffe('foo', 'curl')}`]);
    app = disposer.add(await startBackend(echo('httpbin.foo')), (r) => r.close());
    legacyApp = disposer.add(await startBackend(echo('httpbin.legacy')), (r) => r.close());
    server = disposer.add(await startProxy(null), (r) => r.close());
    server.proxy.workloadSecrets.install({ certChain: httpbinCert.cert, privateKey: httpbinCert.key, roots: mesh.cert });
    await server.proxy.applySnapshot(serverSnap({ mode: 'PERMISSIVE', tls: { mode: 'ISTIO_MUTUAL' } }, '1'));
    client = disposer.add(await startProxy(null), (r) => r.close());
    client.proxy.workloadSecrets.install({ certChain: curlCert.cert, privateKey: curlCert.key, roots: mesh.cert });
    await client.proxy.applySnapshot(clientSnap('1'));
  }));

  after(() => disposer.drain());

  const viaClient = async (host: string): Promise<{ status: number; echo: Echo | null; body: string }> => {
    const res = await request(client.port('out'), '/headers', { headers: { host, 'x-forwarded-client-cert': 'By=spiffe://forged;URI=spiffe://forged' } });
    return { status: res.status, body: res.body, echo: res.status === 200 ? (JSON.parse(res.body) as Echo) : null };
  };

  test('towards a sidecar: mutual TLS, and the app reads the client certificate in X-Forwarded-Client-Cert as Envoy writes it', async () => {
    const res = await viaClient('httpbin.foo');
    assert.equal(res.status, 200, res.body);
    const hash = createHash('sha256').update(new X509Certificate(curlCert.cert).raw).digest('hex');
    // The forged field the app sent is gone (the client sidecar sanitises); the server appends its own.
    assert.equal(res.echo?.headers['x-forwarded-client-cert'], `By=${spiffe('foo', 'httpbin')};Hash=${hash};Subject="O=skiff-test";URI=${spiffe('foo', 'curl')}`);
    const rec = server.records.at(-1);
    assert.equal(rec?.peerPrincipal, spiffe('foo', 'curl'), 'source.principal is the verified client');
    assert.equal(rec?.localPrincipal, spiffe('foo', 'httpbin'));
    const out = client.records.at(-1);
    assert.equal(out?.localPrincipal, spiffe('foo', 'curl'), 'the client side names itself');
    assert.equal(out?.peerPrincipal, spiffe('foo', 'httpbin'), 'and the server it verified');
  });

  test('towards an endpoint without a sidecar: plaintext under automatic mTLS (its plain HTTP server answers)', async () => {
    const res = await viaClient('httpbin.legacy');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.echo?.name, 'httpbin.legacy');
    assert.equal(res.echo?.headers['x-forwarded-client-cert'], undefined, 'the app never sees the forged field');
    const out = client.records.at(-1);
    assert.equal(out?.peerPrincipal, undefined, 'no principals over plaintext');
  });

  test('ISTIO_MUTUAL from a DestinationRule applies to an endpoint without a sidecar too, and fails there as in Istio', async () => {
    const res = await viaClient('forced.legacy');
    assert.equal(res.status, 503, res.body);
    assert.match(res.body, /^upstream connect error or disconnect\/reset before headers\. reset reason: /);
  });

  test('PERMISSIVE serves plaintext on the same port, with no XFCC (a forged one is removed) and no principals', async () => {
    const line = await plaintextGet(server.port('inbound'));
    assert.equal(line, 'HTTP/1.1 200 OK');
    const rec = server.records.at(-1);
    assert.equal(rec?.peerPrincipal, undefined);
    const seen = await request(server.port('inbound'), '/headers', { headers: { host: 'httpbin', 'x-forwarded-client-cert': 'By=forged' } });
    assert.equal((JSON.parse(seen.body) as Echo).headers['x-forwarded-client-cert'], undefined);
  });

  test('STRICT resets plaintext with a TCP RST while mutual TLS keeps working', async () => {
    await server.proxy.applySnapshot(serverSnap({ mode: 'STRICT', tls: { mode: 'ISTIO_MUTUAL' } }, '2'));
    assert.equal(await plaintextGet(server.port('inbound')), 'ECONNRESET');
    const res = await viaClient('httpbin.foo');
    assert.equal(res.status, 200, res.body);
  });

  test('a client certificate from another root is refused by the server', async () => {
    const stranger = authority('other-mesh').issue('curl', [`URI:${spiffe('foo', 'curl')}`]);
    const outcome = await new Promise<string>((resolve) => {
      const s = tls.connect({ port: server.port('inbound'), host: '127.0.0.1', cert: stranger.cert, key: stranger.key, ca: mesh.cert, checkServerIdentity: () => undefined, ALPNProtocols: ['istio-http/1.1', 'istio', 'http/1.1'] });
      let got = '';
      s.on('secureConnect', () => s.write('GET /headers HTTP/1.1\r\nHost: httpbin\r\n\r\n'));
      s.on('data', (c: Buffer) => (got += c.toString()));
      s.on('error', () => resolve(got === '' ? 'refused' : got));
      s.on('close', () => resolve(got === '' ? 'refused' : got));
    });
    assert.equal(outcome, 'refused');
  });
});
