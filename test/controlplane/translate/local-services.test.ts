/**
 * A sidecar's local service ports: one listener per service port the workload was given, routed
 * with the very routes the outbound listener uses for that service (HTTP), or the same clusters
 * drawn per connection (TCP); shared by sidecars of one scope; absent for a service the sidecar
 * cannot see.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigIndex, translateFor } from '../../../src/controlplane/translate/index.js';
import type { SidecarTarget } from '../../../src/controlplane/translate/index.js';
import type { ListenerConfig } from '../../../src/snapshot/index.js';
import type { RegistrySnapshot, WorkloadInstance } from '../../../src/registry/types.js';
import { loadYaml, sidecarWorkload } from './cases.js';

const registry = (workloads: WorkloadInstance[]): RegistrySnapshot => ({
  services: [
    { name: 'reviews', namespace: 'default', hostname: 'reviews.default.svc.cluster.local', ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' }], selector: { app: 'reviews' } },
    { name: 'db', namespace: 'default', hostname: 'db.default.svc.cluster.local', ports: [{ name: 'tcp', port: 5432, targetPort: 5432, protocol: 'TCP' }], selector: { app: 'db' } },
  ],
  workloads,
});

function client(name: string, port: number): WorkloadInstance {
  const w = sidecarWorkload(name, 'default', { app: 'client' }, port);
  w.sidecar!.localServices = [
    { service: 'reviews', port: 9080, portName: 'http', localPort: port + 100 },
    { service: 'db', port: 5432, portName: 'tcp', localPort: port + 101 },
    { service: 'gone', port: 80, localPort: port + 102 },
  ];
  return w;
}

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db}
spec:
  hosts: [db]
  tcp:
  - route:
    - {destination: {host: db, subset: a}, weight: 80}
    - {destination: {host: db, subset: b}, weight: 20}
`;

test('each local service port is a listener routed as the outbound listener routes that service', () => {
  const a = client('client-a', 21000);
  const b = client('client-b', 21010);
  const index = new ConfigIndex(loadYaml('config.yaml', CONFIG), registry([a, b]));
  const snapA = translateFor(index, { kind: 'sidecar', id: a.sidecar!.proxyId, workload: a } satisfies SidecarTarget);
  const snapB = translateFor(index, { kind: 'sidecar', id: b.sidecar!.proxyId, workload: b } satisfies SidecarTarget);

  const local = (s: typeof snapA): ListenerConfig[] => s.listeners.filter((l) => l.name.startsWith('local_'));
  assert.deepEqual(
    local(snapA).map((l) => [l.name, l.port, l.protocol, l.direction]),
    [
      ['local_reviews.default.svc.cluster.local_9080', 21100, 'http', 'outbound'],
      ['local_db.default.svc.cluster.local_5432', 21101, 'tcp', 'outbound'],
    ],
    'a service that does not exist gets no listener',
  );

  const [reviews, db] = local(snapA);
  const pinned = snapA.routes.find((r) => r.name === reviews.http?.routeConfig)!;
  const outbound = snapA.routes.find((r) => r.name === 'outbound')!;
  const vhost = outbound.virtualHosts.find((v) => v.name === 'reviews.default.svc.cluster.local:9080')!;
  assert.deepEqual(pinned.virtualHosts.map((v) => v.domains), [['*']], 'any Host: the port says which service');
  assert.equal(pinned.virtualHosts[0].routes, vhost.routes, 'the outbound listener\'s routes themselves');
  assert.deepEqual(db.tcp?.routes, [
    {
      destinations: [
        { cluster: 'outbound|5432|a|db.default.svc.cluster.local', weight: 80 },
        { cluster: 'outbound|5432|b|db.default.svc.cluster.local', weight: 20 },
      ],
    },
  ]);

  const pinnedB = snapB.routes.find((r) => r.name === pinned.name);
  assert.equal(pinnedB, pinned, 'sidecars of one scope share the route config object');
  assert.deepEqual(local(snapB).map((l) => l.port), [21110, 21111]);
});

test('a service hidden by the Sidecar resource gets no local listener', () => {
  const a = client('client-a', 21000);
  const sidecar = `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default}
spec:
  egress:
  - hosts: ["./db.default.svc.cluster.local"]
`;
  const index = new ConfigIndex(loadYaml('config.yaml', CONFIG + '---' + sidecar), registry([a]));
  const snap = translateFor(index, { kind: 'sidecar', id: a.sidecar!.proxyId, workload: a });
  assert.deepEqual(
    snap.listeners.filter((l) => l.name.startsWith('local_')).map((l) => l.name),
    ['local_db.default.svc.cluster.local_5432'],
  );
});
