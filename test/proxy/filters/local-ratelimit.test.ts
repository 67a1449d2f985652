/**
 * The local rate limit filter: its token buckets (refill by whole intervals, kept across
 * snapshots by key), its decision on request descriptions (enabled and enforced shares,
 * descriptors from the route's `rate_limits`, per-connection buckets, the route's own config
 * replacing the listener's), and on a real proxy: 200 four times then 429 `local_rate_limited`
 * with the configured headers, flag RL in the record and Envoy's counters in `/stats`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalTokenBuckets } from '../../../src/proxy/filters/local-ratelimit/token-bucket.js';
import { LocalRateLimitFilter, LOCAL_RATE_LIMITED } from '../../../src/proxy/filters/local-ratelimit/local-ratelimit.js';
import { RouteRateLimitConfig } from '../../../src/proxy/filters/ratelimit/descriptors.js';
import { RateLimitStats } from '../../../src/proxy/filters/ratelimit/stats.js';
import type { HttpVerdict } from '../../../src/proxy/filters/http-filter.js';
import type { LocalRateLimit, RouteRateLimits } from '../../../src/snapshot/index.js';
import { ResponseFlag, formatResponseFlags } from '../../../src/telemetry/response-flags.js';
import { adminGet, cluster, echo, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from '../helpers.js';
import type { Backend, TestProxy } from '../helpers.js';
import { filterRequest } from './helpers.js';
import { Disposer } from '../../helpers/disposer.js';

/** The productpage limit of Istio's task: 4 tokens, 4 per 60 s, always enabled and enforced. */
const PAGE_LIMIT: LocalRateLimit = {
  statPrefix: 'http_local_rate_limiter',
  tokenBucket: { maxTokens: 4, tokensPerFill: 4, fillIntervalMs: 60_000 },
  enabledPercent: 100,
  enforcedPercent: 100,
  responseHeaders: [{ name: 'x-local-rate-limit', value: 'true', append: false }],
};

const NO_CLUSTER = { destinationCluster: () => 'c' };

function statusOf(v: HttpVerdict): number {
  return v.kind === 'reply' ? v.status : v.kind === 'continue' ? 200 : -1;
}

describe('token buckets', () => {
  test('a bucket starts full, refills by whole intervals up to its size, and is found again by key', () => {
    let now = 1_000_000;
    const buckets = new LocalTokenBuckets(() => now);
    const b = { maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 1000 };
    assert.deepEqual([buckets.take('k', b), buckets.take('k', b), buckets.take('k', b)], [true, true, false]);
    now += 999;
    assert.equal(buckets.take('k', b), false, 'no refill before a whole interval');
    now += 1;
    assert.deepEqual([buckets.take('k', b), buckets.take('k', b)], [true, false], 'one token per interval');
    now += 10_000;
    assert.deepEqual([buckets.take('k', b), buckets.take('k', b), buckets.take('k', b)], [true, true, false], 'never above max_tokens');
    assert.equal(buckets.take('other', b), true, 'another key is another bucket');
  });
});

