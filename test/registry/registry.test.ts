/**
 * The service registry: the in-memory registry's change events and snapshots, service ↔ workload
 * selection, container ports by number and by name, Kubernetes Service conversion, and Istio's
 * protocol selection for service ports.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadText } from '../../src/config/load.js';
import {
  MemoryRegistry,
  containerPortFor,
  meshAddressFor,
  selectedWorkloads,
  serviceFromResource,
  servicePortProtocol,
  servicesOf,
  type Service,
  type WorkloadInstance,
} from '../../src/registry/index.js';

function workload(name: string, labels: Record<string, string>, extra: Partial<WorkloadInstance> = {}): WorkloadInstance {
  return {
    name,
    namespace: 'default',
    labels,
    serviceAccount: 'default',
    address: '127.0.0.1',
    ready: true,
    meshPorts: { 9080: 20001 },
    appPorts: { 9080: 30001 },
    ...extra,
  };
}

const reviews: Service = {
  name: 'reviews',
  namespace: 'default',
  hostname: 'reviews.default.svc.cluster.local',
  ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' }],
  selector: { app: 'reviews' },
};

describe('MemoryRegistry', () => {
  test('every change notifies listeners; the snapshot is stable between changes', () => {
    const reg = new MemoryRegistry();
    let events = 0;
    const off = reg.onChange(() => events++);
    const empty = reg.snapshot();
    assert.equal(reg.snapshot(), empty, 'same object while nothing changed');
    reg.upsertService(reviews);
    reg.upsertWorkload(workload('reviews-v2-1', { app: 'reviews', version: 'v2' }));
    reg.upsertWorkload(workload('reviews-v1-1', { app: 'reviews', version: 'v1' }));
    assert.equal(events, 3);
    const snap = reg.snapshot();
    assert.notEqual(snap, empty);
    assert.deepEqual(snap.workloads.map((w) => w.name), ['reviews-v1-1', 'reviews-v2-1'], 'sorted by namespace/name');
    reg.setReady('default', 'reviews-v1-1', false);
    assert.equal(events, 4);
    reg.setReady('default', 'reviews-v1-1', false);
    assert.equal(events, 4, 'no event when readiness is unchanged');
    assert.equal(reg.getWorkload('default', 'reviews-v1-1')?.ready, false);
    assert.equal(snap.workloads[0].ready, true, 'earlier snapshots are not mutated');
    assert.equal(reg.removeWorkload('default', 'nope'), false);
    assert.equal(events, 4, 'removing nothing is no change');
    assert.equal(reg.removeService('default', 'reviews'), true);
    assert.equal(events, 5);
    off();
    reg.upsertService(reviews);
    assert.equal(events, 5, 'unsubscribed');
  });

  test('a throwing listener does not keep others from hearing', () => {
    const reg = new MemoryRegistry();
    let heard = false;
    reg.onChange(() => {
      throw new Error('boom');
    });
    reg.onChange(() => (heard = true));
    reg.upsertService(reviews);
    assert.equal(heard, true);
  });
});

describe('selection', () => {
  const v1 = workload('reviews-v1-1', { app: 'reviews', version: 'v1' });
  const other = workload('reviews-x', { app: 'reviews' }, { namespace: 'other' });
  const ratings = workload('ratings-1', { app: 'ratings' });

  test('a service selects workloads of its namespace whose labels contain its selector', () => {
    assert.deepEqual(selectedWorkloads(reviews, [v1, other, ratings]).map((w) => w.name), ['reviews-v1-1']);
    assert.deepEqual(servicesOf(v1, [reviews]).map((s) => s.name), ['reviews']);
    assert.deepEqual(servicesOf(ratings, [reviews]), []);
    assert.deepEqual(selectedWorkloads({ ...reviews, selector: undefined }, [v1]), [], 'no selector selects nothing');
  });

  test('named target ports resolve against container port names', () => {
    const named = workload('httpbin-1', { app: 'httpbin' }, { containerPortNames: { 8080: 'http-web' }, meshPorts: { 8080: 20100 } });
    assert.equal(containerPortFor({ targetPort: 'http-web' }, named), 8080);
    assert.equal(containerPortFor({ targetPort: 'grpc' }, named), undefined);
    assert.equal(containerPortFor({ targetPort: 8080 }, named), 8080);
    assert.deepEqual(meshAddressFor({ targetPort: 'http-web' }, named), { address: '127.0.0.1', port: 20100 });
    assert.equal(meshAddressFor({ targetPort: 9999 }, named), undefined);
  });
});

describe('Kubernetes Service conversion', () => {
  test('defaults targetPort to port, keeps names, appProtocol, selector and exportTo', () => {
    const yaml = `
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels: { app: web }
  annotations: { networking.istio.io/exportTo: ".,istio-system" }
spec:
  selector: { app: web }
  ports:
  - { name: http, port: 80 }
  - { name: grpc-api, port: 9090, targetPort: grpc, appProtocol: grpc }
`;
    const [r] = loadText('web.yaml', yaml).resources;
    assert.deepEqual(serviceFromResource(r.resource), {
      name: 'web',
      namespace: 'shop',
      hostname: 'web.shop.svc.cluster.local',
      ports: [
        { name: 'http', port: 80, targetPort: 80, protocol: 'TCP' },
        { name: 'grpc-api', port: 9090, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'grpc' },
      ],
      selector: { app: 'web' },
      labels: { app: 'web' },
      exportTo: ['.', 'istio-system'],
    });
  });

  test('refuses other kinds', () => {
    assert.throws(() => serviceFromResource({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: {} }), /not a Kubernetes Service/);
  });
});

describe('service port protocol (Istio)', () => {
  const cases: Array<[Parameters<typeof servicePortProtocol>[0], string]> = [
    [{ name: 'http', protocol: 'TCP' }, 'HTTP'],
    [{ name: 'http-web', protocol: 'TCP' }, 'HTTP'],
    [{ name: 'HTTP2-x', protocol: 'TCP' }, 'HTTP2'],
    [{ name: 'grpc', protocol: 'TCP' }, 'GRPC'],
    [{ name: 'grpc-web', protocol: 'TCP' }, 'GRPC-WEB'],
    [{ name: 'tcp-db', protocol: 'TCP' }, 'TCP'],
    [{ name: 'tls', protocol: 'TCP' }, 'TLS'],
    [{ name: 'mongo-main', protocol: 'TCP' }, 'MONGO'],
    [{ name: 'web', protocol: 'TCP' }, 'UNKNOWN'],
    [{ protocol: 'TCP' }, 'UNKNOWN'],
    [{ name: 'tcp', protocol: 'TCP', appProtocol: 'http' }, 'HTTP'],
    [{ name: 'http', protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' }, 'HTTP2'],
    [{ name: 'http', protocol: 'TCP', appProtocol: 'custom' }, 'UNKNOWN'],
    [{ name: 'http', protocol: 'UDP' }, 'UDP'],
  ];
  for (const [port, want] of cases) {
    test(`${JSON.stringify(port)} → ${want}`, () => assert.equal(servicePortProtocol(port), want));
  }
});
