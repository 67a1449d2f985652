/**
 * CUSTOM authorization on a real proxy with Istio's ext-authz sample as the HTTP check service (a
 * real process): a request the policy matches is checked — `x-ext-authz: allow` passes with the
 * service's allowed headers forwarded, anything else gets the service's 403, body and headers,
 * flag UAEX —, a request it does not match is not checked, and a service that cannot be reached,
 * answers 5xx or is slower than the timeout answers `statusOnError` (403) unless `failOpen`. The
 * check goes on the provider cluster's own pool, counted as its requests, with the cluster's TLS.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { cluster, deadPort, echo, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, Echo, TestProxy } from './helpers.js';
import type { ClusterConfigInput, ExtAuthzProviderConfig, ProxySnapshot } from '../../src/snapshot/index.js';
import { ResponseFlag } from '../../src/telemetry/response-flags.js';
import { ENTRY, startApp, type App } from '../samples/helpers.js';
import { authority, spiffe } from '../helpers/test-pki.js';
import { Disposer } from '../helpers/disposer.js';

const DENY_BODY = 'denied by ext_authz for not found header `x-ext-authz: allow` in the request';

describe('ext_authz with the HTTP check service', () => {
  let app: Backend;
  let authz: App;
  /** The sample's HTTP port (it serves gRPC too, on a port of its own). */
  let authzHttpPort = 0;
  let proxy: TestProxy;
  let dead: number;
  /** A check service that answers what `flakyAnswer` says, after `flakyDelayMs`. */
  let flaky: Backend;
  let flakyAnswer = 503;
  let flakyDelayMs = 0;
  /** A check service behind mutual TLS, and the client certificates' SANs it saw. */
  let secure: https.Server;
  const secureClients: string[] = [];
  const mesh = authority('ext-authz');
  const proxyLeaf = mesh.issue('proxy', [`URI:${spiffe('foo', 'httpbin')}`]);

  /** The mutual-TLS provider's cluster, checking the server as `san`. */
  const secureClusters = (san = spiffe('foo', 'ext-authz')): ClusterConfigInput[] => [
    cluster('secure', [(secure.address() as AddressInfo).port], {
      tls: { mode: 'MUTUAL', clientCertificate: { pem: proxyLeaf.cert }, privateKey: { pem: proxyLeaf.key }, caCertificates: { pem: mesh.cert }, subjectAltNames: [san] },
    }),
  ];
  let secureSan: string | undefined;

  const snap = (provider: Partial<ExtAuthzProviderConfig>, version: string): ProxySnapshot =>
    snapshot({
      version,
      listeners: [httpListener('inbound_8000', 'inbound', { direction: 'inbound' })],
      routes: [routeConfig('inbound', [{ name: 'all', domains: ['*'], routes: [forward('app', 'app')] }])],
      clusters: [cluster('app', [app.port]), cluster('outbound|8000||ext-authz.foo.svc.cluster.local', [authzHttpPort]), cluster('dead', [dead]), cluster('flaky', [flaky.port]), ...secureClusters(secureSan)],
      authorization: {
        policies: [{ name: 'ext-authz', namespace: 'foo', action: 'CUSTOM', provider: 'sample-ext-authz-http', rules: [{ to: [{ operation: { paths: ['/headers'] } }] }] }],
        providers: [
          {
            name: 'sample-ext-authz-http',
            kind: 'http',
            cluster: 'outbound|8000||ext-authz.foo.svc.cluster.local',
            authority: 'ext-authz.foo.svc.cluster.local',
            includeRequestHeadersInCheck: ['x-ext-authz'],
            headersToUpstreamOnAllow: ['x-ext-authz-check-result'],
            ...provider,
          },
        ],
      },
    });

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    app = disposer.add(await startBackend(echo('httpbin')), (r) => r.close());
    authz = disposer.add(await startApp(ENTRY.extAuthz, { GRPC_PORT: '0' }, [], 2), (a) => a.stop());
    authzHttpPort = Number(/HTTP server listening on (\d+)/.exec(authz.stdout())?.[1]);
    dead = await deadPort();
    flaky = disposer.add(await startBackend((_req, res) => setTimeout(() => res.writeHead(flakyAnswer, { 'content-type': 'text/plain' }).end('from the flaky service'), flakyDelayMs)), (r) => r.close());
    const serverLeaf = mesh.issue('ext-authz', [`URI:${spiffe('foo', 'ext-authz')}`]);
    secure = https.createServer({ cert: serverLeaf.cert, key: serverLeaf.key, ca: mesh.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      secureClients.push((req.socket as TLSSocket).getPeerCertificate().subjectaltname ?? '');
      res.writeHead(200, { 'x-ext-authz-check-result': 'allowed' }).end();
    });
    disposer.add(secure, (s) => s.close());
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    proxy = disposer.add(await startProxy(null), (r) => r.close());
    await proxy.proxy.applySnapshot(snap({}, '1'));
  }));

  after(() => disposer.drain());

  test('x-ext-authz: deny gets the service\'s 403, its body and headers, flag UAEX', async () => {
    const r = await request(proxy.port('inbound_8000'), '/headers', { headers: { 'x-ext-authz': 'deny' } });
    assert.equal(r.status, 403);
    assert.equal(r.body, DENY_BODY);
    assert.equal(r.headers['x-ext-authz-check-result'], 'denied');
    const rec = proxy.records.at(-1);
    assert.equal(rec?.details, 'ext_authz_denied');
    assert.equal((rec?.flags ?? 0) & ResponseFlag.UAEX, ResponseFlag.UAEX);
  });

  test('x-ext-authz: allow reaches the app with the allowed header; other paths are not checked', async () => {
    const before = authz.stdout().split('\n').length;
    const r = await request(proxy.port('inbound_8000'), '/headers', { headers: { 'x-ext-authz': 'allow' } });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body) as Echo;
    assert.equal(seen.headers['x-ext-authz-check-result'], 'allowed');
    assert.match(authz.stdout(), /\[HTTP\]\[allowed\]: GET /);
    assert.equal((await request(proxy.port('inbound_8000'), '/ip')).status, 200);
    assert.equal(authz.stdout().split('\n').length, before + 1, 'only the /headers request was checked');
  });

  test('an unreachable service: 403 ext_authz_error, or the request passes with failOpen', async () => {
    await proxy.proxy.applySnapshot(snap({ cluster: 'dead' }, '2'));
    const r = await request(proxy.port('inbound_8000'), '/headers', { headers: { 'x-ext-authz': 'allow' } });
    assert.equal(r.status, 403);
    assert.equal(proxy.records.at(-1)?.details, 'ext_authz_error');
    await proxy.proxy.applySnapshot(snap({ cluster: 'dead', failOpen: true }, '3'));
    assert.equal((await request(proxy.port('inbound_8000'), '/headers')).status, 200);
    await proxy.proxy.applySnapshot(snap({ cluster: 'dead', statusOnError: 503 }, '4'));
    assert.equal((await request(proxy.port('inbound_8000'), '/headers')).status, 503);
  });

  test('a 5xx answer and an answer slower than the timeout are errors, not denials', async () => {
    flakyAnswer = 503;
    flakyDelayMs = 0;
    await proxy.proxy.applySnapshot(snap({ cluster: 'flaky' }, '5'));
    let r = await request(proxy.port('inbound_8000'), '/headers');
    assert.equal(r.status, 403);
    assert.equal(r.body, '', 'the service\'s 5xx body is not passed on');
    assert.equal(proxy.records.at(-1)?.details, 'ext_authz_error');
    flakyAnswer = 200;
    flakyDelayMs = 400;
    await proxy.proxy.applySnapshot(snap({ cluster: 'flaky', timeoutMs: 50 }, '6'));
    r = await request(proxy.port('inbound_8000'), '/headers');
    assert.equal(r.status, 403);
    assert.equal(proxy.records.at(-1)?.details, 'ext_authz_error');
    assert.equal(proxy.proxy.stats().get('cluster.flaky.upstream_rq_timeout'), 1, 'the check\'s timeout is counted as the cluster\'s');
    await proxy.proxy.applySnapshot(snap({ cluster: 'flaky', timeoutMs: 2000 }, '7'));
    assert.equal((await request(proxy.port('inbound_8000'), '/headers')).status, 200, 'the same service within the timeout allows');
  });

  test('the check goes on the provider cluster\'s pool: counted as its requests, on a kept-alive connection', async () => {
    await proxy.proxy.applySnapshot(snap({}, '8'));
    const stat = (name: string): number => proxy.proxy.stats().get(`cluster.outbound|8000||ext-authz.foo.svc.cluster.local.${name}`) ?? 0;
    const requests = stat('upstream_rq_total');
    const denied = stat('upstream_rq_403');
    const connections = stat('upstream_cx_total');
    assert.equal((await request(proxy.port('inbound_8000'), '/headers', { headers: { 'x-ext-authz': 'allow' } })).status, 200);
    assert.equal((await request(proxy.port('inbound_8000'), '/headers', { headers: { 'x-ext-authz': 'deny' } })).status, 403);
    assert.equal(stat('upstream_rq_total'), requests + 2);
    assert.equal(stat('upstream_rq_403'), denied + 1);
    assert.ok(stat('upstream_cx_total') <= connections + 1, 'both checks share one kept-alive connection');
  });

  test('a provider cluster with mutual TLS: the check carries the cluster\'s client certificate and checks the server\'s name', async () => {
    await proxy.proxy.applySnapshot(snap({ cluster: 'secure' }, '9'));
    const r = await request(proxy.port('inbound_8000'), '/headers');
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as Echo).headers['x-ext-authz-check-result'], 'allowed');
    assert.deepEqual(secureClients, [`URI:${spiffe('foo', 'httpbin')}`], 'the service saw the proxy\'s certificate');
    secureSan = spiffe('foo', 'someone-else');
    await proxy.proxy.applySnapshot(snap({ cluster: 'secure' }, '10'));
    assert.equal((await request(proxy.port('inbound_8000'), '/headers')).status, 403, 'a server that is not the one named is an error');
    assert.equal(proxy.records.at(-1)?.details, 'ext_authz_error');
    assert.equal(proxy.proxy.stats().get('cluster.secure.ssl.fail_verify_san'), 1);
    secureSan = undefined;
  });
});