describe('local rate limit decisions', () => {
  test('four requests pass, the fifth is answered 429 local_rate_limited with the headers, flag RL; counters as Envoy', () => {
    let now = 0;
    const stats = new RateLimitStats();
    const f = new LocalRateLimitFilter(PAGE_LIMIT, 'inbound_9080#0', new LocalTokenBuckets(() => now), stats);
    const verdicts = [1, 2, 3, 4, 5].map(() => f.decide(filterRequest({ path: '/productpage' }), null, NO_CLUSTER));
    assert.deepEqual(verdicts.map(statusOf), [200, 200, 200, 200, 429]);
    const last = verdicts[4];
    assert.equal(last.kind, 'reply');
    if (last.kind !== 'reply') return;
    assert.equal(last.body, LOCAL_RATE_LIMITED);
    assert.equal(last.details, 'local_rate_limited');
    assert.equal(formatResponseFlags(last.flags), 'RL');
    assert.deepEqual(last.headers, [['x-local-rate-limit', 'true'], ['x-envoy-ratelimited', 'true']]);
    assert.deepEqual(Object.fromEntries(stats.entries()), {
      'http_local_rate_limiter.http_local_rate_limit.enabled': 5,
      'http_local_rate_limiter.http_local_rate_limit.enforced': 1,
      'http_local_rate_limiter.http_local_rate_limit.rate_limited': 1,
      'http_local_rate_limiter.http_local_rate_limit.ok': 4,
    });
    now += 60_000;
    assert.equal(statusOf(f.decide(filterRequest(), null, NO_CLUSTER)), 200, 'the next minute refills the bucket');
  });

  test('not enforced: limited requests are counted and pass; not enabled: nothing is counted', () => {
    const stats = new RateLimitStats();
    const shadow = new LocalRateLimitFilter({ ...PAGE_LIMIT, statPrefix: 'shadow', enforcedPercent: 0 }, 'l', new LocalTokenBuckets(() => 0), stats);
    const off = new LocalRateLimitFilter({ ...PAGE_LIMIT, statPrefix: 'off', enabledPercent: 0 }, 'l2', new LocalTokenBuckets(() => 0), stats);
    for (let i = 0; i < 6; i++) {
      assert.equal(statusOf(shadow.decide(filterRequest(), null, NO_CLUSTER)), 200);
      assert.equal(statusOf(off.decide(filterRequest(), null, NO_CLUSTER)), 200);
    }
    const s = Object.fromEntries(stats.entries());
    assert.equal(s['shadow.http_local_rate_limit.rate_limited'], 2);
    assert.equal(s['shadow.http_local_rate_limit.enforced'], 0);
    assert.equal(s['off.http_local_rate_limit.enabled'], 0);
  });

  test('a listener config without a bucket limits nothing; the route\'s own config (or its virtual host\'s) does', () => {
    const buckets = new LocalTokenBuckets(() => 0);
    const f = new LocalRateLimitFilter({ statPrefix: 'http_local_rate_limiter', enabledPercent: 0, enforcedPercent: 0 }, 'inbound_9080#0', buckets, new RateLimitStats());
    for (let i = 0; i < 6; i++) assert.equal(statusOf(f.decide(filterRequest(), null, NO_CLUSTER)), 200);
    const route = RouteRateLimitConfig.of('inbound|http|9080/default', { local: PAGE_LIMIT }, undefined, 'r');
    assert.deepEqual([1, 2, 3, 4, 5].map(() => statusOf(f.decide(filterRequest(), route, NO_CLUSTER))), [200, 200, 200, 200, 429]);
    const fromVhost = RouteRateLimitConfig.of('vh/other', undefined, { local: { ...PAGE_LIMIT, tokenBucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 } } }, 'r');
    assert.deepEqual([1, 2].map(() => statusOf(f.decide(filterRequest(), fromVhost, NO_CLUSTER))), [200, 429], 'the virtual host\'s config, in a bucket of its own');
  });

  test('descriptors: a request matching a configured descriptor takes from its bucket too', () => {
    const limits: RouteRateLimits = {
      policies: [{ actions: [{ type: 'headerValueMatch', descriptorKey: 'header_match', descriptorValue: 'productpage', expectMatch: true, headers: [{ name: ':path', prefix: '/productpage' }] }] }],
    };
    const cfg: LocalRateLimit = {
      ...PAGE_LIMIT,
      tokenBucket: { maxTokens: 100, tokensPerFill: 100, fillIntervalMs: 60_000 },
      descriptors: [{ entries: [{ key: 'header_match', value: 'productpage' }], tokenBucket: { maxTokens: 2, tokensPerFill: 2, fillIntervalMs: 60_000 } }],
    };
    const f = new LocalRateLimitFilter(cfg, 'l', new LocalTokenBuckets(() => 0), new RateLimitStats());
    const route = RouteRateLimitConfig.of('vh/r', limits, undefined, 'r');
    const page = [1, 2, 3].map(() => statusOf(f.decide(filterRequest({ path: '/productpage' }), route, NO_CLUSTER)));
    const other = [1, 2, 3].map(() => statusOf(f.decide(filterRequest({ path: '/static/x' }), route, NO_CLUSTER)));
    assert.deepEqual(page, [200, 200, 429]);
    assert.deepEqual(other, [200, 200, 200], 'other paths only use the default bucket');
  });

  test('per downstream connection: each connection has its own bucket', () => {
    const f = new LocalRateLimitFilter({ ...PAGE_LIMIT, tokenBucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 }, perConnection: true }, 'l', new LocalTokenBuckets(() => 0), new RateLimitStats());
    const a = filterRequest({ connection: { remotePort: 1 } });
    const b = filterRequest({ connection: { remotePort: 2 } });
    assert.deepEqual([statusOf(f.decide(a, null, NO_CLUSTER)), statusOf(f.decide(a, null, NO_CLUSTER))], [200, 429]);
    assert.equal(statusOf(f.decide(b, null, NO_CLUSTER)), 200, 'another connection starts full');
  });
});

