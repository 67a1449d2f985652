/**
 * End to end: snapshots translated for three sidecars (a caller and two reviews replicas) are
 * applied to real proxies, and requests from the caller's app side go through its outbound
 * listener (absolute-form HTTP, and CONNECT for opaque TCP), the callee's inbound listener, to
 * real backends — routed by reviews-test-v2 and a weighted TCP rule. Each proxy holds a workload
 * certificate for its service account, so the hops between sidecars are Istio mutual TLS.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { translate } from '../../../src/controlplane/translate/index.js';
import type { ProxyTarget } from '../../../src/controlplane/translate/index.js';
import { SkiffProxy } from '../../../src/proxy/proxy.js';
import type { RegistrySnapshot, Service, WorkloadInstance } from '../../../src/registry/types.js';
import { deadPort, echo, eventually, request, startBackend } from '../../proxy/helpers.js';
import { authority, spiffe } from '../../helpers/test-pki.js';
import { loadYaml } from './cases.js';
import { Disposer } from '../../helpers/disposer.js';

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - match:
    - headers: { end-user: { exact: jason } }
    route:
    - destination: { host: reviews, subset: v2 }
  - route:
    - destination: { host: reviews, subset: v1 }
  tcp:
  - route:
    - destination: { host: reviews, port: { number: 9000 }, subset: v2 }
`;

const services: Service[] = [
  {
    name: 'reviews',
    namespace: 'default',
    hostname: 'reviews.default.svc.cluster.local',
    ports: [
      { name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' },
      { name: 'tcp-raw', port: 9000, targetPort: 9000, protocol: 'TCP' },
    ],
    selector: { app: 'reviews' },
  },
];

/** A TCP backend that answers each chunk with `<name>:<chunk>`. */
async function startTcpEcho(name: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('data', (d: Buffer) => s.write(`${name}:${d.toString()}`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('translated snapshots on real proxies', () => {
  let callerOutbound = 0;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    const workloads: WorkloadInstance[] = [];
    for (const version of ['v1', 'v2']) {
      const http = disposer.add(await startBackend(echo(`reviews-${version}`)), (b) => b.close());
      const tcp = disposer.add(await startTcpEcho(`reviews-${version}`), (b) => b.close());
      workloads.push({
        name: `reviews-${version}-0`,
        namespace: 'default',
        labels: { app: 'reviews', version },
        serviceAccount: 'bookinfo-reviews',
        address: '127.0.0.1',
        ready: true,
        meshPorts: { 9080: await deadPort(), 9000: await deadPort() },
        appPorts: { 9080: http.port, 9000: tcp.port },
        sidecar: { outboundPort: await deadPort(), adminPort: 0, proxyId: `reviews-${version}-0.default` },
      });
    }
    const caller: WorkloadInstance = {
      name: 'productpage-v1-0',
      namespace: 'default',
      labels: { app: 'productpage', version: 'v1' },
      serviceAccount: 'bookinfo-productpage',
      address: '127.0.0.1',
      ready: true,
      meshPorts: {},
      appPorts: {},
      sidecar: { outboundPort: await deadPort(), adminPort: 0, proxyId: 'productpage-v1-0.default' },
    };
    workloads.push(caller);
    callerOutbound = caller.sidecar!.outboundPort;
    const registry: RegistrySnapshot = { services, workloads };
    const config = loadYaml('e2e.yaml', CONFIG);
    for (const w of workloads) {
      const target: ProxyTarget = { kind: 'sidecar', id: w.sidecar!.proxyId, workload: w };
      const proxy = disposer.add(await SkiffProxy.create({ adminPort: null, healthPort: null, drainTimeoutMs: 100 }), (p) => p.close());
      const cert = authority('mesh').issue(w.name, [`URI:${spiffe(w.namespace, w.serviceAccount)}`]);
      proxy.workloadSecrets.install({ certChain: cert.cert, privateKey: cert.key, roots: authority('mesh').cert });
      await proxy.applySnapshot(translate({ config, registry, proxy: target }));
    }
  }));

  after(() => disposer.drain());

  test('absolute-form requests are routed by the VirtualService through both sidecars', async () => {
    const asJason = await request(callerOutbound, 'http://reviews:9080/reviews/0', { headers: { host: 'reviews:9080', 'end-user': 'jason' } });
    assert.equal(asJason.status, 200);
    assert.equal(asJason.headers['x-backend'], 'reviews-v2');
    assert.equal(asJason.headers.server, 'envoy');
    const anonymous = await request(callerOutbound, 'http://reviews.default.svc.cluster.local:9080/reviews/0', { headers: { host: 'reviews.default.svc.cluster.local:9080' } });
    assert.equal(anonymous.headers['x-backend'], 'reviews-v1');
    const body = JSON.parse(anonymous.body) as { url: string };
    assert.equal(body.url, '/reviews/0');
  });

  test('CONNECT to an opaque TCP port tunnels to the subset the tcp rule names', async () => {
    const s = net.connect(callerOutbound, '127.0.0.1');
    await once(s, 'connect');
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (got += d));
    s.write('CONNECT reviews:9000 HTTP/1.1\r\nHost: reviews:9000\r\n\r\n');
    await eventually(() => got.includes('\r\n\r\n'), 3000, 'the 200 to CONNECT');
    assert.match(got, /^HTTP\/1\.1 200 /);
    got = '';
    s.write('ping');
    await eventually(() => got === 'reviews-v2:ping', 3000, 'the echo from reviews v2');
    s.destroy();
  });
});
