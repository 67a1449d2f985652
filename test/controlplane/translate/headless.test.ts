/**
 * A captured sidecar's listeners for the pods of a headless Kubernetes Service: `virtualOutbound`
 * targets a listener per pod address and service port, which reaches that very pod through a
 * cluster of its own — mutual TLS to a pod with a sidecar, plaintext to one without —; HTTP ports
 * take the Service's VirtualService for a Host naming the Service (or a pod name under it), the
 * pod itself for any other Host; the listeners follow the pods as they come and go. Routing is
 * checked with the proxy's own compiled route tables (`simulate`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigIndex, translateFor } from '../../../src/controlplane/translate/index.js';
import { serviceFromResource } from '../../../src/registry/kube.js';
import type { RegistrySnapshot, Service, WorkloadInstance } from '../../../src/registry/types.js';
import type { ListenerConfig, ProxySnapshot } from '../../../src/snapshot/index.js';
import { loadCase, loadYaml, type TranslateCase } from './cases.js';
import { simulate } from './simulate.js';

const HOST = 'db.default.svc.cluster.local';
const DB0 = '10.244.0.30';
const DB1 = '10.244.0.31';
const podCluster = (ip: string, port = 9080): string => `outbound|${port}|${ip}|${HOST}`;

/** `db`, headless, with an HTTP and an opaque TCP port. */
const DB: Service = {
  name: 'db',
  namespace: 'default',
  hostname: HOST,
  ports: [
    { name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' },
    { name: 'tcp-pg', port: 5432, targetPort: 5432, protocol: 'TCP' },
  ],
  selector: { app: 'db' },
  headless: true,
};

function dbPod(name: string, address: string, sidecar: boolean): WorkloadInstance {
  return {
    name,
    namespace: 'default',
    labels: { app: 'db', version: 'v1' },
    serviceAccount: 'db',
    address,
    ready: true,
    meshPorts: { 9080: 9080, 5432: 5432 },
    appPorts: { 9080: 9080, 5432: 5432 },
    ...(sidecar ? { sidecar: { outboundPort: 15001, adminPort: 15000, proxyId: `${name}.default`, capture: { inboundPort: 15006 } } } : {}),
  };
}

/** The captured productpage sidecar's case with `db` and its pods: db-0 with a sidecar, db-1 without. */
function withDb(pods: WorkloadInstance[] = [dbPod('db-0', DB0, true), dbPod('db-1', DB1, false)]): TranslateCase {
  const c = loadCase('kube-captured-sidecar');
  const registry: RegistrySnapshot = { services: [...c.registry.services, DB], workloads: [...c.registry.workloads, ...pods] };
  return { ...c, registry };
}

function listener(snapshot: { listeners: readonly ListenerConfig[] }, name: string): ListenerConfig {
  const l = snapshot.listeners.find((x) => x.name === name);
  assert.ok(l !== undefined, `no listener ${name}: ${snapshot.listeners.map((x) => x.name).join(', ')}`);
  return l;
}

/** The capture targets for db's pods. */
function podTargets(snapshot: { listeners: readonly ListenerConfig[] }): { destination: string; listener: string }[] {
  return (listener(snapshot, 'virtualOutbound').capture?.targets ?? []).filter((t) => t.destination.startsWith(`${DB0}:`) || t.destination.startsWith(`${DB1}:`));
}

test('virtualOutbound targets a listener per pod address and port of a headless Service, binding nothing', () => {
  const sim = simulate(withDb());
  assert.deepEqual(podTargets(sim.checked.snapshot), [
    { destination: `${DB0}:9080`, listener: `${DB0}_9080` },
    { destination: `${DB1}:9080`, listener: `${DB1}_9080` },
    { destination: `${DB0}:5432`, listener: `${DB0}_5432` },
    { destination: `${DB1}:5432`, listener: `${DB1}_5432` },
  ]);
  for (const t of podTargets(sim.checked.snapshot)) {
    const l = listener(sim.checked.snapshot, t.listener);
    assert.deepEqual([`${l.address}:${l.port}`, l.bindToPort, l.direction], [t.destination, false, 'outbound']);
  }
  // The opaque port proxies to the pod's own cluster, which lists that pod alone.
  const tcp = listener(sim.checked.snapshot, `${DB1}_5432`);
  assert.equal(tcp.protocol, 'tcp');
  assert.deepEqual(tcp.tcp?.routes, [{ destinations: [{ cluster: podCluster(DB1, 5432), weight: 100 }] }]);
  assert.deepEqual(sim.clusterConfig(podCluster(DB1, 5432))?.endpoints.map((e) => `${e.address}:${e.port}`), [`${DB1}:5432`]);
  assert.deepEqual(sim.clusterConfig(podCluster(DB0))?.endpoints.map((e) => `${e.address}:${e.port}`), [`${DB0}:9080`]);
  // The Service's own cluster stays as it was, with both pods, for whoever reaches it by name.
  assert.deepEqual(sim.clusterConfig(`outbound|9080||${HOST}`)?.endpoints.map((e) => e.address), [DB0, DB1]);
});

test('an HTTP port routes by the headless Service\'s VirtualService for a Host naming it, to the pod dialled; any other Host reaches that pod', () => {
  const c = withDb();
  const vs = loadYaml(
    'db-vs.yaml',
    `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db]
  http:
  - match: [{headers: {x-to: {exact: ratings}}}]
    route: [{destination: {host: ratings}}]
  - route: [{destination: {host: db, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: default}
spec:
  host: db
  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}
  subsets: [{name: v1, labels: {version: v1}}]
`,
  );
  const sim = simulate(c, { config: [...c.config, ...vs] });
  assert.deepEqual(sim.warnings, []);
  for (const [ip, l] of [[DB0, `${DB0}_9080`], [DB1, `${DB1}_9080`]] as const) {
    // The Service's names, and a StatefulSet pod's name under it, take the VirtualService; its subset is the pod dialled.
    for (const authority of ['db:9080', `${HOST}:9080`, 'db.default:9080', `db-0.db:9080`, `db-0.${HOST}:9080`]) {
      assert.equal(sim.cluster({ authority }, l), podCluster(ip), `${authority} on ${l}`);
      assert.equal(sim.cluster({ authority, headers: { 'x-to': 'ratings' } }, l), 'outbound|9080||ratings.default.svc.cluster.local', `${authority} on ${l}`);
    }
    // The pod's address as Host names no service: the pod itself, without the VirtualService's rules.
    assert.equal(sim.cluster({ authority: `${ip}:9080`, headers: { 'x-to': 'ratings' } }, l), podCluster(ip));
    // One pod, no load balancing: the consistent hash does not reach its destination.
    assert.equal(sim.route({ authority: 'db:9080' }, l)?.destinations[0].hashPolicy, undefined);
  }
  // The Service's own cluster hashes; a pod's cluster keeps the default balancer over its one host.
  assert.equal(sim.clusterConfig(`outbound|9080||${HOST}`)?.lb.policy, 'RING_HASH');
  assert.equal(sim.clusterConfig(podCluster(DB0))?.lb.policy, sim.clusterConfig('outbound|9080||ratings.default.svc.cluster.local')?.lb.policy);
});

test("a pod's cluster originates mutual TLS when the pod runs a sidecar and plaintext when it does not", () => {
  const sim = simulate(withDb());
  const withSidecar = sim.clusterConfig(podCluster(DB0))?.tls;
  assert.equal(withSidecar?.mode, 'ISTIO_MUTUAL');
  assert.deepEqual(withSidecar?.subjectAltNames, ['spiffe://cluster.local/ns/default/sa/db']);
  // The SNI is the Service's, as Istio's client sends it to any of the Service's pods.
  assert.equal(withSidecar?.sni, `outbound_.9080_._.${HOST}`);
  assert.equal(sim.clusterConfig(podCluster(DB1))?.tls, undefined);
  assert.equal(sim.clusterConfig(podCluster(DB1, 5432))?.tls, undefined);
  // A DestinationRule's ISTIO_MUTUAL holds for every pod, as for any cluster.
  const c = withDb();
  const dr = loadYaml('db-dr.yaml', 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: db, namespace: default}\nspec: {host: db, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}\n');
  assert.equal(simulate(c, { config: [...c.config, ...dr] }).clusterConfig(podCluster(DB1))?.tls?.mode, 'ISTIO_MUTUAL');
});

test('a pod that goes, or is not ready, takes its listeners, targets and clusters with it', () => {
  const both = simulate(withDb());
  assert.ok(both.hasCluster(podCluster(DB1)));
  for (const pods of [[dbPod('db-0', DB0, true)], [dbPod('db-0', DB0, true), { ...dbPod('db-1', DB1, false), ready: false }]]) {
    const sim = simulate(withDb(pods));
    assert.deepEqual(podTargets(sim.checked.snapshot).map((t) => t.listener), [`${DB0}_9080`, `${DB0}_5432`]);
    assert.ok(!sim.checked.snapshot.listeners.some((l) => l.name.startsWith(DB1)));
    assert.ok(!sim.hasCluster(podCluster(DB1)) && !sim.hasCluster(podCluster(DB1, 5432)));
  }
});

test("an IPv6 pod's destination is bracketed, its listener and cluster named by the bare address", () => {
  const v6 = 'fd00:10:244::30';
  const sim = simulate(withDb([dbPod('db-0', v6, true)]));
  const targets = listener(sim.checked.snapshot, 'virtualOutbound').capture?.targets.filter((t) => t.destination.startsWith('['));
  assert.deepEqual(targets, [
    { destination: `[${v6}]:9080`, listener: `${v6}_9080` },
    { destination: `[${v6}]:5432`, listener: `${v6}_5432` },
  ]);
  assert.equal(listener(sim.checked.snapshot, `${v6}_9080`).address, v6);
  assert.equal(sim.cluster({ authority: 'db:9080' }, `${v6}_9080`), podCluster(v6));
  assert.deepEqual(sim.clusterConfig(podCluster(v6))?.endpoints.map((e) => e.address), [v6]);
});

test('a headless Service hidden by the Sidecar egress, or without a selector, gets no pod listeners', () => {
  const c = withDb();
  const egress = loadYaml('sidecar.yaml', 'apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, namespace: default}\nspec:\n  egress:\n  - hosts: [./reviews.default.svc.cluster.local]\n');
  assert.deepEqual(podTargets(simulate(c, { config: [...c.config, ...egress] }).checked.snapshot), []);
  const { selector: _selector, ...noSelector } = DB;
  const manual: TranslateCase = { ...c, registry: { ...c.registry, services: [...c.registry.services.filter((s) => s.name !== 'db'), noSelector] } };
  assert.deepEqual(podTargets(simulate(manual).checked.snapshot), []);
});

test('under REGISTRY_ONLY the pods of a headless Service still route: they are in the registry', () => {
  const sim = simulate(withDb(), { mesh: { outboundTrafficPolicy: 'REGISTRY_ONLY' } });
  assert.equal(sim.cluster({ authority: 'db:9080' }, `${DB0}_9080`), podCluster(DB0));
  assert.equal(sim.cluster({ authority: `${DB0}:9080` }, `${DB0}_9080`), podCluster(DB0));
});

test('captured sidecars of one scope share the pod listeners, their route configs and the pod clusters', () => {
  const c = withDb();
  const index = new ConfigIndex(c.config, c.registry);
  const [a, b] = c.registry.workloads.filter((w) => w.labels.app === 'reviews');
  const snapA = translateFor(index, { kind: 'sidecar', id: a.sidecar!.proxyId, workload: a });
  const snapB = translateFor(index, { kind: 'sidecar', id: b.sidecar!.proxyId, workload: b });
  assert.equal(listener(snapA, `${DB0}_9080`), listener(snapB, `${DB0}_9080`));
  const route = (s: ProxySnapshot): unknown => s.routes.find((r) => r.name === `captured|${DB0}_9080`);
  assert.ok(route(snapA) !== undefined);
  assert.equal(route(snapA), route(snapB));
  const cluster = (s: ProxySnapshot): unknown => s.clusters.find((cl) => cl.name === podCluster(DB0));
  assert.ok(cluster(snapA) !== undefined);
  assert.equal(cluster(snapA), cluster(snapB));
});

test("a sidecar that is not captured reaches a headless Service by name, its pods' names included", () => {
  const c = withDb();
  const w = c.registry.workloads.find((x) => x.labels.app === 'productpage')!;
  const { capture: _capture, ...plain } = w.sidecar!;
  const snapshot = translateFor(new ConfigIndex(c.config, c.registry), { kind: 'sidecar', id: w.sidecar!.proxyId, workload: { ...w, sidecar: plain } });
  const vhost = snapshot.routes[0].virtualHosts.find((v) => v.name === `${HOST}:9080`);
  assert.ok(vhost?.domains.includes('db:9080') && vhost.domains.includes('*.db:9080') && vhost.domains.includes(`*.${HOST}:9080`), JSON.stringify(vhost?.domains));
  // No pod listener or pod cluster without capture: the HTTP_PROXY listener reaches the Service's own cluster.
  assert.ok(!snapshot.clusters.some((cl) => cl.name === podCluster(DB0)));
});

test('a Kubernetes Service with clusterIP None is headless in the registry; an ExternalName one is not', () => {
  const svc = (spec: Record<string, unknown>): Service =>
    serviceFromResource({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'default' }, spec: { selector: { app: 'db' }, ports: [{ port: 5432 }], ...spec } });
  assert.equal(svc({ clusterIP: 'None' }).headless, true);
  assert.equal(svc({ clusterIP: 'None', clusterIPs: ['None'] }).headless, true);
  assert.equal(svc({ clusterIP: '10.96.0.60' }).headless, undefined);
  assert.equal(svc({ type: 'ExternalName', externalName: 'db.example.com' }).headless, undefined);
});

test("a headless Service's names are not routed on its port's listener: an address that is no ready pod's stays outside the registry", () => {
  const sim = simulate(withDb(), { mesh: { outboundTrafficPolicy: 'REGISTRY_ONLY' } });
  // 9080 has ClusterIP Services too, so its listener exists; db's names there get block_all.
  assert.equal(sim.cluster({ authority: 'reviews:9080' }, '0.0.0.0_9080'), 'outbound|9080|v1|reviews.default.svc.cluster.local');
  for (const authority of [`${HOST}:9080`, 'db:9080', 'db-2.db:9080']) assert.equal(sim.route({ authority }, '0.0.0.0_9080')?.directStatus, 502, authority);
});
