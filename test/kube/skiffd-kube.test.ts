/**
 * skiffd in Kubernetes mode against the fake API server: a proxy of an injected pod gets the
 * snapshot translation makes of the cluster's Services, EndpointSlices and Istio resources (its
 * routes, and clusters whose endpoints are the ready pods' IPs), and a change made at the API
 * server reaches it by push.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCrds } from '../../src/api/index.js';
import { startKubeSkiffd } from '../../src/cli/kube-skiffd.js';
import type { RunningKubeSkiffd } from '../../src/cli/kube-skiffd.js';
import { SimProxy } from '../../src/controlplane/push/sim-client.js';
import { runSkiff } from '../helpers/cli.js';
import { Disposer } from '../helpers/disposer.js';
import { FakeApiServer } from './fake-apiserver/server.js';

const NS = 'bookinfo';
const HOST = `reviews.${NS}.svc.cluster.local`;

describe('skiffd in Kubernetes mode', () => {
  let api: FakeApiServer;
  let dir: string;
  let kubeconfig: string;
  let running: RunningKubeSkiffd;
  const lines: string[] = [];

  const pod = (name: string, version: string, ip: string): object => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { app: 'reviews', version, 'security.istio.io/tlsMode': 'istio' } },
    spec: { serviceAccountName: 'bookinfo-reviews', containers: [{ name: 'reviews', image: 'reviews', ports: [{ containerPort: 9080 }] }], initContainers: [{ name: 'istio-proxy', image: 'skiff', restartPolicy: 'Always' }] },
    status: { phase: 'Running', podIP: ip },
  });
  const slice = (ready: Record<string, string>): object => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'reviews-abcde', namespace: NS, labels: { 'kubernetes.io/service-name': 'reviews' } },
    addressType: 'IPv4',
    endpoints: Object.entries(ready).map(([name, ip]) => ({ addresses: [ip], conditions: { ready: true }, targetRef: { kind: 'Pod', name, namespace: NS } })),
    ports: [{ name: 'http', port: 9080, protocol: 'TCP' }],
  });
  const vs = (subset: string): object => ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'reviews', namespace: NS }, spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset } }] }] } });

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    api = disposer.add(new FakeApiServer({ crds: generateCrds() }), (a) => a.stop());
    const url = await api.start();
    dir = disposer.tempDir('skiff-kube-skiffd-');
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\ncurrent-context: fake\ncontexts: [{name: fake, context: {cluster: fake, user: admin}}]\nclusters: [{name: fake, cluster: {server: "${url}"}}]\nusers: [{name: admin, user: {token: t}}]\n`);
    // skiffd's own namespace, where it keeps the mesh CA's Secret (as `skiff install` creates it).
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'istio-injection': 'enabled' } } });
    await api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: NS, labels: { app: 'reviews' } }, spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] } });
    api.put(pod('reviews-v1-7d9f', 'v1', '10.244.1.11'));
    api.put(pod('reviews-v3-5c2a', 'v3', '10.244.1.13'));
    api.put(slice({ 'reviews-v1-7d9f': '10.244.1.11', 'reviews-v3-5c2a': '10.244.1.13' }));
    await api.create({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'reviews', namespace: NS }, spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v3', labels: { version: 'v3' } }] } });
    await api.create(vs('v1'));
    running = disposer.add(await startKubeSkiffd({ stateDir: join(dir, 'state'), kubeconfig, apiPort: 0, pushPort: 0, pushTlsPort: 0, pushTlsHost: '127.0.0.1', rootNamespace: 'istio-system', webhookPort: false, proxyImage: 'skiff:test' }, (l) => lines.push(l)), (r) => r.stop());
  }));
  after(() => disposer.drain());

  it("pushes an injected pod's proxy the cluster's routes and ready endpoints, and a change made at the API server", async () => {
    const sim = await SimProxy.connect({
      url: running.skiffd.pushUrl,
      node: { id: `reviews-v1-7d9f.${NS}`, kind: 'sidecar', workload: { name: 'reviews-v1-7d9f', namespace: NS, labels: { app: 'reviews', version: 'v1' }, serviceAccount: 'bookinfo-reviews' } },
      parse: true,
    });
    try {
      const text = (): string => JSON.stringify(sim.received.at(-1)?.snapshot ?? {});
      await sim.waitFor(() => sim.received.length > 0);
      const first = sim.received.at(-1)?.snapshot as { routes: unknown[]; clusters: Array<{ name: string }> };
      assert.ok(JSON.stringify(first.routes).includes(`outbound|9080|v1|${HOST}`), 'the route goes to subset v1');
      assert.ok(!JSON.stringify(first.routes).includes(`outbound|9080|v3|${HOST}`));
      const v3 = first.clusters.find((c) => c.name === `outbound|9080|v3|${HOST}`);
      assert.ok(JSON.stringify(v3).includes('10.244.1.13'), "subset v3's endpoint is its pod's IP");
      assert.ok(!JSON.stringify(v3).includes('10.244.1.11'));

      api.put(vs('v3'));
      await sim.waitFor(() => JSON.stringify((sim.received.at(-1)?.snapshot as { routes?: unknown } | undefined)?.routes ?? []).includes(`outbound|9080|v3|${HOST}`), 20_000);
      assert.ok(!JSON.stringify((sim.received.at(-1)?.snapshot as { routes: unknown }).routes).includes(`outbound|9080|v1|${HOST}`));

      api.remove('v1', 'Pod', NS, 'reviews-v3-5c2a');
      api.put(slice({ 'reviews-v1-7d9f': '10.244.1.11' }));
      await sim.waitFor(() => !text().includes('10.244.1.13'), 20_000);
    } finally {
      await sim.close();
    }
  });

  it('originates mutual TLS to pods whose sidecar was injected and plaintext to the others, the gateway-style pod included', async () => {
    // ratings: one injected pod (labelled security.istio.io/tlsMode: istio), one without a sidecar,
    // and one whose only container is named istio-proxy (as the ingress gateway's) but is not labelled.
    const ratingsPod = (name: string, ip: string, labels: Record<string, string>, container: string): object => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS, labels: { app: 'ratings', ...labels } },
      spec: { serviceAccountName: 'bookinfo-ratings', containers: [{ name: container, image: 'ratings', ports: [{ containerPort: 9080 }] }] },
      status: { phase: 'Running', podIP: ip },
    });
    await api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'ratings', namespace: NS }, spec: { selector: { app: 'ratings' }, ports: [{ name: 'http', port: 9080 }] } });
    api.put(ratingsPod('ratings-injected', '10.244.2.1', { 'security.istio.io/tlsMode': 'istio' }, 'ratings'));
    api.put(ratingsPod('ratings-plain', '10.244.2.2', {}, 'ratings'));
    api.put(ratingsPod('ratings-proxy-named', '10.244.2.3', {}, 'istio-proxy'));
    const endpoints = { 'ratings-injected': '10.244.2.1', 'ratings-plain': '10.244.2.2', 'ratings-proxy-named': '10.244.2.3' };
    api.put({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'ratings-abcde', namespace: NS, labels: { 'kubernetes.io/service-name': 'ratings' } },
      addressType: 'IPv4',
      endpoints: Object.entries(endpoints).map(([name, ip]) => ({ addresses: [ip], conditions: { ready: true }, targetRef: { kind: 'Pod', name, namespace: NS } })),
      ports: [{ name: 'http', port: 9080, protocol: 'TCP' }],
    });
    const sim = await SimProxy.connect({
      url: running.skiffd.pushUrl,
      node: { id: `reviews-v1-7d9f.${NS}`, kind: 'sidecar', workload: { name: 'reviews-v1-7d9f', namespace: NS, labels: { app: 'reviews', version: 'v1' }, serviceAccount: 'bookinfo-reviews' } },
      parse: true,
    });
    try {
      type Cluster = { name: string; tls?: { mode: string; autoMtls?: boolean; subjectAltNames?: string[] }; endpoints?: Array<{ address: string; tlsMode?: string }> };
      const ratings = (): Cluster | undefined => (sim.received.at(-1)?.snapshot as { clusters?: Cluster[] } | undefined)?.clusters?.find((c) => c.name === `outbound|9080||ratings.${NS}.svc.cluster.local`);
      await sim.waitFor(() => (ratings()?.endpoints?.length ?? 0) === 3, 20_000);
      const cluster = ratings()!;
      assert.equal(cluster.tls?.mode, 'ISTIO_MUTUAL');
      assert.equal(cluster.tls?.autoMtls, true, 'mutual TLS only to the endpoints that run a sidecar');
      assert.deepEqual(cluster.tls?.subjectAltNames, [`spiffe://cluster.local/ns/${NS}/sa/bookinfo-ratings`]);
      const modes = Object.fromEntries((cluster.endpoints ?? []).map((e) => [e.address, e.tlsMode]));
      assert.deepEqual(modes, { '10.244.2.1': 'istio', '10.244.2.2': 'disabled', '10.244.2.3': 'disabled' });

      // Without an injected pod behind it, the service is reached in plaintext.
      api.remove('v1', 'Pod', NS, 'ratings-injected');
      await sim.waitFor(() => (ratings()?.endpoints?.length ?? 0) === 2, 20_000);
      assert.equal(ratings()?.tls, undefined);
    } finally {
      await sim.close();
    }
  });

  it('refuses to start without a usable kubeconfig, saying where it looked', async () => {
    const r = await runSkiff(['skiffd', '--kubeconfig', join(dir, 'absent'), '--state-dir', join(dir, 'state2')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot read kubeconfig .*absent/);
  });
});
