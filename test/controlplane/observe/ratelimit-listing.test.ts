/**
 * The rate-limit listing `skiff proxy-config ratelimit` prints and the dashboard's Rate limits view
 * shows, on snapshots translated from the rate-limit task's own EnvoyFilters: a sidecar's local
 * limit (listener level, and the route-level variant whose listener filter has no bucket), the
 * gateway's global filter with its virtual host's and its `api` route's descriptors; and which of
 * the graph's rate-limited edges are shown beside a proxy.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { rateLimitListing } from '../../../src/controlplane/observe/ratelimit-listing.js';
import { rateLimitedEdgesOf } from '../../../src/controlplane/observe/ratelimited-edges.js';
import { rateLimitsTable } from '../../../src/cli/proxy-ratelimit-table.js';
import { ConfigIndex, translateFor } from '../../../src/controlplane/translate/index.js';
import type { GatewayTarget, SidecarTarget } from '../../../src/controlplane/translate/index.js';
import type { GraphEdge, ServiceGraph } from '../../../src/dashboard/sources.js';
import type { RegistrySnapshot, Service } from '../../../src/registry/types.js';
import type { ProxySnapshot } from '../../../src/snapshot/index.js';
import { loadYaml, sidecarWorkload } from '../translate/cases.js';

const FIXTURES = join(process.cwd(), 'test', 'e2e', 'fixtures', 'ratelimit');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');

function service(name: string, namespace: string, port: number): Service {
  return { name, namespace, hostname: `${name}.${namespace}.svc.cluster.local`, ports: [{ name: 'http', port, targetPort: port, protocol: 'TCP' }], selector: { app: name } };
}

const productpage = sidecarWorkload('productpage-1', 'default', { app: 'productpage', version: 'v1' }, 20001);
const ratings = sidecarWorkload('ratings-1', 'default', { app: 'ratings', version: 'v1' }, 20002);
const registry: RegistrySnapshot = {
  services: [service('productpage', 'default', 9080), service('ratings', 'default', 9080), service('ratelimit', 'default', 8081)],
  workloads: [productpage, ratings],
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

function translated(yaml: string, target: SidecarTarget | GatewayTarget): ProxySnapshot {
  return JSON.parse(JSON.stringify(translateFor(new ConfigIndex(loadYaml('config.yaml', yaml), registry), target, () => undefined))) as ProxySnapshot;
}

describe('rateLimitListing', () => {
  test("the listener-level local limit: productpage's inbound filter with its bucket; ratings has none", () => {
    const listing = rateLimitListing(translated(fixture('local-ratelimit-listener.yaml'), sidecar(productpage)));
    assert.equal(listing.filters.length, 1);
    const [f] = listing.filters;
    assert.match(f.listener, /inbound/);
    assert.deepEqual([f.filter, f.statPrefix, f.settings], ['envoy.filters.http.local_ratelimit', 'http_local_rate_limiter', '4 max, 4 per 60s; enabled 100%, enforced 100%']);
    assert.deepEqual(listing.routes, []);
    assert.deepEqual(rateLimitListing(translated(fixture('local-ratelimit-listener.yaml'), sidecar(ratings))), { filters: [], routes: [] });
  });

  test('the route-level variant: the filter without a bucket, the inbound route with its own', () => {
    const listing = rateLimitListing(translated(fixture('local-ratelimit-route.yaml'), sidecar(productpage)));
    assert.deepEqual(listing.filters.map((f) => f.settings), ['no bucket (routes carry theirs)']);
    assert.equal(listing.routes.length, 1);
    assert.deepEqual([listing.routes[0].virtualHost, listing.routes[0].local, listing.routes[0].descriptors], ['inbound|http|9080', '4 max, 4 per 60s; enabled 100%, enforced 100%', '-']);
  });

  test("the gateway's global filter, its virtual host's descriptor and the api route's own", () => {
    const yaml = [GATEWAY, fixture('filter-ratelimit.yaml'), fixture('filter-ratelimit-svc.yaml'), fixture('bookinfo-api-route.yaml'), fixture('filter-ratelimit-svc-api.yaml')].join('\n---\n');
    const snap = translated(yaml, gateway);
    const listing = rateLimitListing(snap);
    assert.deepEqual(
      listing.filters.map((f) => [f.filter, f.statPrefix, f.settings]),
      [['envoy.filters.http.ratelimit', 'ratelimit', 'domain ratelimit at outbound|8081||ratelimit.default.svc.cluster.local; timeout 10000ms; fail closed']],
    );
    assert.deepEqual(
      listing.routes.map((r) => [r.virtualHost, r.route, r.local, r.descriptors]),
      [
        ['*:8080', '*', '-', '[PATH=header :path]'],
        ['*:8080', 'api', '-', '[PATH=api if headers match]'],
      ],
    );
    // The CLI prints the same rows.
    const table = rateLimitsTable(snap).split('\n').map((l) => l.split(/ {3,}/).join(' | '));
    for (const r of listing.routes) assert.ok(table.includes([r.routeConfig, r.virtualHost, r.route, r.local, r.descriptors].join(' | ')), JSON.stringify(r));
  });
});

describe('rateLimitedEdgesOf', () => {
  const edge = (source: string, target: string, rateLimited: number): GraphEdge =>
    ({ id: `${source}->${target}/http`, source, target, rateLimited, rateLimitedRate: rateLimited / 10 }) as GraphEdge;
  const graph = {
    edges: [
      edge('workload:default/ratings-v1', 'service:productpage', 2),
      edge('workload:istio-system/gw', 'service:productpage', 0),
      edge('service:productpage', 'workload:default/productpage-v1', 2),
      edge('workload:default/productpage-v1', 'service:reviews', 1),
      edge('workload:istio-system/gw', 'service:details', 3),
    ],
  } as ServiceGraph;

  test("a sidecar's: the hop into its workload, the callers' edges into that service and its own calls out", () => {
    assert.deepEqual(
      rateLimitedEdgesOf(graph, 'workload:default/productpage-v1').map((e) => e.id),
      ['workload:default/ratings-v1->service:productpage/http', 'service:productpage->workload:default/productpage-v1/http', 'workload:default/productpage-v1->service:reviews/http'],
    );
  });

  test("a gateway's: its calls out that a limit answered", () => {
    assert.deepEqual(rateLimitedEdgesOf(graph, 'workload:istio-system/gw'), [{ id: 'workload:istio-system/gw->service:details/http', source: 'workload:istio-system/gw', target: 'service:details', rateLimited: 3, rateLimitedRate: 0.3 }]);
  });
});
