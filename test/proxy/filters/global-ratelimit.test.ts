/**
 * The global rate limit on a real proxy, calling a real gRPC rate-limit service (the sample's,
 * served by @grpc/grpc-js) on the service cluster's own HTTP/2 pool: OK passes, OVER_LIMIT answers
 * 429 with `x-envoy-ratelimited` and flag RL, the x-ratelimit headers when enabled; the call takes
 * the cluster's TLS (a service that requires a client certificate is reached with the cluster's
 * MUTUAL settings); an unreachable service or one slower than the timeout answers 500 RLSE when
 * failing closed and lets the request pass when failing open; Envoy's counters in `/stats`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ClusterConfigInput, ClusterTlsConfig, GlobalRateLimit, ProxySnapshot, RouteRateLimits } from '../../../src/snapshot/index.js';
import { formatResponseFlags } from '../../../src/telemetry/response-flags.js';
import { parseConfig } from '../../../samples/ratelimit/src/config.js';
import { serveRateLimitService } from '../../../samples/ratelimit/src/grpc-server.js';
import { RateLimitService, type ShouldRateLimitRequest, type ShouldRateLimitResponse } from '../../../samples/ratelimit/src/service.js';
import { MemoryStore } from '../../../samples/ratelimit/src/store.js';
import { authority, spiffe } from '../../helpers/test-pki.js';
import { adminGet, cluster, echo, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from '../helpers.js';
import type { Backend, TestProxy } from '../helpers.js';
import { Disposer } from '../../helpers/disposer.js';

const RLS = 'outbound|8081||ratelimit.default.svc.cluster.local';

/** The page's ConfigMap (`/productpage` once a minute), and `/api` twice a minute. */
const CONFIG = `domain: ratelimit
descriptors:
  - key: PATH
    value: "/productpage"
    rate_limit: {unit: minute, requests_per_unit: 1}
  - key: PATH
    value: "/api"
    rate_limit: {unit: minute, requests_per_unit: 2}
`;

/** The page's `rate_limits`: the `:path` header as descriptor PATH. */
const PATH_DESCRIPTOR: RouteRateLimits = { policies: [{ actions: [{ type: 'requestHeaders', headerName: ':path', descriptorKey: 'PATH' }] }] };

function newService(): RateLimitService {
  const { domain, root } = parseConfig(CONFIG, 'config.yaml');
  return new RateLimitService(new Map([[domain, root]]), new MemoryStore());
}

