/**
 * Micro-benchmark of the router's hot path on a mesh-sized route table: prints ns/op for
 * `select` and the per-request helpers (reported, never asserted), and checks the answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Route, RouteConfig } from '../../../src/snapshot/index.js';
import type { RouteRequest } from '../../../src/proxy/http/route/request.js';
import { compile, request, seeded } from './helpers.js';

const SERVICES = 100;

/** 100 services, each like bookinfo reviews: a header rule, a regex rule, a prefix rule with rewrite, a weighted default. */
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

function measure(label: string, iterations: number, fn: (i: number) => unknown): string {
  for (let i = 0; i < 10_000; i++) fn(i); // warm up the JIT
  const start = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < iterations; i++) if (fn(i) !== null) sink++;
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  assert.ok(sink >= 0);
  return `${label}: ${ns.toFixed(0)} ns/op`;
}

test('router hot path (ns/op printed, not asserted)', (t) => {
  const table = compile(meshConfig());
  const reqs: [RouteRequest, string][] = [
    [request({ authority: 'svc42:9080', path: '/productpage', headers: { 'end-user': 'jason', 'user-agent': 'curl' } }), 'svc42-jason'],
    [request({ authority: 'svc7.default.svc.cluster.local:9080', path: '/items/123', headers: { 'user-agent': 'curl' } }), 'svc7-items'],
    [request({ authority: 'svc99', path: '/api/v2/users?x=1', headers: {} }), 'svc99-api'],
    [request({ authority: 'svc3:9080', path: '/api/list?beta=1', headers: {} }), 'svc3-api'],
    [request({ authority: '10.96.1.50:9080', path: '/reviews/0', headers: { 'end-user': 'alice' } }), 'svc50-default'],
  ];
  for (const [req, want] of reqs) assert.equal(table.select(req)?.name, want);

  const random = seeded(7);
  const lines = [
    ...reqs.map(([req, name]) => measure(`select ${name}`, 200_000, () => table.select(req))),
  ];
  const unknown = request({ authority: 'nope:9080' });
  lines.push(measure('select unknown host (404 NR)', 200_000, () => table.select(unknown)));
  const weighted = table.select(reqs[4][0])!;
  const api = table.select(reqs[2][0])!;
  lines.push(measure('pickDestination 90/10', 500_000, () => weighted.pickDestination(random)));
  lines.push(measure('rewritePath prefix', 500_000, () => api.rewritePath('/api/v2/users?x=1')));
  lines.push(measure('faultFor (none)', 500_000, () => weighted.faultFor(random)));
  lines.push(measure('shouldRetry', 500_000, () => weighted.retry!.shouldRetry('connect-failure')));
  for (const l of lines) t.diagnostic(l);
});
