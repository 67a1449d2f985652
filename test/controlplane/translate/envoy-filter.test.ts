/**
 * EnvoyFilter rate-limit patches in translation, on the page's own EnvoyFilters: which proxies
 * they reach (root namespace and selector, the proxy's namespace, context), where the filters go
 * in the listener's chain and in which order, what VIRTUAL_HOST and HTTP_ROUTE merges change (and
 * that nothing shared between sidecars is changed in place), and patches Skiff does not apply,
 * which are named with their reason and leave the snapshot as it was.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigIndex, translateFor } from '../../../src/controlplane/translate/index.js';
import type { GatewayTarget, SidecarTarget } from '../../../src/controlplane/translate/index.js';
import type { RegistrySnapshot, Service } from '../../../src/registry/types.js';
import type { ProxySnapshot } from '../../../src/snapshot/index.js';
import { loadYaml, sidecarWorkload } from './cases.js';

const FIXTURES = join(process.cwd(), 'test', 'e2e', 'fixtures', 'ratelimit');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

function service(name: string, namespace: string, port: number, labels: Record<string, string> = { app: name }): Service {
  return { name, namespace, hostname: `${name}.${namespace}.svc.cluster.local`, ports: [{ name: 'http', port, targetPort: port, protocol: 'TCP' }], selector: labels };
}

const productpage = sidecarWorkload('productpage-1', 'default', { app: 'productpage', version: 'v1' }, 20001);
const ratings = sidecarWorkload('ratings-1', 'default', { app: 'ratings', version: 'v1' }, 20002);
const other = sidecarWorkload('productpage-x', 'shop', { app: 'productpage' }, 20003);
const registry: RegistrySnapshot = {
  services: [service('productpage', 'default', 9080), service('ratings', 'default', 9080), service('productpage', 'shop', 9080), service('ratelimit', 'default', 8081)],
  workloads: [productpage, ratings, other],
};
const sidecar = (w: typeof productpage): SidecarTarget => ({ kind: 'sidecar', id: w.sidecar!.proxyId, workload: w });
const gateway: GatewayTarget = {
  kind: 'gateway',
  id: 'istio-ingressgateway.istio-system',
  name: 'istio-ingressgateway',
  namespace: 'istio-system',
  labels: { istio: 'ingressgateway', app: 'istio-ingressgateway' },
  listenAddress: '127.0.0.1',
  portMap: { 80: 0, 8080: 0 },
};

const GATEWAY = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: bookinfo-gateway }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 8080, name: http, protocol: HTTP }
    hosts: ['*']
`;

function translateWith(yaml: string, target: SidecarTarget | GatewayTarget): { snap: ProxySnapshot; warnings: string[] } {
  const warnings: string[] = [];
  const index = new ConfigIndex(loadYaml('config.yaml', yaml), registry);
  return { snap: JSON.parse(JSON.stringify(translateFor(index, target, (m) => warnings.push(m)))) as ProxySnapshot, warnings };
}

const inbound = (s: ProxySnapshot) => s.listeners.find((l) => l.direction === 'inbound');

describe('EnvoyFilter: local rate limit (the page\'s listener-level filter)', () => {
  test('reaches productpage\'s inbound listener from the root namespace, read from its TypedStruct', () => {
    const { snap, warnings } = translateWith(fixture('local-ratelimit-listener.yaml'), sidecar(productpage));
    assert.deepEqual(warnings, []);
    assert.deepEqual(inbound(snap)?.http?.rateLimits, [
      {
        type: 'local',
        local: {
          statPrefix: 'http_local_rate_limiter',
          enabledPercent: 100,
          enforcedPercent: 100,
          tokenBucket: { maxTokens: 4, tokensPerFill: 4, fillIntervalMs: 60_000 },
          responseHeaders: [{ name: 'x-local-rate-limit', value: 'true', append: false }],
        },
      },
    ]);
    const outbound = snap.listeners.find((l) => l.direction === 'outbound');
    assert.equal(outbound?.http?.rateLimits, undefined, 'SIDECAR_INBOUND leaves the outbound listener alone');
  });

  test('a root-namespace filter selects by labels in every namespace; other workloads get nothing', () => {
    assert.ok(inbound(translateWith(fixture('local-ratelimit-listener.yaml'), sidecar(other)).snap)?.http?.rateLimits, 'productpage in shop is selected too');
    assert.equal(inbound(translateWith(fixture('local-ratelimit-listener.yaml'), sidecar(ratings)).snap)?.http?.rateLimits, undefined);
  });

  test('a filter in a workload namespace applies only there', () => {
    const yaml = fixture('local-ratelimit-listener.yaml').replace('namespace: istio-system', 'namespace: shop');
    assert.ok(inbound(translateWith(yaml, sidecar(other)).snap)?.http?.rateLimits);
    assert.equal(inbound(translateWith(yaml, sidecar(productpage)).snap)?.http?.rateLimits, undefined);
  });

  test('listener.portNumber selects the inbound port', () => {
    const at = (port: number) => fixture('local-ratelimit-listener.yaml').replace('        listener:\n', `        listener:\n          portNumber: ${port}\n`);
    assert.ok(inbound(translateWith(at(9080), sidecar(productpage)).snap)?.http?.rateLimits);
    assert.equal(inbound(translateWith(at(9090), sidecar(productpage)).snap)?.http?.rateLimits, undefined);
  });
});

describe('EnvoyFilter: local rate limit on the route (the page\'s second variant)', () => {
  test('the listener gets the filter without a bucket, route `default` of `inbound|http|9080` the bucket', () => {
    const { snap, warnings } = translateWith(fixture('local-ratelimit-route.yaml'), sidecar(productpage));
    assert.deepEqual(warnings, []);
    assert.deepEqual(inbound(snap)?.http?.rateLimits, [{ type: 'local', local: { statPrefix: 'http_local_rate_limiter', enabledPercent: 0, enforcedPercent: 0 } }]);
    const rc = snap.routes.find((r) => r.name === inbound(snap)?.http?.routeConfig);
    const vh = rc?.virtualHosts.find((v) => v.name === 'inbound|http|9080');
    assert.deepEqual(vh?.routes.map((r) => r.rateLimits?.local?.tokenBucket), [{ maxTokens: 4, tokensPerFill: 4, fillIntervalMs: 60_000 }]);
  });

  test('a shared outbound route config is copied, not changed in place', () => {
    const yaml = `${fixture('local-ratelimit-route.yaml').replace('context: SIDECAR_INBOUND\n        routeConfiguration:\n          vhost:\n            name: "inbound|http|9080"', 'context: SIDECAR_OUTBOUND\n        routeConfiguration:\n          vhost:\n            name: "ratings.default.svc.cluster.local:9080"')}`;
    const index = new ConfigIndex(loadYaml('config.yaml', yaml), registry);
    const page = translateFor(index, sidecar(productpage));
    const plain = translateFor(index, sidecar(ratings));
    const limited = (s: ProxySnapshot) => s.routes.some((rc) => rc.virtualHosts.some((vh) => vh.routes.some((r) => r.rateLimits !== undefined)));
    assert.equal(limited(page), true, 'productpage\'s outbound route to ratings carries the limit');
    assert.equal(limited(plain), false, 'ratings\' own outbound routes, shared before, are untouched');
  });
});

describe('EnvoyFilter: global rate limit at the gateway (the page\'s filters)', () => {
  const config = [GATEWAY, fixture('bookinfo-api-route.yaml'), fixture('filter-ratelimit.yaml'), fixture('filter-ratelimit-svc.yaml'), fixture('filter-ratelimit-svc-api.yaml')].join('\n---\n');

  test('the ratelimit filter goes on the gateway listener; every virtual host gets the :path action; route `api` its own', () => {
    const { snap, warnings } = translateWith(config, gateway);
    assert.deepEqual(warnings, []);
    const l = snap.listeners.find((x) => x.direction === 'gateway');
    assert.deepEqual(l?.http?.rateLimits, [
      {
        type: 'global',
        global: {
          domain: 'ratelimit',
          cluster: 'outbound|8081||ratelimit.default.svc.cluster.local',
          authority: 'ratelimit.default.svc.cluster.local',
          timeoutMs: 10_000,
          failureModeDeny: true,
          xRateLimitHeaders: false,
        },
      },
    ]);
    const vh = snap.routes.find((r) => r.name === l?.http?.routeConfig)?.virtualHosts.find((v) => v.name === '*:8080');
    assert.deepEqual(vh?.rateLimits, { policies: [{ actions: [{ type: 'requestHeaders', headerName: ':path', descriptorKey: 'PATH' }] }] });
    const api = vh?.routes.find((r) => r.name === 'api');
    assert.deepEqual(api?.rateLimits, {
      policies: [{ actions: [{ type: 'headerValueMatch', descriptorKey: 'PATH', descriptorValue: 'api', expectMatch: true, headers: [{ name: ':path', regex: '/api/v1/products/[1-9]{1,2}' }] }] }],
    });
    assert.equal(vh?.routes.find((r) => r.name !== 'api')?.rateLimits, undefined);
    assert.ok(snap.clusters.some((c) => c.name === 'outbound|8081||ratelimit.default.svc.cluster.local'), 'the rate-limit service\'s cluster is the mesh\'s');
  });

  test('sidecars are not touched by GATEWAY patches', () => {
    const { snap } = translateWith(config, sidecar(productpage));
    assert.equal(snap.listeners.some((l) => l.http?.rateLimits !== undefined), false);
  });

  test('filters are ordered by priority, then root namespace before the proxy\'s; INSERT_FIRST goes before', () => {
    const local = fixture('local-ratelimit-listener.yaml')
      .replace('app: productpage', 'istio: ingressgateway')
      .replace('context: SIDECAR_INBOUND', 'context: GATEWAY')
      .replace('name: filter-local-ratelimit-svc', 'name: gw-local');
    const first = local.replace('operation: INSERT_BEFORE', 'operation: ADD').replace('name: gw-local', 'name: gw-local-late').replace('spec:\n', 'spec:\n  priority: 10\n');
    const { snap } = translateWith([GATEWAY, fixture('filter-ratelimit.yaml'), first, local].join('\n---\n'), gateway);
    const types = snap.listeners.find((x) => x.direction === 'gateway')?.http?.rateLimits?.map((f) => f.type);
    // filter-ratelimit (before the router: last), gw-local (INSERT_BEFORE without a sub-filter: first), then gw-local-late (priority 10, ADD: last).
    assert.deepEqual(types, ['local', 'global', 'local']);
  });
});

describe('EnvoyFilter patches Skiff does not apply', () => {
  test('are named with their reason and change nothing', () => {
    const lua = `
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: { name: lua, namespace: istio-system }
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match: { context: SIDECAR_INBOUND }
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.lua
        typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua, inlineCode: "x" }
  - applyTo: CLUSTER
    patch: { operation: MERGE, value: { connect_timeout: 1s } }
`;
    const { snap, warnings } = translateWith(lua, sidecar(productpage));
    assert.equal(snap.listeners.some((l) => l.http?.rateLimits !== undefined), false);
    assert.deepEqual(warnings, [
      'EnvoyFilter istio-system/lua configPatches[0]: not applied: HTTP filter envoy.filters.http.lua is not supported by Skiff (envoy.filters.http.local_ratelimit and envoy.filters.http.ratelimit are)',
      'EnvoyFilter istio-system/lua configPatches[1]: not applied: applyTo CLUSTER is not supported by Skiff (only the rate-limit patches of HTTP_FILTER, HTTP_ROUTE and VIRTUAL_HOST are)',
    ]);
  });

  test('a malformed token bucket is named by its field', () => {
    const bad = fixture('local-ratelimit-listener.yaml').replace('fill_interval: 60s', 'fill_interval: 0.01s');
    const { snap, warnings } = translateWith(bad, sidecar(productpage));
    assert.equal(inbound(snap)?.http?.rateLimits, undefined);
    assert.match(warnings[0] ?? '', /configPatches\[0\]: not applied: value\.typed_config\.token_bucket\.fill_interval must be at least 50ms/);
  });
});
