/**
 * Resilience as Istio users meet it: retries hiding failing endpoints, route and per-try timeouts,
 * circuit breaking reproducing Istio's task, and outlier ejection and return on the real clock.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { adminGet, answering, cluster, deadPort, echo, eventually, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';
import { formatResponseFlags } from '../../src/telemetry/response-flags.js';
import type { RetryPolicy } from '../../src/snapshot/index.js';

function retryOn(attempts: number, on: RetryPolicy['retryOn'], extra: Partial<RetryPolicy> = {}): RetryPolicy {
  return { attempts, retryOn: on, retriableStatusCodes: [], backoffBaseMs: 5, ...extra };
}

describe('retries and timeouts', () => {
  let good: Backend;
  let failing: Backend;
  let slow: Backend;
  let flaky: Backend;
  let dead: number;
  let proxy: TestProxy;
  let flakyCalls = 0;

  before(async () => {
    good = await startBackend(echo('good'));
    failing = await startBackend(answering(503, 'backend unavailable'));
    slow = await startBackend((req, res, body) => setTimeout(() => echo('slow')(req, res, body), 400));
    // Slow on its first call, fast afterwards: a per-try timeout then a successful retry.
    flaky = await startBackend((req, res, body) => {
      flakyCalls++;
      setTimeout(() => echo('flaky')(req, res, body), flakyCalls === 1 ? 400 : 0);
    });
    dead = await deadPort();
    const route = (name: string, c: string, extra: object = {}) => ({ name, domains: [name], routes: [forward(name, c, extra)] });
    proxy = await startProxy(
      snapshot({
        listeners: [httpListener('out', 'routes')],
        routes: [
          routeConfig('routes', [
            route('hide-dead', 'good-and-dead', { action: { type: 'route', destinations: [{ cluster: 'good-and-dead', weight: 1 }], retry: retryOn(3, ['connect-failure']) } }),
            route('hide-503', 'good-and-failing', { action: { type: 'route', destinations: [{ cluster: 'good-and-failing', weight: 1 }], retry: retryOn(3, ['5xx']) } }),
            route('always-503', 'failing', { action: { type: 'route', destinations: [{ cluster: 'failing', weight: 1 }], retry: retryOn(2, ['5xx']) } }),
            route('always-dead', 'dead', { action: { type: 'route', destinations: [{ cluster: 'dead', weight: 1 }], retry: retryOn(2, ['connect-failure']) } }),
            route('no-retry-503', 'failing', {}),
            route('timeout', 'slow', { action: { type: 'route', destinations: [{ cluster: 'slow', weight: 1 }], timeoutMs: 100 } }),
            route('per-try', 'flaky', { action: { type: 'route', destinations: [{ cluster: 'flaky', weight: 1 }], retry: retryOn(2, ['5xx'], { perTryTimeoutMs: 100 }) } }),
          ]),
        ],
        clusters: [
          cluster('good-and-dead', [dead, good.port]),
          cluster('good-and-failing', [failing.port, good.port]),
          cluster('failing', [failing.port]),
          cluster('dead', [dead]),
          cluster('slow', [slow.port]),
          cluster('flaky', [flaky.port]),
        ],
      }),
    );
  });

  after(async () => {
    await proxy.close();
    await Promise.all([good, failing, slow, flaky].map((b) => b.close()));
  });

  const get = (host: string) => request(proxy.port('out'), '/', { headers: { host } });

  test('retries on connect-failure hide an endpoint that refuses connections', async () => {
    for (let i = 0; i < 8; i++) {
      const res = await get('hide-dead');
      assert.equal(res.status, 200, `request ${i}`);
    }
  });

  test('retries on 5xx hide an endpoint answering 503; the retry carries x-envoy-attempt-count', async () => {
    const counts = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const res = await get('hide-503');
      assert.equal(res.status, 200, `request ${i}`);
      counts.add((JSON.parse(res.body) as { headers: Record<string, string> }).headers['x-envoy-attempt-count']);
    }
    assert.ok(counts.has('2'), 'some requests needed a second try');
  });

  test('a retried request carries its whole body again', async () => {
    const body = 'x'.repeat(100_000);
    for (let i = 0; i < 6; i++) {
      const res = await request(proxy.port('out'), '/upload', { method: 'POST', headers: { host: 'hide-503' }, body });
      assert.equal(res.status, 200);
      assert.equal((JSON.parse(res.body) as { bodyLength: number }).bodyLength, body.length);
    }
  });

  test('exhausted retries return the last 503 with flag URX', async () => {
    const before = failing.count;
    const n = proxy.records.length;
    const res = await get('always-503');
    assert.equal(res.status, 503);
    assert.equal(res.body, 'backend unavailable');
    assert.equal(failing.count - before, 3, 'first try + 2 retries');
    assert.equal(formatResponseFlags(proxy.records[n].flags), 'URX');
    assert.equal(proxy.records[n].attempts, 3);
  });

  test('exhausted connect retries: Envoy text with "retried and the latest", flags UF,URX', async () => {
    const n = proxy.records.length;
    const res = await get('always-dead');
    assert.equal(res.status, 503);
    assert.equal(
      res.body,
      'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused',
    );
    assert.equal(formatResponseFlags(proxy.records[n].flags), 'UF,URX');
  });

  test('without a retry policy an upstream 503 passes through untouched', async () => {
    const before = failing.count;
    const res = await get('no-retry-503');
    assert.equal(res.status, 503);
    assert.equal(res.body, 'backend unavailable');
    assert.equal(failing.count - before, 1);
  });

  test('route timeout: 504 upstream request timeout, flag UT', async () => {
    const n = proxy.records.length;
    const res = await get('timeout');
    assert.equal(res.status, 504);
    assert.equal(res.body, 'upstream request timeout');
    assert.equal(formatResponseFlags(proxy.records[n].flags), 'UT');
  });

  test('per-try timeout is retried and the second try answers', async () => {
    const res = await get('per-try');
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body) as { headers: Record<string, string> }).headers['x-envoy-attempt-count'], '2');
  });
});

describe('circuit breaking (Istio task)', () => {
  let httpbin: Backend;
  let proxy: TestProxy;

  before(async () => {
    httpbin = await startBackend((req, res, body) => setTimeout(() => echo('httpbin')(req, res, body), 10));
    proxy = await startProxy(
      snapshot({
        listeners: [httpListener('out', 'routes')],
        routes: [routeConfig('routes', [{ name: 'httpbin', domains: ['httpbin:8000'], routes: [forward('default', 'outbound|8000||httpbin.default.svc.cluster.local')] }])],
        clusters: [
          cluster('outbound|8000||httpbin.default.svc.cluster.local', [httpbin.port], {
            connectionPool: { maxConnections: 1, http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 },
          }),
        ],
      }),
    );
  });

  after(async () => {
    await proxy.close();
    await httpbin.close();
  });

  test('two concurrent clients × 20 requests: some 503 UO, the rest 200', async () => {
    const statuses: number[] = [];
    const bodies = new Set<string>();
    const client = async (): Promise<void> => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < 20; i++) {
        const res = await request(proxy.port('out'), 'http://httpbin:8000/get', { agent });
        statuses.push(res.status);
        if (res.status === 503) bodies.add(res.body);
      }
      agent.destroy();
    };
    const n = proxy.records.length;
    await Promise.all([client(), client()]);
    const ok = statuses.filter((s) => s === 200).length;
    const overflow = statuses.filter((s) => s === 503).length;
    assert.equal(ok + overflow, 40);
    assert.ok(ok > 0, 'some requests succeeded');
    assert.ok(overflow > 0, 'some requests tripped the breaker');
    assert.deepEqual([...bodies], ['upstream connect error or disconnect/reset before headers. reset reason: overflow']);
    const flags = proxy.records.slice(n).filter((r) => r.status === 503).map((r) => formatResponseFlags(r.flags));
    assert.ok(flags.every((f) => f === 'UO'), `flags: ${[...new Set(flags)].join(' ')}`);

    const stats = (await adminGet(proxy, '/stats')).body;
    const prefix = 'cluster.outbound|8000||httpbin.default.svc.cluster.local.';
    const overflowStat = new RegExp(`^${prefix.replace(/[|.]/g, '\\$&')}upstream_rq_pending_overflow: (\\d+)$`, 'm').exec(stats);
    assert.ok(overflowStat, 'upstream_rq_pending_overflow is reported');
    assert.equal(Number(overflowStat[1]), overflow);
    for (const stat of ['circuit_breakers.default.remaining_pending', 'circuit_breakers.default.rq_pending_open', 'circuit_breakers.high.rq_pending_open', 'upstream_rq_pending_active', 'upstream_rq_pending_failure_eject', 'upstream_rq_pending_total']) {
      assert.ok(stats.includes(`${prefix}${stat}: `), `stat ${stat}`);
    }
  });
});

describe('outlier detection', () => {
  let good: Backend;
  let bad: Backend;
  let proxy: TestProxy;

  before(async () => {
    good = await startBackend(echo('good'));
    bad = await startBackend((_req, res) => {
      res.writeHead(500);
      res.end('boom');
    });
    proxy = await startProxy(
      snapshot({
        listeners: [httpListener('out', 'routes')],
        routes: [routeConfig('routes', [{ name: 'svc', domains: ['*'], routes: [forward('default', 'svc')] }])],
        clusters: [
          cluster('svc', [bad.port, good.port], {
            // The ejection lasts long enough for the ten requests below on a loaded machine; its end is awaited, not timed.
            outlierDetection: { consecutive5xxErrors: 1, intervalMs: 50, baseEjectionTimeMs: 3000, maxEjectionPercent: 100 },
          }),
        ],
      }),
    );
  });

  after(async () => {
    await proxy.close();
    await Promise.all([good.close(), bad.close()]);
  });

  test('an endpoint answering 5xx is ejected, then returns after baseEjectionTime', async () => {
    const get = () => request(proxy.port('out'), '/', { headers: { host: 'svc' } });
    const badKey = `127.0.0.1:${bad.port}`;
    // Round robin reaches the bad host within two requests; one 5xx ejects it.
    let saw500 = false;
    for (let i = 0; i < 4 && !saw500; i++) saw500 = (await get()).status === 500;
    assert.ok(saw500, 'the bad endpoint answered once');
    const clusters = (await adminGet(proxy, '/clusters')).body;
    assert.ok(clusters.includes(`svc::${badKey}::health_flags::/failed_outlier_check`), 'the bad host is shown ejected');
    const before = bad.count;
    for (let i = 0; i < 10; i++) assert.equal((await get()).status, 200);
    assert.equal(bad.count, before, 'no traffic reached the ejected host');
    await eventually(async () => (await adminGet(proxy, '/clusters')).body.includes(`svc::${badKey}::health_flags::healthy`), 15000, 'the host to return');
    let back = false;
    for (let i = 0; i < 4 && !back; i++) back = (await get()).status === 500;
    assert.ok(back, 'the host receives traffic again');
  });
});