async function closedPort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('global rate limit on a proxy, against a gRPC rate-limit service', () => {
  let backend: Backend;
  let proxy: TestProxy;
  let plainPort: number;

  function snap(version: string, global: Partial<GlobalRateLimit> & { noAuthority?: true }, rlsCluster: Partial<ClusterConfigInput> & { port: number }, limits: RouteRateLimits = PATH_DESCRIPTOR): ProxySnapshot {
    const { noAuthority, ...fields } = global;
    const cfg: GlobalRateLimit = { domain: 'ratelimit', cluster: RLS, authority: 'ratelimit.default.svc.cluster.local', timeoutMs: 2000, failureModeDeny: true, xRateLimitHeaders: false, ...fields };
    if (noAuthority === true) delete cfg.authority;
    const { port, ...extra } = rlsCluster;
    return snapshot({
      version,
      listeners: [httpListener('gw', 'http.8080', { direction: 'outbound', http: { routeConfig: 'http.8080', rateLimits: [{ type: 'global', global: cfg }] } })],
      routes: [routeConfig('http.8080', [{ name: '*:8080', domains: ['*'], routes: [forward('default', 'productpage', { rateLimits: limits })] }])],
      clusters: [cluster('productpage', [backend.port]), cluster(RLS, [port], { protocol: 'http2', ...extra })],
    });
  }

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    backend = disposer.add(await startBackend(echo('productpage')), (r) => r.close());
    proxy = disposer.add(await startProxy(null), (r) => r.close());
    const plain = await serveRateLimitService(newService(), '127.0.0.1:0');
    disposer.add(plain.server, (s) => s.forceShutdown());
    plainPort = plain.port;
  }));
  after(() => disposer.drain());

  test('OK passes, OVER_LIMIT answers 429 with x-envoy-ratelimited and flag RL; counters as Envoy', async () => {
    await proxy.proxy.applySnapshot(snap('1', {}, { port: plainPort }));
    const port = proxy.port('gw');
    const replies = [await request(port, '/productpage'), await request(port, '/productpage')];
    assert.deepEqual(replies.map((r) => r.status), [200, 429]);
    assert.equal(replies[1].headers['x-envoy-ratelimited'], 'true');
    assert.equal(replies[0].headers['x-envoy-ratelimited'], undefined);
    const rec = proxy.records.at(-1);
    assert.equal(formatResponseFlags(rec?.flags ?? 0), 'RL');
    assert.equal(rec?.details, 'request_rate_limited');
    const stats = (await adminGet(proxy, '/stats')).body;
    for (const line of [`cluster.${RLS}.ratelimit.ok: 1`, `cluster.${RLS}.ratelimit.over_limit: 1`, `cluster.${RLS}.upstream_rq_total: 2`]) {
      assert.ok(stats.includes(line), `${line} in /stats`);
    }
  });

  test('enable_x_ratelimit_headers: the answer and the forwarded response carry x-ratelimit-limit/remaining/reset', async () => {
    await proxy.proxy.applySnapshot(snap('2', { xRateLimitHeaders: true }, { port: plainPort }));
    const port = proxy.port('gw');
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await request(port, '/api'));
    assert.deepEqual(replies.map((r) => r.status), [200, 200, 429]);
    assert.equal(replies[0].headers['x-ratelimit-limit'], '2, 2;w=60');
    assert.equal(replies[0].headers['x-ratelimit-remaining'], '1');
    assert.equal(replies[2].headers['x-ratelimit-remaining'], '0');
    assert.match(String(replies[2].headers['x-ratelimit-reset']), /^\d+$/);
  });

  test("the call takes the cluster's TLS: a service requiring a client certificate is reached with MUTUAL", async () => {
    const ca = authority('rls-mesh');
    const server = ca.issue('ratelimit', [`URI:${spiffe('default', 'ratelimit')}`]);
    const client = ca.issue('gateway', [`URI:${spiffe('istio-system', 'istio-ingressgateway-service-account')}`]);
    const secure = await serveRateLimitService(
      newService(),
      '127.0.0.1:0',
      grpc.ServerCredentials.createSsl(Buffer.from(ca.cert), [{ cert_chain: Buffer.from(server.cert), private_key: Buffer.from(server.key) }], true),
    );
    disposer.add(secure.server, (s) => s.forceShutdown());
    const mutual: ClusterTlsConfig = {
      mode: 'MUTUAL',
      clientCertificate: { pem: client.cert },
      privateKey: { pem: client.key },
      caCertificates: { pem: ca.cert },
      subjectAltNames: [spiffe('default', 'ratelimit')],
    };
    await proxy.proxy.applySnapshot(snap('3', {}, { port: secure.port, tls: mutual }));
    const port = proxy.port('gw');
    assert.deepEqual([(await request(port, '/productpage')).status, (await request(port, '/productpage')).status], [200, 429]);
    const stats = (await adminGet(proxy, '/stats')).body;
    assert.ok(stats.includes(`cluster.${RLS}.ssl.handshake: 1`), 'one TLS connection, pooled');

    // Without the client certificate the service refuses the handshake: fail closed.
    await proxy.proxy.applySnapshot(snap('4', {}, { port: secure.port, tls: { mode: 'SIMPLE', caCertificates: { pem: ca.cert }, subjectAltNames: [spiffe('default', 'ratelimit')] } }));
    const refused = await request(port, '/productpage');
    assert.equal(refused.status, 500);
    assert.equal(formatResponseFlags(proxy.records.at(-1)?.flags ?? 0), 'RLSE');
  });

  test('an unreachable service: 500 RLSE when failing closed, the request passes when failing open', async () => {
    const nobody = await closedPort();
    await proxy.proxy.applySnapshot(snap('5', { failureModeDeny: true }, { port: nobody }));
    const port = proxy.port('gw');
    const closed = await request(port, '/productpage');
    assert.equal(closed.status, 500);
    assert.equal(closed.headers['x-envoy-ratelimited'], undefined);
    assert.equal(formatResponseFlags(proxy.records.at(-1)?.flags ?? 0), 'RLSE');
    await proxy.proxy.applySnapshot(snap('6', { failureModeDeny: false }, { port: nobody }));
    assert.equal((await request(port, '/productpage')).status, 200);
    const stats = (await adminGet(proxy, '/stats')).body;
    assert.ok(stats.includes(`cluster.${RLS}.ratelimit.failure_mode_allowed: 1`), 'failure_mode_allowed counted');
  });

  test('the timeout: a service slower than it fails the call (500 when failing closed)', async () => {
    const slow = await serveRateLimitService(
      {
        shouldRateLimit: (req: ShouldRateLimitRequest): Promise<ShouldRateLimitResponse> =>
          new Promise((resolve) => setTimeout(() => resolve({ overallCode: 'OK', statuses: req.descriptors.map(() => ({ code: 'OK', currentLimit: null, limitRemaining: 0, durationUntilReset: null })), responseHeadersToAdd: [], requestHeadersToAdd: [] }), 1000)),
      },
      '127.0.0.1:0',
    );
    disposer.add(slow.server, (s) => s.forceShutdown());
    await proxy.proxy.applySnapshot(snap('7', { timeoutMs: 50 }, { port: slow.port }));
    const port = proxy.port('gw');
    assert.equal((await request(port, '/productpage')).status, 500);
    await proxy.proxy.applySnapshot(snap('8', { timeoutMs: 50, failureModeDeny: false }, { port: slow.port }));
    assert.equal((await request(port, '/productpage')).status, 200);
  });

  test("the cluster's circuit breaker holds for the calls: over http2MaxRequests a call fails at once, and the slot count comes back whole", async () => {
    const slow = await serveRateLimitService(
      {
        shouldRateLimit: (req: ShouldRateLimitRequest): Promise<ShouldRateLimitResponse> =>
          new Promise((resolve) => setTimeout(() => resolve({ overallCode: 'OK', statuses: req.descriptors.map(() => ({ code: 'OK', currentLimit: null, limitRemaining: 0, durationUntilReset: null })), responseHeadersToAdd: [], requestHeadersToAdd: [] }), 600)),
      },
      '127.0.0.1:0',
    );
    disposer.add(slow.server, (s) => s.forceShutdown());
    await proxy.proxy.applySnapshot(snap('11', { timeoutMs: 5000 }, { port: slow.port, connectionPool: { http2MaxRequests: 1 } }));
    const port = proxy.port('gw');
    const first = request(port, '/one');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await request(port, '/two')).status, 500, 'the second call overflows while the first holds the only slot');
    assert.equal((await request(port, '/three')).status, 500, 'and so does a third: the refused call gave back no slot it did not hold');
    assert.equal((await first).status, 200);
    const stats = (await adminGet(proxy, '/stats')).body;
    assert.ok(stats.includes(`cluster.${RLS}.circuit_breakers.default.remaining_rq: 1`), 'the slot is free again, released once');
  });

  test('without envoy_grpc.authority the call names the service host of the Istio cluster name (Node\'s HTTP/2 refuses `|`)', async () => {
    await proxy.proxy.applySnapshot(snap('10', { noAuthority: true }, { port: plainPort }));
    // Failing closed: a refused call would answer 500; the service answers OK for a path without a limit.
    assert.equal((await request(proxy.port('gw'), '/other')).status, 200);
  });

  test('a request whose rate_limits produce no descriptor makes no call', async () => {
    const nobody = await closedPort();
    await proxy.proxy.applySnapshot(snap('9', {}, { port: nobody }, { policies: [{ actions: [{ type: 'requestHeaders', headerName: 'x-user', descriptorKey: 'USER' }] }] }));
    assert.equal((await request(proxy.port('gw'), '/productpage')).status, 200, 'no x-user header: no descriptor, no call to the unreachable service');
  });
});
