/**
 * skiffd's Kubernetes providers against the fake API server: the config source (Istio kinds,
 * Services, the mesh ConfigMap) and the workload instances (Pods and EndpointSlices) published
 * into a registry through the same Service sync skiffd runs. After each injected fault — a
 * dropped watch, a compaction answered with 410, a stalled stream, an API server restart, and
 * skiffd's own restart — the registry and the config source must equal the API server's state:
 * nothing lost, nothing stale.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCrds } from '../../src/api/index.js';
import { KubeClient } from '../../src/kube/client.js';
import { KubeConfigSource } from '../../src/kube/config-source.js';
import { Informer } from '../../src/kube/informer.js';
import { loadKubeconfig } from '../../src/kube/kubeconfig.js';
import { KubeWorkloads } from '../../src/kube/workloads.js';
import { MemoryRegistry } from '../../src/registry/memory.js';
import { ServiceSync } from '../../src/registry/service-sync.js';
import { Disposer } from '../helpers/disposer.js';
import { FakeApiServer } from './fake-apiserver/server.js';

const NS = 'bookinfo';
const informer = { stallMs: 1500, watchTimeoutSeconds: 30, backoff: { initialMs: 50, maxMs: 400 } };

interface Mesh {
  client: KubeClient;
  source: KubeConfigSource;
  registry: MemoryRegistry;
  workloads: KubeWorkloads;
  stop(): Promise<void>;
}

async function startMesh(kubeconfig: string): Promise<Mesh> {
  const client = new KubeClient(loadKubeconfig(kubeconfig));
  const source = new KubeConfigSource(client, { informer });
  const registry = new MemoryRegistry();
  const workloads = new KubeWorkloads(client, registry, { informer });
  await Promise.all([source.start(), workloads.start()]);
  const sync = new ServiceSync(registry);
  const unfollow = sync.follow(source);
  return {
    client,
    source,
    registry,
    workloads,
    async stop() {
      unfollow();
      await Promise.all([source.stop(), workloads.stop()]);
      client.close();
    },
  };
}

describe('Kubernetes informers under faults', () => {
  let api: FakeApiServer;
  let dir: string;
  let kubeconfig: string;
  let mesh: Mesh;
  /** Which pods the test's "endpoint controller" lists as ready. */
  const readyPods = new Set<string>();
  let podSerial = 0;

  /** Writes the EndpointSlice of `app` as the endpoint controller would from the pods and readiness. */
  const writeSlice = (app: string): void => {
    const pods = api.list('v1', 'Pod', NS).filter((p) => p.metadata.labels?.app === app);
    api.put({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${app}-slice`, namespace: NS, labels: { 'kubernetes.io/service-name': app } },
      addressType: 'IPv4',
      endpoints: pods.map((p) => ({ addresses: [(p.status as { podIP: string }).podIP], conditions: { ready: readyPods.has(p.metadata.name) }, targetRef: { kind: 'Pod', name: p.metadata.name, namespace: NS } })),
      ports: [{ name: 'http', port: 9080, protocol: 'TCP' }],
    });
  };
  const addPod = (app: string, ready: boolean): string => {
    const name = `${app}-${++podSerial}`;
    api.put({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS, labels: { app, version: 'v1', 'security.istio.io/tlsMode': 'istio' } },
      spec: { serviceAccountName: `bookinfo-${app}`, containers: [{ name: app, image: `docker.io/istio/examples-bookinfo-${app}-v1:1.20.2`, ports: [{ containerPort: 9080 }] }, { name: 'istio-proxy', image: 'skiff' }] },
      status: { phase: 'Running', podIP: `10.244.0.${podSerial}` },
    });
    if (ready) readyPods.add(name);
    writeSlice(app);
    return name;
  };
  const removePod = (name: string): void => {
    const app = api.get('v1', 'Pod', NS, name)?.metadata.labels?.app ?? '';
    api.remove('v1', 'Pod', NS, name);
    readyPods.delete(name);
    writeSlice(app);
  };
  const setReady = (name: string, ready: boolean): void => {
    if (ready) readyPods.add(name);
    else readyPods.delete(name);
    writeSlice(api.get('v1', 'Pod', NS, name)?.metadata.labels?.app ?? '');
  };
  const vs = (name: string, subset: string): object => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: NS },
    spec: { hosts: [name], http: [{ route: [{ destination: { host: name, subset } }] }] },
  });
  const service = (name: string, port = 9080): object => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS, labels: { app: name } }, spec: { selector: { app: name }, ports: [{ name: 'http', port }] } });

  /** A burst of changes of every kind the providers follow: adds, deletes, readiness, edits. */
  let round = 0;
  const churn = async (): Promise<void> => {
    round++;
    const pods = api.list('v1', 'Pod', NS);
    if (pods.length > 0) removePod(pods[0].metadata.name);
    const fresh = addPod(round % 2 === 0 ? 'reviews' : 'ratings', true);
    setReady(fresh, false);
    const another = addPod('details', true);
    if (pods[1] !== undefined) setReady(pods[1].metadata.name, !readyPods.has(pods[1].metadata.name));
    api.put(vs('reviews', `v${(round % 3) + 1}`));
    if (api.get('networking.istio.io/v1', 'VirtualService', NS, 'ratings') !== undefined) api.remove('networking.istio.io/v1', 'VirtualService', NS, 'ratings');
    else api.put(vs('ratings', 'v1'));
    if (api.get('v1', 'Service', NS, `extra-${round - 1}`) !== undefined) api.remove('v1', 'Service', NS, `extra-${round - 1}`);
    await api.create(service(`extra-${round}`));
    api.put(service('details', 9080 + round));
    void another;
  };

  /** What the API server holds now, as the registry and source should show it. */
  const expected = (): { services: string[]; workloads: string[]; config: string[] } => ({
    services: api.list('v1', 'Service').map((s) => `${s.metadata.namespace}/${s.metadata.name}:${((s.spec as { ports: Array<{ port: number }> }).ports).map((p) => p.port).join(',')}`).sort(),
    workloads: api.list('v1', 'Pod').map((p) => `${p.metadata.namespace}/${p.metadata.name}@${(p.status as { podIP: string }).podIP}:${readyPods.has(p.metadata.name) ? 'ready' : 'unready'}`).sort(),
    config: api.list('networking.istio.io/v1', 'VirtualService').map((v) => `${v.metadata.namespace}/${v.metadata.name}@${v.metadata.resourceVersion}`).sort(),
  });
  const actual = (m: Mesh): ReturnType<typeof expected> => {
    const snap = m.registry.snapshot();
    return {
      services: snap.services.map((s) => `${s.namespace}/${s.name}:${s.ports.map((p) => p.port).join(',')}`).sort(),
      workloads: snap.workloads.map((w) => `${w.namespace}/${w.name}@${w.address}:${w.ready ? 'ready' : 'unready'}`).sort(),
      config: m.source.list({ group: 'networking.istio.io', kind: 'VirtualService' }).map((r) => `${r.metadata.namespace}/${r.metadata.name}@${r.metadata.resourceVersion}`).sort(),
    };
  };
  /** Waits until the mesh shows the API server's state (a guard against a hang, not a timing claim). */
  const converged = async (m: Mesh, what: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const want = expected();
      const got = actual(m);
      if (JSON.stringify(want) === JSON.stringify(got)) return;
      if (Date.now() > deadline) assert.deepEqual(got, want, `after ${what}, the registry and config source equal the API server's state`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    api = disposer.add(new FakeApiServer({ crds: generateCrds(), bookmarkIntervalMs: 200 }), (a) => a.stop());
    const url = await api.start();
    dir = disposer.tempDir('skiff-kube-');
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, ['apiVersion: v1', 'kind: Config', 'current-context: fake', 'contexts:', '- name: fake', '  context: {cluster: fake, user: admin}', 'clusters:', '- name: fake', `  cluster: {server: "${url}"}`, 'users:', '- name: admin', '  user: {token: admin-token}', ''].join('\n'));
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
    for (const s of ['reviews', 'ratings', 'details']) await api.create(service(s));
    for (let i = 0; i < 3; i++) addPod('reviews', i !== 2);
    addPod('ratings', true);
    api.put(vs('reviews', 'v1'));
    mesh = await startMesh(kubeconfig);
    // Whichever mesh runs at the end: a test restarts it.
    disposer.defer(() => mesh.stop());
  }));
  after(() => disposer.drain());

  it('lists and follows: services, pods with their readiness, Istio config', async () => {
    await converged(mesh, 'the first list');
    const w = mesh.registry.snapshot().workloads.find((x) => x.labels.app === 'ratings');
    assert.equal(w?.sidecar?.proxyId, `${w?.name}.${NS}`);
    assert.equal(w?.serviceAccount, 'bookinfo-ratings');
    assert.deepEqual(w?.meshPorts, { 9080: 9080 });
    await churn();
    await converged(mesh, 'changes while watching');
  });

  it('survives a dropped watch: it watches again from the last version, without a relist', async () => {
    const lists = mesh.source.informers.reduce((n, i) => n + i.stats.lists, 0);
    assert.ok(api.dropWatches() > 0);
    await churn();
    await converged(mesh, 'a dropped watch');
    assert.equal(mesh.source.informers.reduce((n, i) => n + i.stats.lists, 0), lists);
  });

  it('survives a compaction while disconnected: the 410 leads to a relist whose differences include the deletions it missed', async () => {
    const expiredBefore = mesh.workloads.pods.stats.expired;
    api.stallWatches();
    await churn();
    api.compact();
    api.dropWatches();
    await converged(mesh, '410 Gone after compaction');
    assert.ok(mesh.workloads.pods.stats.expired > expiredBefore, 'the pod informer relisted after 410');
  });

  it('survives a stalled stream: the watchdog abandons the silent watch and watches again', async () => {
    const stalls = mesh.workloads.pods.stats.stalls;
    // Only open streams stall: wait until the pod informer watches again after the previous fault.
    for (const deadline = Date.now() + 20_000; api.openWatchesOn('pods') === 0; await new Promise((r) => setTimeout(r, 20))) {
      assert.ok(Date.now() < deadline, 'the pod informer watches again');
    }
    api.stallWatches();
    await churn();
    await converged(mesh, 'a stalled stream');
    assert.ok(mesh.workloads.pods.stats.stalls > stalls);
    api.resumeWatches();
  });

  it('survives an API server restart (connections refused, then the watch history gone)', async () => {
    await api.restart();
    await churn();
    await converged(mesh, 'an API server restart');
  });

  it('survives its own restart: a new source and registry equal the API server from their first list', async () => {
    await mesh.stop();
    await churn();
    mesh = await startMesh(kubeconfig);
    await converged(mesh, 'a restart of the providers');
  });

  it('serves an invalid Istio resource to no one and reports it, and drops the valid version it replaces', async () => {
    api.put({ ...vs('broken', 'v1') });
    await converged(mesh, 'a valid resource');
    api.put({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'broken', namespace: NS }, spec: { hosts: [], http: [{ route: [{ destination: { host: 'x' }, weight: -1 }] }] } });
    const deadline = Date.now() + 20_000;
    while (mesh.source.rejected().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const rejected = mesh.source.rejected();
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0].ref, `VirtualService ${NS}/broken`);
    assert.ok(rejected[0].errors.length > 0);
    assert.equal(mesh.source.get({ group: 'networking.istio.io', kind: 'VirtualService', namespace: NS, name: 'broken' }), undefined);
    api.remove('networking.istio.io/v1', 'VirtualService', NS, 'broken');
    while (mesh.source.rejected().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(mesh.source.rejected(), []);
  });

  it('serves TLS Secrets (for credentialName), never service-account tokens', async () => {
    const tls = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bookinfo-credential', namespace: NS }, type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from('CERT').toString('base64'), 'tls.key': Buffer.from('KEY').toString('base64') } };
    await api.create(tls);
    await api.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'default-token', namespace: NS }, type: 'kubernetes.io/service-account-token', data: { token: Buffer.from('t').toString('base64') } });
    await api.create({ ...tls, metadata: { name: 'after', namespace: NS } });
    const deadline = Date.now() + 20_000;
    const names = (): string[] => mesh.source.list({ group: '', kind: 'Secret' }).map((r) => r.metadata.name);
    while (!names().includes('after') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(names(), ['after', 'bookinfo-credential']);
  });

  it("feeds the config source's change feed gaplessly: replaying it from 0 rebuilds exactly what it lists", () => {
    const rebuilt = new Map<string, string>();
    const stop = mesh.source.watch(0, (e) => {
      const k = `${e.resource.kind}/${e.resource.metadata.namespace ?? ''}/${e.resource.metadata.name}`;
      if (e.type === 'DELETED') rebuilt.delete(k);
      else rebuilt.set(k, String(e.resource.metadata.resourceVersion));
    });
    stop();
    const listed = new Map(mesh.source.list().map((r) => [`${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`, String(r.metadata.resourceVersion)]));
    assert.deepEqual([...rebuilt].sort(), [...listed].sort());
  });
});

describe('informer backoff', () => {
  it('backs off relists when every watch is answered 410 at once (doubling, capped), instead of relisting in a hot loop', async () => {
    // A server that hands out a version with each list and then refuses to watch from it.
    let lists = 0;
    const server = http.createServer((req, res) => {
      if (req.url?.includes('watch=true') === true) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } })}\n`);
        return;
      }
      lists++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'PodList', metadata: { resourceVersion: String(lists) }, items: [] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = new KubeClient({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, origin: 'test' });
    const inf = new Informer(client, { path: '/api/v1/pods', backoff: { initialMs: 10, maxMs: 160, random: () => 0.5 } });
    inf.start();
    const deadline = Date.now() + 20_000;
    while (inf.stats.lists < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await inf.stop();
    client.close();
    server.close();
    assert.deepEqual(inf.stats.waits.slice(0, 7), [10, 20, 40, 80, 160, 160, 160]);
    // Every watch was answered 410, but the one open when the informer stopped may not have been yet.
    const unanswered = inf.stats.watches - inf.stats.expired;
    assert.ok(unanswered === 0 || unanswered === 1, `${inf.stats.watches} watches, ${inf.stats.expired} answered 410`);
  });
});
