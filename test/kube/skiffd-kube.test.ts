/**
 * skiffd in Kubernetes mode against the fake API server: a proxy of an injected pod gets the
 * snapshot translation makes of the cluster's Services, EndpointSlices and Istio resources (its
 * routes, and clusters whose endpoints are the ready pods' IPs), and a change made at the API
 * server reaches it by push.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCrds } from '../../src/api/index.js';
import { startKubeSkiffd } from '../../src/cli/kube-skiffd.js';
import type { RunningKubeSkiffd } from '../../src/cli/kube-skiffd.js';
import { SimProxy } from '../../src/controlplane/push/sim-client.js';
import { runSkiff } from '../helpers/cli.js';
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
    metadata: { name, namespace: NS, labels: { app: 'reviews', version } },
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

  before(async () => {
    api = new FakeApiServer({ crds: generateCrds() });
    const url = await api.start();
    dir = mkdtempSync(join(tmpdir(), 'skiff-kube-skiffd-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\ncurrent-context: fake\ncontexts: [{name: fake, context: {cluster: fake, user: admin}}]\nclusters: [{name: fake, cluster: {server: "${url}"}}]\nusers: [{name: admin, user: {token: t}}]\n`);
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'istio-injection': 'enabled' } } });
    await api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: NS, labels: { app: 'reviews' } }, spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] } });
    api.put(pod('reviews-v1-7d9f', 'v1', '10.244.1.11'));
    api.put(pod('reviews-v3-5c2a', 'v3', '10.244.1.13'));
    api.put(slice({ 'reviews-v1-7d9f': '10.244.1.11', 'reviews-v3-5c2a': '10.244.1.13' }));
    await api.create({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'reviews', namespace: NS }, spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v3', labels: { version: 'v3' } }] } });
    await api.create(vs('v1'));
    running = await startKubeSkiffd({ stateDir: join(dir, 'state'), kubeconfig, apiPort: 0, pushPort: 0, rootNamespace: 'istio-system', webhookPort: false, proxyImage: 'skiff:test' }, (l) => lines.push(l));
  });
  after(async () => {
    await running.stop();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

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

  it('refuses to start without a usable kubeconfig, saying where it looked', async () => {
    const r = await runSkiff(['skiffd', '--kubeconfig', join(dir, 'absent'), '--state-dir', join(dir, 'state2')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot read kubeconfig .*absent/);
  });
});
