/**
 * A captured sidecar reaching hosts outside the mesh that ServiceEntries declare (Istio's
 * "Accessing External Services" in Kubernetes mode): an external host has no address of its own,
 * so its app's connection goes to whatever address DNS gave it, and `virtualOutbound` hands it to
 * the listener of its port, `0.0.0.0_80`, which routes by Host among every service on that port.
 * A Host no service has passes through under ALLOW_ANY and gets a 502 under REGISTRY_ONLY. Routing
 * is checked with the proxy's own compiled route tables (`simulate`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigIndex, translateFor } from '../../../src/controlplane/translate/index.js';
import type { ListenerConfig, ProxySnapshot } from '../../../src/snapshot/index.js';
import { loadCase, loadYaml, type TranslateCase } from './cases.js';
import { simulate } from './simulate.js';

const CASE = 'kube-captured-sidecar';
const HTTPBIN = 'outbound|80||httpbin.org';
const REVIEWS_V1 = 'outbound|9080|v1|reviews.default.svc.cluster.local';
const RATINGS = 'outbound|9080||ratings.default.svc.cluster.local';

const SERVICE_ENTRIES = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin-ext, namespace: default}
spec:
  hosts: [httpbin.org]
  ports:
  - {number: 80, name: http, protocol: HTTP}
  resolution: DNS
  location: MESH_EXTERNAL
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api-ext, namespace: default}
spec:
  hosts: [api.example.com]
  ports:
  - {number: 8000, name: http, protocol: HTTP}
  - {number: 5432, name: tcp, protocol: TCP}
  resolution: DNS
  location: MESH_EXTERNAL
`;

function withEntries(c: TranslateCase, extra = ''): TranslateCase {
  return { ...c, config: [...c.config, ...loadYaml('service-entries.yaml', SERVICE_ENTRIES + extra)] };
}

function listener(snapshot: ProxySnapshot | { listeners: readonly ListenerConfig[] }, name: string): ListenerConfig | undefined {
  return snapshot.listeners.find((x) => x.name === name);
}

test('virtualOutbound falls back per HTTP port to 0.0.0.0_P, after the exact address targets; a TCP port without addresses gets none', () => {
  const sim = simulate(withEntries(loadCase(CASE)));
  const targets = listener(sim.checked.snapshot, 'virtualOutbound')?.capture?.targets ?? [];
  assert.deepEqual(
    targets.filter((t) => t.destination.startsWith(':')),
    [
      { destination: ':80', listener: '0.0.0.0_80' },
      { destination: ':8000', listener: '0.0.0.0_8000' },
      { destination: ':9080', listener: '0.0.0.0_9080' },
    ],
  );
  for (const port of [80, 8000, 9080]) {
    const l = listener(sim.checked.snapshot, `0.0.0.0_${port}`);
    assert.deepEqual([l?.address, l?.port, l?.bindToPort, l?.protocol, l?.http?.routeConfig], ['0.0.0.0', port, false, 'http', String(port)]);
  }
  assert.equal(listener(sim.checked.snapshot, '0.0.0.0_5432'), undefined);
});

test("a ServiceEntry host's HTTP port routes by Host, with or without the port, to the ServiceEntry's cluster", () => {
  const sim = simulate(withEntries(loadCase(CASE)), { mesh: { outboundTrafficPolicy: 'REGISTRY_ONLY' } });
  for (const authority of ['httpbin.org', 'httpbin.org:80', 'HTTPBIN.org']) assert.equal(sim.cluster({ authority }, '0.0.0.0_80'), HTTPBIN, authority);
  for (const authority of ['api.example.com', 'api.example.com:8000']) assert.equal(sim.cluster({ authority }, '0.0.0.0_8000'), 'outbound|8000||api.example.com', authority);
  // Each port has its own services: httpbin.org is not on 8000.
  assert.equal(sim.route({ authority: 'httpbin.org' }, '0.0.0.0_8000')?.directStatus, 502);
});

test('under REGISTRY_ONLY a Host no service has on the port gets a 502 (block_all); under ALLOW_ANY it passes through to the original destination', () => {
  const blocked = simulate(withEntries(loadCase(CASE)), { mesh: { outboundTrafficPolicy: 'REGISTRY_ONLY' } });
  const r = blocked.route({ authority: 'unknown.example.com' }, '0.0.0.0_80');
  assert.deepEqual([r?.name, r?.kind, r?.directStatus], ['block_all', 'direct', 502]);
  const open = simulate(withEntries(loadCase(CASE)));
  const p = open.route({ authority: 'unknown.example.com' }, '0.0.0.0_80');
  assert.deepEqual([p?.name, p?.destinations.map((d) => d.cluster)], ['allow_any', ['PassthroughCluster']]);
  assert.equal(open.clusterConfig('PassthroughCluster')?.discovery, 'original-dst');
});

test('Kubernetes Services join their port: 0.0.0.0_9080 routes reviews by its VirtualService and ratings by its default route, named short or long', () => {
  const sim = simulate(withEntries(loadCase(CASE)));
  for (const authority of ['reviews', 'reviews:9080', 'reviews.default.svc.cluster.local']) assert.equal(sim.cluster({ authority }, '0.0.0.0_9080'), REVIEWS_V1, authority);
  assert.equal(sim.cluster({ authority: 'ratings.default:9080' }, '0.0.0.0_9080'), RATINGS);
  // The ClusterIP listener still reaches its own Service whatever the Host says.
  assert.equal(sim.cluster({ authority: 'ratings:9080' }, '10.96.0.30_9080'), REVIEWS_V1);
});

test("a Sidecar's egress that hides a ServiceEntry host takes its port's listener away", () => {
  const egress = `---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
  egress:
  - hosts: [./api.example.com]
`;
  const sim = simulate(withEntries(loadCase(CASE), egress));
  const targets = listener(sim.checked.snapshot, 'virtualOutbound')?.capture?.targets.map((t) => t.destination);
  assert.deepEqual(targets, [':8000']);
  assert.equal(listener(sim.checked.snapshot, '0.0.0.0_80'), undefined);
});

test('captured sidecars of one scope share the per-port listeners and their route configs', () => {
  const c = withEntries(loadCase(CASE));
  const index = new ConfigIndex(c.config, c.registry);
  const [a, b] = c.registry.workloads.filter((w) => w.labels.app === 'reviews');
  const snapA = translateFor(index, { kind: 'sidecar', id: a.sidecar!.proxyId, workload: a });
  const snapB = translateFor(index, { kind: 'sidecar', id: b.sidecar!.proxyId, workload: b });
  assert.ok(listener(snapA, '0.0.0.0_80') !== undefined);
  assert.equal(listener(snapA, '0.0.0.0_80'), listener(snapB, '0.0.0.0_80'));
  assert.equal(snapA.routes.find((r) => r.name === '80'), snapB.routes.find((r) => r.name === '80'));
});

const ADDRESSED = `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external-db, namespace: default}
spec:
  hosts: [db.external.example]
  addresses: [10.20.0.0/16, 240.0.0.5, 10.21.0.9/32]
  ports:
  - {number: 5432, name: tcp, protocol: TCP}
  - {number: 8080, name: http, protocol: HTTP}
  resolution: NONE
  location: MESH_EXTERNAL
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external-db-primary, namespace: default}
spec:
  hosts: [primary.db.external.example]
  addresses: [10.20.1.0/24]
  ports:
  - {number: 5432, name: tcp, protocol: TCP}
  resolution: STATIC
  location: MESH_EXTERNAL
  endpoints:
  - address: 192.0.2.10
`;

test("a ServiceEntry's addresses on a TCP port are listeners addr_P, IPs and CIDR blocks alike, before the port fallbacks", () => {
  const sim = simulate(withEntries(loadCase(CASE), ADDRESSED), { mesh: { outboundTrafficPolicy: 'REGISTRY_ONLY' } });
  const targets = listener(sim.checked.snapshot, 'virtualOutbound')?.capture?.targets ?? [];
  const addressed = targets.filter((t) => t.destination.endsWith(':5432'));
  assert.deepEqual(
    addressed.slice().sort((a, b) => a.destination.localeCompare(b.destination)),
    [
      { destination: '10.20.0.0/16:5432', listener: '10.20.0.0/16_5432' },
      { destination: '10.20.1.0/24:5432', listener: '10.20.1.0/24_5432' },
      // A /32 is its one address.
      { destination: '10.21.0.9:5432', listener: '10.21.0.9_5432' },
      { destination: '240.0.0.5:5432', listener: '240.0.0.5_5432' },
    ],
  );
  // The address listeners come before the per-port ones in the list (the proxy decides by specificity anyway).
  assert.ok(targets.findIndex((t) => t.destination === '10.20.0.0/16:5432') < targets.findIndex((t) => t.destination.startsWith(':')));
  for (const t of addressed) {
    const l = listener(sim.checked.snapshot, t.listener);
    assert.deepEqual([l?.bindToPort, l?.protocol, l?.port], [false, 'tcp', 5432]);
  }
  // resolution NONE: where the app sent the connection; STATIC: the entry's endpoints.
  assert.deepEqual(listener(sim.checked.snapshot, '10.20.0.0/16_5432')?.tcp?.routes, [{ destinations: [{ cluster: 'outbound|5432||db.external.example', weight: 100 }] }]);
  assert.equal(sim.clusterConfig('outbound|5432||db.external.example')?.discovery, 'original-dst');
  assert.deepEqual(listener(sim.checked.snapshot, '10.20.1.0/24_5432')?.tcp?.routes, [{ destinations: [{ cluster: 'outbound|5432||primary.db.external.example', weight: 100 }] }]);
  assert.deepEqual(sim.clusterConfig('outbound|5432||primary.db.external.example')?.endpoints.map((e) => `${e.address}:${e.port}`), ['192.0.2.10:5432']);
  // The HTTP port is routed by Host on its port's listener, as Istio's HTTP services are, whatever their addresses.
  assert.ok(!targets.some((t) => t.destination.endsWith(':8080') && t.destination !== ':8080'));
  assert.equal(sim.cluster({ authority: 'db.external.example:8080' }, '0.0.0.0_8080'), 'outbound|8080||db.external.example');
});

test("a VirtualService's tcp rule for an addressed host applies on its address listeners", () => {
  const vs = `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db-to-primary, namespace: default}
spec:
  hosts: [db.external.example]
  tcp:
  - route:
    - destination: {host: primary.db.external.example, port: {number: 5432}}
`;
  const sim = simulate(withEntries(loadCase(CASE), ADDRESSED + vs));
  assert.deepEqual(listener(sim.checked.snapshot, '240.0.0.5_5432')?.tcp?.routes, [{ destinations: [{ cluster: 'outbound|5432||primary.db.external.example', weight: 100 }] }]);
});
