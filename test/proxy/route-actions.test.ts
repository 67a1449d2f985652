/**
 * Route actions end to end: fault delay and abort, mirrors, redirects, rewrites, header
 * operations, direct responses, CORS preflights and weighted destinations.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cluster, echo, eventually, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';
import { formatResponseFlags } from '../../src/telemetry/response-flags.js';
import type { Route } from '../../src/snapshot/index.js';
import { Disposer } from '../helpers/disposer.js';

describe('route actions', () => {
  let v1: Backend;
  let v2: Backend;
  let shadow: Backend;
  let proxy: TestProxy;
  const shadowSeen: { host: string; url: string; body: string }[] = [];

  const to = (c: string): Route['action'] => ({ type: 'route', destinations: [{ cluster: c, weight: 1 }] });

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    v1 = disposer.add(await startBackend(echo('v1')), (r) => r.close());
    v2 = disposer.add(await startBackend(echo('v2')), (r) => r.close());
    shadow = disposer.add(await startBackend((req, res, body) => {
      shadowSeen.push({ host: String(req.headers.host), url: String(req.url), body: body.toString() });
      res.writeHead(200);
      res.end('shadow');
    }), (r) => r.close());
    const routes: Route[] = [
      { name: 'delay', match: [{ uri: { prefix: '/delay' } }], action: to('v1'), fault: { delay: { fixedDelayMs: 150, percent: 100 } } },
      { name: 'abort', match: [{ uri: { prefix: '/abort' } }], action: to('v1'), fault: { abort: { httpStatus: 418, percent: 100 } } },
      { name: 'grpc-abort', match: [{ uri: { prefix: '/grpc-abort' } }], action: to('v1'), fault: { abort: { grpcStatus: 'UNAVAILABLE', percent: 100 } } },
      { name: 'mirror', match: [{ uri: { prefix: '/mirror' } }], action: { type: 'route', destinations: [{ cluster: 'v1', weight: 1 }], mirrors: [{ cluster: 'shadow' }] } },
      { name: 'redirect', match: [{ uri: { prefix: '/old' } }], action: { type: 'redirect', uri: '/new', authority: 'new.example.com', redirectCode: 302 } },
      { name: 'rewrite', match: [{ uri: { prefix: '/api/v1/' } }], action: { type: 'route', destinations: [{ cluster: 'v1', weight: 1 }], rewrite: { uri: '/', authority: 'internal.svc' } } },
      {
        name: 'headers',
        match: [{ uri: { prefix: '/headers' } }],
        action: to('v1'),
        requestHeaders: { set: { 'x-set': 'yes' }, add: { 'x-added': 'a' }, remove: ['x-remove-me'] },
        responseHeaders: { set: { 'x-resp': 'set' }, remove: ['x-backend'] },
      },
      { name: 'direct', match: [{ uri: { exact: '/direct' } }], action: { type: 'direct', status: 418, body: "I'm a teapot" } },
      {
        name: 'cors',
        match: [{ uri: { prefix: '/cors' } }],
        action: to('v1'),
        cors: { allowOrigins: [{ exact: 'https://app.example.com' }], allowMethods: ['GET', 'POST'], allowHeaders: ['x-custom'], maxAgeSeconds: 60 },
      },
      { name: 'split', match: [{ uri: { prefix: '/split' } }], action: { type: 'route', destinations: [{ cluster: 'v1', weight: 50 }, { cluster: 'v2', weight: 50 }] } },
      { name: 'only-v2', match: [{ uri: { prefix: '/only-v2' } }], action: { type: 'route', destinations: [{ cluster: 'v1', weight: 0 }, { cluster: 'v2', weight: 100 }] } },
    ];
    proxy = disposer.add(await startProxy(
      snapshot({
        listeners: [httpListener('out', 'routes')],
        routes: [routeConfig('routes', [{ name: 'svc', domains: ['svc', 'svc:9080'], routes }])],
        clusters: [cluster('v1', [v1.port]), cluster('v2', [v2.port]), cluster('shadow', [shadow.port])],
      }),
    ), (r) => r.close());
  }));

  after(() => disposer.drain());

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) =>
    request(proxy.port('out'), path, { method, headers: { host: 'svc:9080', ...headers }, ...(body === undefined ? {} : { body }) });

  test('fault delay holds the request for its 150 ms on the clock, then forwards it (DI)', async (t) => {
    const n = proxy.records.length;
    const stats = (): Map<string, number> => proxy.proxy.stats();
    const started = (): number => stats().get('cluster.v1.upstream_rq_total') ?? 0;
    const before = started();
    const arrived = stats().get('http.out.downstream_rq_total') ?? 0;
    // The proxy's timers on the mock clock; sockets stay real (polled with setImmediate, which is not mocked).
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const reply = get('/delay');
    while ((stats().get('http.out.downstream_rq_total') ?? 0) === arrived) await new Promise((r) => setImmediate(r));
    t.mock.timers.tick(149);
    assert.equal(started(), before, 'no upstream request within the delay');
    t.mock.timers.tick(1);
    assert.equal(started(), before + 1, 'the upstream request starts when the delay ends');
    t.mock.timers.reset();
    const res = await reply;
    assert.equal(res.status, 200);
    assert.equal(formatResponseFlags(proxy.records[n].flags), 'DI');
  });

  test('fault abort answers with the configured status and Envoy text (FI)', async () => {
    const before = v1.count;
    const n = proxy.records.length;
    const res = await get('/abort');
    assert.equal(res.status, 418);
    assert.equal(res.body, 'fault filter abort');
    assert.equal(v1.count, before, 'nothing reached the upstream');
    assert.equal(formatResponseFlags(proxy.records[n].flags), 'FI');
  });

  test('gRPC fault abort answers 200 with grpc-status', async () => {
    const res = await get('/grpc-abort');
    assert.equal(res.status, 200);
    assert.equal(res.headers['grpc-status'], '14');
    assert.equal(res.headers['content-type'], 'application/grpc');
  });

  test('mirror sends a copy with the -shadow authority, fire and forget', async () => {
    const res = await get('/mirror/x', {}, 'POST', 'payload');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-backend'], 'v1');
    await eventually(() => shadowSeen.length > 0, 3000, 'the shadow request');
    assert.deepEqual(shadowSeen[0], { host: 'svc-shadow:9080', url: '/mirror/x', body: 'payload' });
  });

  test('redirect answers 302 with the new location', async () => {
    const res = await get('/old?q=1');
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, 'http://new.example.com/new?q=1');
  });

  test('rewrite changes path and authority upstream and records the original path', async () => {
    const res = await get('/api/v1/items?x=2');
    const seen = JSON.parse(res.body) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/items?x=2');
    assert.equal(seen.headers.host, 'internal.svc');
    assert.equal(seen.headers['x-envoy-original-path'], '/api/v1/items?x=2');
  });

  test('request and response header operations', async () => {
    const res = await get('/headers', { 'x-remove-me': 'gone', 'x-set': 'client' });
    const seen = JSON.parse(res.body) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-set'], 'yes');
    assert.equal(seen.headers['x-added'], 'a');
    assert.equal(seen.headers['x-remove-me'], undefined);
    assert.equal(res.headers['x-resp'], 'set');
    assert.equal(res.headers['x-backend'], undefined);
  });

  test('direct response', async () => {
    const res = await get('/direct');
    assert.equal(res.status, 418);
    assert.equal(res.body, "I'm a teapot");
  });

  test('CORS preflight is answered locally; simple requests get allow-origin', async () => {
    const before = v1.count;
    const pre = await get('/cors', { origin: 'https://app.example.com', 'access-control-request-method': 'POST' }, 'OPTIONS');
    assert.equal(pre.status, 200);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(v1.count, before, 'the preflight did not reach the upstream');
    const simple = await get('/cors', { origin: 'https://app.example.com' });
    assert.equal(simple.status, 200);
    assert.equal(simple.headers['access-control-allow-origin'], 'https://app.example.com');
  });

  test('weighted destinations split traffic; weight 0 gets none', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add(String((await get('/split')).headers['x-backend']));
    assert.deepEqual([...seen].sort(), ['v1', 'v2']);
    for (let i = 0; i < 10; i++) assert.equal((await get('/only-v2')).headers['x-backend'], 'v2');
  });
});
