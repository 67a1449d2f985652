/**
 * The router's hot path on a mesh-sized route table (100 services, each like Bookinfo's reviews:
 * a header rule, a regex rule, a prefix rule with rewrite, a weighted default): `select` and the
 * per-request helpers. Each measured call is first checked to give the expected answer.
 */
import { compileRouteConfig } from '../../src/proxy/http/route/compile.js';
import type { RouteRequest } from '../../src/proxy/http/route/request.js';
import type { Route, RouteConfig } from '../../src/snapshot/index.js';
import { HeaderList } from '../../src/proxy/http/headers.js';
import { seededRandom } from '../../src/proxy/upstream/random.js';
import { check, measure } from './measure.js';
import type { MicroResult } from './measure.js';

const SERVICES = 100;

function meshConfig(): RouteConfig {
  const virtualHosts = [];
  for (let i = 0; i < SERVICES; i++) {
    const svc = `svc${i}`;
    const c = (v: string): string => `outbound|9080|${v}|${svc}.default.svc.cluster.local`;
    const routes: Route[] = [
      { name: `${svc}-jason`, match: [{ headers: { 'end-user': { exact: 'jason' } } }], action: { type: 'route', destinations: [{ cluster: c('v2'), weight: 100 }] } },
      { name: `${svc}-items`, match: [{ uri: { regex: '/items/[0-9]+' }, method: { exact: 'GET' } }], action: { type: 'route', destinations: [{ cluster: c('v3'), weight: 100 }] } },
      {
        name: `${svc}-api`,
        match: [{ uri: { prefix: '/api/' }, queryParams: { beta: { exact: '1' } } }, { uri: { prefix: '/api/v2/' } }],
        action: { type: 'route', destinations: [{ cluster: c('v2'), weight: 100 }], rewrite: { uri: '/' } },
      },
      {
        name: `${svc}-default`,
        match: [],
        action: { type: 'route', destinations: [{ cluster: c('v1'), weight: 90 }, { cluster: c('v2'), weight: 10 }], retry: { attempts: 2, retryOn: ['connect-failure'], retriableStatusCodes: [], backoffBaseMs: 25 } },
      },
    ];
    virtualHosts.push({ name: `${svc}:9080`, domains: [`${svc}.default.svc.cluster.local`, svc, `${svc}.default`, `10.96.1.${i}`], routes });
  }
  return { name: '9080', virtualHosts };
}

function request(authority: string, path: string, headers: Record<string, string> = {}): RouteRequest {
  return { method: 'GET', scheme: 'http', authority, path, port: 9080, headers: HeaderList.from(Object.entries(headers)) };
}

export function routerBench(): MicroResult[] {
  // Through JSON, as the snapshot reaches the proxy.
  const table = compileRouteConfig(JSON.parse(JSON.stringify(meshConfig())) as RouteConfig);
  const cases: [RouteRequest, string][] = [
    [request('svc42:9080', '/productpage', { 'end-user': 'jason', 'user-agent': 'curl' }), 'svc42-jason'],
    [request('svc7.default.svc.cluster.local:9080', '/items/123', { 'user-agent': 'curl' }), 'svc7-items'],
    [request('svc99', '/api/v2/users?x=1'), 'svc99-api'],
    [request('svc3:9080', '/api/list?beta=1'), 'svc3-api'],
    [request('10.96.1.50:9080', '/reviews/0', { 'end-user': 'alice' }), 'svc50-default'],
  ];
  for (const [req, want] of cases) check(table.select(req)?.name === want, `${req.authority}${req.path} selects ${want}`);
  const unknown = request('nope:9080', '/');
  check(table.select(unknown) === null, 'an unknown host selects nothing (404 NR)');

  const random = seededRandom(7);
  const weighted = table.select(cases[4][0])!;
  const api = table.select(cases[2][0])!;
  check(api.rewritePath('/api/v2/users?x=1') === '/users?x=1', 'the prefix rewrite');
  return [
    ...cases.map(([req, name]) => measure(`router: select ${name}`, 200_000, () => table.select(req), 10_000)),
    measure('router: select unknown host (404 NR)', 200_000, () => table.select(unknown), 10_000),
    measure('router: pickDestination 90/10', 500_000, () => weighted.pickDestination(random), 10_000),
    measure('router: rewritePath prefix', 500_000, () => api.rewritePath('/api/v2/users?x=1'), 10_000),
    measure('router: fault filter (none)', 500_000, () => weighted.filters.fault?.draw(random) ?? 0, 10_000),
    measure('router: shouldRetry', 500_000, () => weighted.retry!.shouldRetry('connect-failure'), 10_000),
  ];
}
