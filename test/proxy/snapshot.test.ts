/**
 * Snapshots: validation with field paths (a bad snapshot is refused whole), atomic swaps with
 * requests in flight, listener and endpoint changes, and the admin and health endpoints.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { adminGet, cluster, echo, eventually, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';
import { SnapshotError } from '../../src/snapshot/index.js';
import { checkSnapshot } from '../../src/proxy/snapshot.js';
import type { ProxySnapshot } from '../../src/snapshot/index.js';
import { Disposer } from '../helpers/disposer.js';

const good = (): ProxySnapshot =>
  snapshot({
    listeners: [httpListener('out', 'r')],
    routes: [routeConfig('r', [{ name: 'all', domains: ['*'], routes: [forward('a', 'c')] }])],
    clusters: [cluster('c', [1234])],
  });

describe('snapshot validation', () => {
  const cases: { name: string; mutate: (s: Record<string, unknown> & ProxySnapshot) => unknown; path: string; reason: RegExp }[] = [
    { name: 'not an object', mutate: () => [], path: 'snapshot', reason: /must be an object/ },
    { name: 'missing version', mutate: (s) => ({ ...s, version: undefined }), path: 'version', reason: /non-empty string/ },
    { name: 'bad node kind', mutate: (s) => ({ ...s, node: { id: 'x', kind: 'router' } }), path: 'node.kind', reason: /sidecar, gateway/ },
    { name: 'port out of range', mutate: (s) => ({ ...s, listeners: [{ ...s.listeners[0], port: 70000 }] }), path: 'listeners[0].port', reason: /0\.\.65535/ },
    { name: 'unknown protocol', mutate: (s) => ({ ...s, listeners: [{ ...s.listeners[0], protocol: 'udp' }] }), path: 'listeners[0].protocol', reason: /http, tcp, auto/ },
    {
      name: 'route config that does not exist',
      mutate: (s) => ({ ...s, listeners: [{ ...s.listeners[0], http: { routeConfig: 'nope' } }] }),
      path: 'listeners[0].http.routeConfig',
      reason: /no route config named "nope"/,
    },
    {
      name: 'unknown path normalisation',
      mutate: (s) => ({ ...s, listeners: [{ ...s.listeners[0], http: { routeConfig: 'r', pathNormalization: 'DEFAULT' } }] }),
      path: 'listeners[0].http.pathNormalization',
      reason: /must be one of NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES, got "DEFAULT"/,
    },
    {
      name: 'duplicate listener names',
      mutate: (s) => ({ ...s, listeners: [s.listeners[0], s.listeners[0]] }),
      path: 'listeners[1].name',
      reason: /duplicate listener name/,
    },
    {
      name: 'bad regex in a route',
      mutate: (s) => ({ ...s, routes: [routeConfig('r', [{ name: 'all', domains: ['*'], routes: [{ ...forward('a', 'c'), match: [{ uri: { regex: '(' } }] }] }])] }),
      path: 'routes[0].virtualHosts[0].routes[0].match[0].uri.regex',
      reason: /./,
    },
    {
      name: 'a virtual host serving CONNECT as something unknown',
      mutate: (s) => ({ ...s, routes: [routeConfig('r', [{ name: 'svc', domains: ['svc:80'], routes: [forward('a', 'c')], connect: { serve: 'tcp' as 'http', tcpCluster: 'c' } }])] }),
      path: 'routes[0].virtualHosts[0].connect.serve',
      reason: /must be "http", not "tcp"/,
    },
    {
      name: 'bad cluster limit',
      mutate: (s) => ({ ...s, clusters: [cluster('c', [1], { connectionPool: { maxConnections: -1 } })] }),
      path: 'clusters[0]',
      reason: /maxConnections/,
    },
    { name: 'tcp listener without routes', mutate: (s) => ({ ...s, listeners: [{ name: 't', address: '127.0.0.1', port: 0, direction: 'outbound', protocol: 'tcp' }] }), path: 'listeners[0].tcp', reason: /required/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const input = c.mutate(good() as Record<string, unknown> & ProxySnapshot);
      assert.throws(
        () => checkSnapshot(input),
        (err: unknown) => {
          assert.ok(err instanceof SnapshotError, String(err));
          assert.equal(err.path, c.path);
          assert.match(err.reason, c.reason);
          return true;
        },
      );
    });
  }

  test('a valid snapshot comes back with cluster defaults resolved', () => {
    const { snapshot: s } = checkSnapshot(good());
    assert.equal(s.clusters[0].connectionPool.maxConnections, 4294967295);
    assert.equal(s.clusters[0].connectionPool.connectTimeoutMs, 10_000);
  });
});

describe('snapshot application', () => {
  let v1: Backend;
  let v2: Backend;
  let proxy: TestProxy;

  const snap = (version: string, target: number[], extra: Partial<ProxySnapshot> = {}): ProxySnapshot =>
    snapshot({
      version,
      listeners: [httpListener('out', 'r')],
      routes: [routeConfig('r', [{ name: 'all', domains: ['*'], routes: [forward('a', 'svc')] }])],
      clusters: [cluster('svc', target)],
      ...extra,
    });

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    v1 = disposer.add(await startBackend((req, res, body) => setTimeout(() => echo('v1')(req, res, body), req.url === '/slow' ? 300 : 0)), (r) => r.close());
    v2 = disposer.add(await startBackend(echo('v2')), (r) => r.close());
    proxy = disposer.add(await startProxy(null), (r) => r.close());
  }));

  after(() => disposer.drain());

  test('before any snapshot: /ready and /healthz/ready say not ready', async () => {
    const ready = await adminGet(proxy, '/ready');
    assert.equal(ready.status, 503);
    const health = await request(proxy.proxy.healthAddress()!.port, '/healthz/ready');
    assert.equal(health.status, 503);
  });

  test('first snapshot: listeners come up, admin says LIVE, health 200', async () => {
    const report = await proxy.proxy.applySnapshot(snap('1', [v1.port]));
    assert.deepEqual(report.listeners.added, ['out']);
    assert.equal((await request(proxy.port('out'), '/', { headers: { host: 'x' } })).headers['x-backend'], 'v1');
    const ready = await adminGet(proxy, '/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.body, 'LIVE\n');
    assert.equal((await request(proxy.proxy.healthAddress()!.port, '/healthz/ready')).status, 200);
  });

  test('a bad snapshot is refused whole and the running one keeps serving', async () => {
    const bad = snap('2', [v2.port]);
    bad.listeners.push({ ...httpListener('second', 'missing-routes') });
    await assert.rejects(proxy.proxy.applySnapshot(bad), (err: unknown) => err instanceof SnapshotError && err.path === 'listeners[1].http.routeConfig');
    assert.equal(proxy.proxy.snapshot!.version, '1');
    assert.equal((await request(proxy.port('out'), '/', { headers: { host: 'x' } })).headers['x-backend'], 'v1');
    assert.equal(proxy.proxy.listenerAddress('second'), undefined);
  });

  test('a snapshot whose listener cannot bind is refused and changes nothing', async () => {
    const blocker = net.createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const taken = (blocker.address() as net.AddressInfo).port;
    const s = snap('3', [v2.port]);
    s.listeners.push({ ...httpListener('clash', 'r'), port: taken });
    await assert.rejects(proxy.proxy.applySnapshot(s), (err: unknown) => err instanceof SnapshotError && /EADDRINUSE/.test(err.message));
    blocker.close();
    assert.equal(proxy.proxy.snapshot!.version, '1');
    assert.equal((await request(proxy.port('out'), '/', { headers: { host: 'x' } })).headers['x-backend'], 'v1', 'clusters were not touched');
  });

  test('swap with requests in flight: they finish on the old config, new ones use the new', async () => {
    const inflight = Array.from({ length: 6 }, () => request(proxy.port('out'), '/slow', { headers: { host: 'x' } }));
    await eventually(() => v1.count >= 7, 3000, 'the slow requests to reach v1');
    await proxy.proxy.applySnapshot(snap('4', [v2.port]));
    const results = await Promise.all(inflight);
    for (const r of results) {
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-backend'], 'v1');
    }
    assert.equal((await request(proxy.port('out'), '/', { headers: { host: 'x' } })).headers['x-backend'], 'v2');
    assert.equal(proxy.proxy.snapshot!.version, '4');
  });

  test('a keep-alive connection routes each request under the snapshot in force when it arrives', async () => {
    await proxy.proxy.applySnapshot(snap('4a', [v1.port]));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal((await request(proxy.port('out'), '/', { headers: { host: 'x' }, agent })).headers['x-backend'], 'v1');
      const connections = proxy.proxy.stats().get('http.out.downstream_cx_total');
      await proxy.proxy.applySnapshot(snap('4b', [v2.port]));
      assert.equal((await request(proxy.port('out'), '/', { headers: { host: 'x' }, agent })).headers['x-backend'], 'v2');
      assert.equal(proxy.proxy.stats().get('http.out.downstream_cx_total'), connections, 'the same downstream connection');
    } finally {
      agent.destroy();
    }
  });

  test('pooled connections to a removed endpoint are closed', async () => {
    await proxy.proxy.applySnapshot(snap('5', [v1.port]));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await request(proxy.port('out'), '/', { headers: { host: 'x' }, agent });
    agent.destroy();
    // Read afresh on every check: the count comes back through a callback.
    const openToV1 = (): Promise<number> => new Promise((resolve, reject) => v1.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    assert.ok((await openToV1()) > 0, 'the proxy keeps its connection to v1 pooled');
    await proxy.proxy.applySnapshot(snap('6', [v2.port]));
    await eventually(async () => (await openToV1()) === 0, 3000, 'the pooled connection to close');
  });

  test('listeners are added and removed', async () => {
    const s = snap('7', [v2.port]);
    s.listeners.push(httpListener('extra', 'r'));
    await proxy.proxy.applySnapshot(s);
    const extraPort = proxy.port('extra');
    assert.equal((await request(extraPort, '/', { headers: { host: 'x' } })).status, 200);
    await proxy.proxy.applySnapshot(snap('8', [v2.port]));
    assert.equal(proxy.proxy.listenerAddress('extra'), undefined);
    await eventually(
      () =>
        new Promise<boolean>((resolve) => {
          const c = net.connect(extraPort, '127.0.0.1');
          c.on('connect', () => {
            c.destroy();
            resolve(false);
          });
          c.on('error', () => resolve(true));
        }),
      3000,
      'the removed listener to stop accepting',
    );
  });

  test('admin: /config_dump, /clusters, /stats, /listeners', async () => {
    const dump = JSON.parse((await adminGet(proxy, '/config_dump')).body) as ProxySnapshot;
    assert.equal(dump.version, '8');
    assert.equal(dump.clusters[0].name, 'svc');
    const clusters = (await adminGet(proxy, '/clusters')).body;
    assert.match(clusters, new RegExp(`^svc::127\\.0\\.0\\.1:${v2.port}::cx_active::\\d+$`, 'm'));
    assert.match(clusters, /^svc::default_priority::max_connections::4294967295$/m);
    assert.match(clusters, new RegExp(`^svc::127\\.0\\.0\\.1:${v2.port}::health_flags::healthy$`, 'm'));
    const stats = (await adminGet(proxy, '/stats')).body;
    assert.match(stats, /^http\.out\.downstream_rq_total: \d+$/m);
    assert.match(stats, /^cluster\.svc\.upstream_rq_total: \d+$/m);
    assert.match(stats, /^server\.live: 1$/m);
    const filtered = (await adminGet(proxy, '/stats?filter=remaining_pending')).body.trim().split('\n');
    assert.ok(filtered.length > 0 && filtered.every((l) => l.includes('remaining_pending')));
    assert.match((await adminGet(proxy, '/listeners')).body, /^out::127\.0\.0\.1:\d+$/m);
    assert.equal((await adminGet(proxy, '/nope')).status, 404);
  });
});
