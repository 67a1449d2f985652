/**
 * Sidecars of one scope share their outbound route config and clusters (built once per index):
 * sharing must never hand a sidecar another's config. Every sidecar's snapshot is compared with a
 * translation of that sidecar alone (a fresh index, nothing shared), and the cases where config
 * tells sidecars apart (namespace, Sidecar resource, workload-selected DestinationRule, source
 * labels, Telemetry selector) must give different outbound parts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigIndex, translateFor } from '../../../src/controlplane/translate/index.js';
import type { SidecarTarget } from '../../../src/controlplane/translate/index.js';
import type { ProxySnapshot } from '../../../src/snapshot/index.js';
import type { RegistrySnapshot, Service, WorkloadInstance } from '../../../src/registry/types.js';
import { loadYaml, sidecarWorkload } from './cases.js';

function service(name: string, namespace: string): Service {
  return {
    name,
    namespace,
    hostname: `${name}.${namespace}.svc.cluster.local`,
    ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' }],
    selector: { app: name },
  };
}

let nextPort = 20000;
function workload(name: string, namespace: string, labels: Record<string, string>): WorkloadInstance {
  return sidecarWorkload(name, namespace, labels, nextPort++);
}

const workloads = [
  workload('reviews-1', 'default', { app: 'reviews', version: 'v1' }),
  workload('reviews-2', 'default', { app: 'reviews', version: 'v2' }),
  workload('ratings-1', 'default', { app: 'ratings', version: 'v1' }),
  workload('details-1', 'default', { app: 'details', version: 'v1', tier: 'gold' }),
  workload('shop-1', 'shop', { app: 'shop' }),
  workload('shop-2', 'shop', { app: 'cart' }),
];
const registry: RegistrySnapshot = {
  services: [service('reviews', 'default'), service('ratings', 'default'), service('details', 'default'), service('shop', 'shop'), service('cart', 'shop')],
  workloads,
};

const target = (w: WorkloadInstance): SidecarTarget => ({ kind: 'sidecar', id: w.sidecar!.proxyId, workload: w });
const json = (s: ProxySnapshot): unknown => JSON.parse(JSON.stringify(s));

/** Every workload's snapshot from one shared index, and each from an index of its own. */
function translateAll(yaml: string): { shared: ProxySnapshot[]; alone: ProxySnapshot[]; warnings: string[][] } {
  const config = loadYaml('config.yaml', yaml);
  const index = new ConfigIndex(config, registry);
  const warnings: string[][] = workloads.map(() => []);
  const shared = workloads.map((w, i) => translateFor(index, target(w), (m) => warnings[i].push(m)));
  const alone = workloads.map((w) => translateFor(new ConfigIndex(config, registry), target(w)));
  return { shared, alone, warnings };
}

const byName = (name: string): number => workloads.findIndex((w) => w.name === name);

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews]
  http:
  - match: [{ sourceLabels: { version: v2 } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - route: [{ destination: { host: reviews, subset: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: broken, namespace: default }
spec:
  hosts: [ratings]
  http:
  - delegate: { name: missing }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: gold-ratings, namespace: default }
spec:
  host: ratings
  workloadSelector: { matchLabels: { tier: gold } }
  trafficPolicy: { loadBalancer: { simple: RANDOM } }
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: cart-only, namespace: shop }
spec:
  workloadSelector: { labels: { app: cart } }
  egress:
  - hosts: [./*]
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
`;

describe('shared sidecar translation', () => {
  test('every sidecar gets what it would get translated alone, warnings included', () => {
    const { shared, alone, warnings } = translateAll(CONFIG);
    for (let i = 0; i < workloads.length; i++) assert.deepEqual(json(shared[i]), json(alone[i]), `${workloads[i].name}`);
    // The broken rule is reported to each sidecar of the namespace that sees it, not only the first.
    for (const name of ['reviews-1', 'ratings-1', 'details-1']) assert.ok(warnings[byName(name)].some((m) => m.includes('default/broken')), name);
  });

  test('sidecars of one namespace and scope share the outbound part; per-workload parts stay their own', () => {
    const { shared } = translateAll(CONFIG);
    const a = shared[byName('reviews-1')];
    const b = shared[byName('ratings-1')];
    assert.equal(a.routes[0], b.routes[0], 'one outbound route config object');
    assert.equal(a.clusters[0], b.clusters[0], 'one object per outbound cluster');
    assert.notEqual(a.node.id, b.node.id);
    assert.notDeepEqual(a.listeners, b.listeners, 'each sidecar its own inbound port');
    assert.equal(a.version, shared[byName('reviews-1')].version);
  });

  test('source labels, workload-selected DestinationRules, namespaces and Sidecar resources tell sidecars apart', () => {
    const { shared } = translateAll(CONFIG);
    const outbound = (name: string): unknown => JSON.parse(JSON.stringify(shared[byName(name)].routes[0]));
    const clusters = (name: string): string => JSON.stringify(shared[byName(name)].clusters.filter((c) => c.name.startsWith('outbound|')));
    // reviews v2 callers are routed to subset v2 by their source labels; v1 callers are not.
    assert.notDeepEqual(outbound('reviews-1'), outbound('reviews-2'));
    assert.deepEqual(outbound('reviews-1'), outbound('ratings-1'));
    // The gold tier gets the workload-selected DestinationRule's load balancer.
    assert.notEqual(clusters('details-1'), clusters('ratings-1'));
    assert.match(clusters('details-1'), /RANDOM/);
    // Another namespace sees its own services under their short names.
    assert.notDeepEqual(outbound('shop-1'), outbound('ratings-1'));
    // The Sidecar resource limits cart's egress to its namespace and blocks the rest.
    const cart = JSON.stringify(outbound('shop-2'));
    const shop = JSON.stringify(outbound('shop-1'));
    assert.match(cart, /block_all/);
    assert.doesNotMatch(cart, /reviews\.default/);
    assert.match(shop, /reviews\.default/);
  });

  test('a Telemetry selector gives the selected workload its own telemetry section', () => {
    const { shared, alone } = translateAll(`
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: gold-tracing, namespace: default }
spec:
  selector: { matchLabels: { tier: gold } }
  tracing: [{ randomSamplingPercentage: 50 }]
`);
    assert.deepEqual(shared[byName('details-1')].telemetry, { tracing: { sampling: 50 } });
    assert.equal(shared[byName('ratings-1')].telemetry, undefined);
    for (let i = 0; i < workloads.length; i++) assert.deepEqual(json(shared[i]), json(alone[i]), `${workloads[i].name}`);
  });
});
