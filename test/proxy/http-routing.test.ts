/**
 * HTTP routing through real listeners to real backends: outbound (absolute-form and Host-routed),
 * inbound, gateway Host routing, and the local replies Envoy gives when there is nowhere to go.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, deadPort, echo, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';
import { formatResponseFlags } from '../../src/telemetry/response-flags.js';
import { Disposer } from '../helpers/disposer.js';

describe('HTTP routing', () => {
  let reviews: Backend;
  let ratings: Backend;
  let app: Backend;
  let proxy: TestProxy;
  let dead: number;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    reviews = disposer.add(await startBackend(echo('reviews')), (r) => r.close());
    ratings = disposer.add(await startBackend(echo('ratings')), (r) => r.close());
    app = disposer.add(await startBackend(echo('app')), (r) => r.close());
    dead = await deadPort();
    proxy = disposer.add(await startProxy(
      snapshot({
        listeners: [
          httpListener('outbound', 'outbound-routes'),
          httpListener('inbound', 'inbound-routes', { direction: 'inbound' }),
          httpListener('gateway', 'gateway-routes', { direction: 'gateway' }),
        ],
        routes: [
          routeConfig('outbound-routes', [
            { name: 'reviews', domains: ['reviews', 'reviews:9080', 'reviews.default.svc.cluster.local:9080'], routes: [forward('reviews-route', 'outbound|9080||reviews')] },
            { name: 'ratings', domains: ['ratings:9080'], routes: [forward('ratings-route', 'outbound|9080||ratings')] },
            { name: 'missing', domains: ['missing:9080'], routes: [forward('missing-route', 'outbound|9080||nowhere')] },
            { name: 'empty', domains: ['empty:9080'], routes: [forward('empty-route', 'outbound|9080||empty')] },
            { name: 'down', domains: ['down:9080'], routes: [forward('down-route', 'outbound|9080||down')] },
          ]),
          routeConfig('inbound-routes', [{ name: 'inbound', domains: ['*'], routes: [forward('default', 'inbound|9080||')] }]),
          routeConfig('gateway-routes', [
            { name: 'bookinfo', domains: ['bookinfo.example.com'], routes: [forward('to-reviews', 'outbound|9080||reviews')] },
            { name: 'ratings', domains: ['*.ratings.example.com'], routes: [forward('to-ratings', 'outbound|9080||ratings')] },
          ]),
        ],
        clusters: [
          cluster('outbound|9080||reviews', [reviews.port]),
          cluster('outbound|9080||ratings', [ratings.port]),
          cluster('inbound|9080||', [app.port]),
          cluster('outbound|9080||empty', []),
          cluster('outbound|9080||down', [dead]),
        ],
      }),
    ), (r) => r.close());
  }));

  after(() => disposer.drain());

  const cases: { name: string; listener: string; path: string; host?: string; status: number; backend?: string; body?: string | RegExp; flags: string }[] = [
    { name: 'outbound absolute-form', listener: 'outbound', path: 'http://reviews:9080/reviews/0', status: 200, backend: 'reviews', flags: '-' },
    { name: 'outbound absolute-form, other service', listener: 'outbound', path: 'http://ratings:9080/ratings/0', status: 200, backend: 'ratings', flags: '-' },
    { name: 'outbound Host-routed', listener: 'outbound', path: '/reviews/1', host: 'reviews.default.svc.cluster.local:9080', status: 200, backend: 'reviews', flags: '-' },
    { name: 'inbound to the local app', listener: 'inbound', path: '/productpage', host: 'anything', status: 200, backend: 'app', flags: '-' },
    { name: 'gateway exact host', listener: 'gateway', path: '/reviews', host: 'bookinfo.example.com', status: 200, backend: 'reviews', flags: '-' },
    { name: 'gateway wildcard host', listener: 'gateway', path: '/', host: 'eu.ratings.example.com', status: 200, backend: 'ratings', flags: '-' },
    { name: 'no virtual host: 404 NR', listener: 'gateway', path: '/', host: 'unknown.example.com', status: 404, body: '', flags: 'NR' },
    { name: 'unknown service: 404 NR', listener: 'outbound', path: 'http://nosuch:9080/', status: 404, body: '', flags: 'NR' },
    { name: 'missing cluster: 503 NC', listener: 'outbound', path: 'http://missing:9080/', status: 503, body: '', flags: 'NC' },
    { name: 'no endpoints: 503 UH', listener: 'outbound', path: 'http://empty:9080/', status: 503, body: 'no healthy upstream', flags: 'UH' },
    {
      name: 'connection refused: 503 UF',
      listener: 'outbound',
      path: 'http://down:9080/',
      status: 503,
      body: 'upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused',
      flags: 'UF',
    },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      const before = proxy.records.length;
      const res = await request(proxy.port(c.listener), c.path, c.host === undefined ? {} : { headers: { host: c.host } });
      assert.equal(res.status, c.status);
      if (c.backend !== undefined) assert.equal(res.headers['x-backend'], c.backend);
      if (typeof c.body === 'string') assert.equal(res.body, c.body);
      const rec = proxy.records[before];
      assert.ok(rec, 'a request record was produced');
      assert.equal(formatResponseFlags(rec.flags), c.flags);
      assert.equal(rec.status, c.status);
    });
  }

  test('forwarded request carries x-request-id, x-forwarded-proto and no hop-by-hop headers; a sidecar adds no x-forwarded-for', async () => {
    const res = await request(proxy.port('outbound'), 'http://reviews:9080/h', { headers: { connection: 'keep-alive, x-drop-me', 'x-drop-me': '1', 'keep-alive': 'timeout=5', 'proxy-connection': 'keep-alive' } });
    const seen = JSON.parse(res.body) as { headers: Record<string, string>; url: string };
    assert.equal(seen.url, '/h');
    assert.equal(seen.headers.host, 'reviews:9080');
    assert.match(seen.headers['x-request-id'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(seen.headers['x-forwarded-for'], undefined);
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-envoy-attempt-count'], '1');
    assert.equal(seen.headers['x-drop-me'], undefined);
    assert.equal(seen.headers['keep-alive'], undefined);
    assert.equal(seen.headers['proxy-connection'], undefined);
    assert.equal(res.headers.server, 'envoy');
    assert.match(String(res.headers['x-envoy-upstream-service-time']), /^\d+$/);
  });

  test('an existing x-request-id is kept; x-forwarded-for passes a sidecar as it came and a gateway appends its peer', async () => {
    const headers = { 'x-request-id': 'abc-123', 'x-forwarded-for': '10.0.0.1', 'x-forwarded-proto': 'https' };
    const res = await request(proxy.port('outbound'), 'http://reviews:9080/', { headers });
    const seen = JSON.parse(res.body) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-request-id'], 'abc-123');
    assert.equal(seen.headers['x-forwarded-for'], '10.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    // The gateway runs with Envoy's use_remote_address, as Istio configures it.
    const gw = await request(proxy.port('gateway'), '/', { headers: { ...headers, host: 'bookinfo.example.com' } });
    const atGateway = JSON.parse(gw.body) as { headers: Record<string, string> };
    assert.equal(atGateway.headers['x-request-id'], 'abc-123');
    assert.equal(atGateway.headers['x-forwarded-for'], '10.0.0.1,127.0.0.1');
    assert.equal(atGateway.headers['x-forwarded-proto'], 'http');
  });

  test('inbound passes the app\'s server header through; outbound overwrites it', async () => {
    const inbound = await request(proxy.port('inbound'), '/', { headers: { host: 'x' } });
    assert.equal(inbound.headers.server, undefined, 'the echo app sends none, and none is added');
    const outbound = await request(proxy.port('outbound'), 'http://reviews:9080/');
    assert.equal(outbound.headers.server, 'envoy');
  });

  test('gateway responses say server: istio-envoy', async () => {
    const res = await request(proxy.port('gateway'), '/', { headers: { host: 'bookinfo.example.com' } });
    assert.equal(res.headers.server, 'istio-envoy');
    const nr = await request(proxy.port('gateway'), '/', { headers: { host: 'nope.example.com' } });
    assert.equal(nr.headers.server, 'istio-envoy');
  });

  test('the record names route, cluster and upstream host', async () => {
    const before = proxy.records.length;
    await request(proxy.port('outbound'), 'http://ratings:9080/r');
    const rec = proxy.records[before];
    assert.equal(rec.routeName, 'ratings-route');
    assert.equal(rec.upstreamCluster, 'outbound|9080||ratings');
    assert.equal(rec.upstreamHost, `127.0.0.1:${ratings.port}`);
    assert.equal(rec.method, 'GET');
    assert.equal(rec.path, '/r');
    assert.ok(rec.bytesSent > 0);
    assert.equal(rec.details, 'via_upstream');
  });
});