describe('local rate limit on a proxy', () => {
  let backend: Backend;
  let proxy: TestProxy;

  function snap(version: string, limit: LocalRateLimit, routeLimits?: RouteRateLimits) {
    return snapshot({
      version,
      listeners: [httpListener('inbound_9080', 'inbound|9080||', { direction: 'inbound', http: { routeConfig: 'inbound|9080||', rateLimits: [{ type: 'local', local: limit }] } })],
      routes: [routeConfig('inbound|9080||', [{ name: 'inbound|http|9080', domains: ['*'], routes: [forward('default', 'inbound|9080||', routeLimits === undefined ? {} : { rateLimits: routeLimits })] }])],
      clusters: [cluster('inbound|9080||', [backend.port])],
    });
  }

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    backend = disposer.add(await startBackend(echo('productpage')), (r) => r.close());
    proxy = disposer.add(await startProxy(null), (r) => r.close());
  }));
  after(() => disposer.drain());

  test('listener level: 200 four times, then 429 local_rate_limited with x-local-rate-limit; flag RL; /stats counters', async () => {
    await proxy.proxy.applySnapshot(snap('1', PAGE_LIMIT));
    const port = proxy.port('inbound_9080');
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await request(port, '/productpage'));
    assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 200, 429]);
    const limited = replies[4];
    assert.equal(limited.body, 'local_rate_limited');
    assert.equal(limited.headers['x-local-rate-limit'], 'true');
    assert.equal(limited.headers['x-envoy-ratelimited'], 'true');
    assert.equal(replies[0].headers['x-local-rate-limit'], undefined, 'only the 429 carries the configured headers');
    const rec = proxy.records.at(-1);
    assert.equal(rec?.status, 429);
    assert.equal(formatResponseFlags(rec?.flags ?? 0), 'RL');
    assert.equal(rec?.details, 'local_rate_limited');
    assert.equal(proxy.records.filter((r) => ((r.flags & ResponseFlag.RL) !== 0)).length, 1, 'the passed requests carry no RL');
    const stats = await adminGet(proxy, '/stats');
    for (const line of ['http_local_rate_limiter.http_local_rate_limit.enabled: 5', 'http_local_rate_limiter.http_local_rate_limit.enforced: 1', 'http_local_rate_limiter.http_local_rate_limit.rate_limited: 1', 'http_local_rate_limiter.http_local_rate_limit.ok: 4']) {
      assert.ok(stats.body.includes(line), `${line} in\n${stats.body}`);
    }
  });

  test('a new snapshot with the same limit keeps the bucket; a changed limit starts a full one', async () => {
    await proxy.proxy.applySnapshot(snap('2', PAGE_LIMIT));
    const port = proxy.port('inbound_9080');
    assert.equal((await request(port, '/productpage')).status, 429, 'still empty after an unrelated push');
    await proxy.proxy.applySnapshot(snap('3', { ...PAGE_LIMIT, tokenBucket: { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 60_000 } }));
    assert.deepEqual([(await request(port, '/productpage')).status, (await request(port, '/productpage')).status], [200, 429]);
  });

  test('route level: the listener names the filter, the route carries the bucket (typed_per_filter_config)', async () => {
    await proxy.proxy.applySnapshot(snap('4', { statPrefix: 'http_local_rate_limiter', enabledPercent: 0, enforcedPercent: 0 }, { local: { ...PAGE_LIMIT, tokenBucket: { maxTokens: 2, tokensPerFill: 2, fillIntervalMs: 60_000 } } }));
    const port = proxy.port('inbound_9080');
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(port, '/productpage')).status);
    assert.deepEqual(statuses, [200, 200, 429]);
  });
});
