/**
 * Deltas end to end: a push server serving translated snapshots (sidecars of one scope sharing
 * their outbound part) to the proxy's own control client, which rebuilds each snapshot from the
 * deltas. Whatever a proxy rebuilds must equal the complete snapshot translated for it; proxies
 * whose snapshot did not change get nothing. Simulated proxies stand in where the real client
 * cannot go: one that refuses a delta, one without the delta feature (they also show the sizes).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { createPushServer } from '../../../src/controlplane/push/server.js';
import type { PushServer } from '../../../src/controlplane/push/server.js';
import { SimProxy } from '../../../src/controlplane/push/sim-client.js';
import type { SimProxyOptions } from '../../../src/controlplane/push/sim-client.js';
import type { ConnectedProxy } from '../../../src/controlplane/push/types.js';
import { ConfigIndex, translateFor } from '../../../src/controlplane/translate/index.js';
import type { ProxySnapshot } from '../../../src/snapshot/index.js';
import type { RegistrySnapshot, WorkloadInstance } from '../../../src/registry/types.js';
import { loadYaml, sidecarWorkload } from '../translate/cases.js';
import { TestProxy } from './proxies.js';

function workload(name: string, namespace: string, app: string, port: number): WorkloadInstance {
  return sidecarWorkload(name, namespace, { app }, port);
}

const svc = (name: string, namespace: string): RegistrySnapshot['services'][number] => ({
  name,
  namespace,
  hostname: `${name}.${namespace}.svc.cluster.local`,
  ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' }],
  selector: { app: name },
});

const registry: RegistrySnapshot = {
  services: [svc('reviews', 'default'), svc('ratings', 'default'), svc('shop', 'shop')],
  workloads: [workload('reviews-1', 'default', 'reviews', 21001), workload('ratings-1', 'default', 'ratings', 21002), workload('shop-1', 'shop', 'shop', 21003)],
};

const vs = (namespace: string, host: string, timeout: string): string => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${host}, namespace: ${namespace} }
spec:
  hosts: [${host}]
  exportTo: ['.']
  http:
  - timeout: ${timeout}
    route: [{ destination: { host: ${host} } }]
`;

/** The mesh the server translates from; tests replace `yaml` and push. */
class Mesh {
  private index: ConfigIndex;
  constructor(yaml: string) {
    this.index = this.build(yaml);
  }
  set(yaml: string): void {
    this.index = this.build(yaml);
  }
  snapshotFor(proxy: ConnectedProxy): ProxySnapshot {
    const w = registry.workloads.find((x) => x.sidecar?.proxyId === proxy.id);
    if (w === undefined) throw new Error(`no workload for ${proxy.id}`);
    return translateFor(this.index, { kind: 'sidecar', id: proxy.id, workload: w });
  }
  private build(yaml: string): ConfigIndex {
    return new ConfigIndex(yaml.trim() === '' ? [] : loadYaml('mesh.yaml', yaml), registry);
  }
}

const open: { servers: PushServer[]; sims: SimProxy[]; proxies: TestProxy[] } = { servers: [], sims: [], proxies: [] };

afterEach(async () => {
  await Promise.all(open.proxies.splice(0).map((p) => p.close()));
  await Promise.all(open.sims.splice(0).map((s) => s.close()));
  await Promise.all(open.servers.splice(0).map((s) => s.close()));
});

async function start(mesh: Mesh): Promise<PushServer> {
  const server = createPushServer({ snapshotFor: (p) => mesh.snapshotFor(p), debounceMs: 5, maxDebounceMs: 20 });
  open.servers.push(server);
  await server.listen(0);
  return server;
}

/** Polls the server's status (it has no events) until `check` holds. */
async function serverSide(server: PushServer, check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), `timed out waiting for ${what}: ${server.status().map((p) => `${p.id} ${p.state}`).join(', ')}`);
}

/** Deltas go only to proxies whose ACK the server has read, so each waits for the server's side too. */
async function synced(server: PushServer, id: string): Promise<void> {
  await serverSide(server, () => server.status().some((p) => p.id === id && p.state === 'SYNCED'), `${id} SYNCED`);
}

/** A real proxy control client, connected, with its first snapshot acknowledged and read by the server. */
async function proxy(server: PushServer, id: string): Promise<TestProxy> {
  const p = await TestProxy.connect(server.url!, id);
  open.proxies.push(p);
  await p.waitFor(() => p.client.appliedVersion !== null, 'the first snapshot');
  await synced(server, id);
  return p;
}

async function sim(server: PushServer, id: string, extra: Partial<SimProxyOptions> = {}): Promise<SimProxy> {
  const s = await SimProxy.connect({ url: server.url!, node: { id, kind: 'sidecar' }, parse: true, ...extra });
  open.sims.push(s);
  await s.waitFor((x) => x.lastAck !== null);
  await synced(server, id);
  return s;
}

/** The complete snapshot proxy `id` should now hold, as JSON sees it, under `version`. */
function expected(mesh: Mesh, id: string, version: string): unknown {
  const full = mesh.snapshotFor({ id, node: { id, kind: 'sidecar' }, connectedAt: 0 });
  return JSON.parse(JSON.stringify({ ...full, version })) as unknown;
}

/** Waits until the proxy's client applied a version other than `before`. */
function nextVersion(p: TestProxy, before: string | null): Promise<void> {
  return p.waitFor(() => p.client.appliedVersion !== before && p.client.appliedVersion === p.last?.version, `a version after ${before ?? 'none'}`);
}

const ids = ['reviews-1.default', 'ratings-1.default', 'shop-1.shop'];

describe('push deltas', () => {
  test("a change reaches every proxy's control client as a delta that rebuilds exactly its complete snapshot", async () => {
    const mesh = new Mesh(vs('default', 'reviews', '1s'));
    const server = await start(mesh);
    const proxies = await Promise.all(ids.map((id) => proxy(server, id)));
    for (const p of proxies) assert.deepEqual(p.last!.snapshot, expected(mesh, p.id, p.last!.version), `${p.id}: the complete snapshot as translated`);
    assert.equal(server.counters.deltas, 0, 'the first snapshots are complete');

    mesh.set(`${vs('default', 'reviews', '2s')}---${vs('shop', 'shop', '3s')}`);
    let versions = proxies.map((p) => p.client.appliedVersion);
    server.pushAll('change');
    await Promise.all(proxies.map((p, i) => nextVersion(p, versions[i])));
    assert.equal(server.counters.deltas, 3, 'each proxy got the change as a delta');
    for (const p of proxies) assert.deepEqual(p.last!.snapshot, expected(mesh, p.id, p.last!.version), `${p.id} rebuilt its snapshot`);
    assert.match(JSON.stringify(proxies[0].last!.snapshot), /"timeoutMs":2000/, 'the new timeout is in what reviews-1 applied');
    await serverSide(server, () => server.status().every((p) => p.state === 'SYNCED'), 'all SYNCED');

    // Removing a VirtualService takes a route away: still a delta, still exact.
    mesh.set(vs('shop', 'shop', '3s'));
    versions = proxies.map((p) => p.client.appliedVersion);
    server.pushAll('delete');
    await Promise.all(proxies.slice(0, 2).map((p, i) => nextVersion(p, versions[i])));
    assert.equal(server.counters.deltas, 5);
    for (const p of proxies.slice(0, 2)) assert.deepEqual(p.last!.snapshot, expected(mesh, p.id, p.last!.version), `${p.id} after the delete`);
  });

  test('a proxy whose snapshot did not change is not sent anything', async () => {
    const mesh = new Mesh(vs('default', 'reviews', '1s'));
    const server = await start(mesh);
    const proxies = await Promise.all(ids.map((id) => proxy(server, id)));
    const sendsBefore = server.counters.sends;
    // Visible only in namespace shop (exportTo '.').
    mesh.set(`${vs('default', 'reviews', '1s')}---${vs('shop', 'shop', '5s')}`);
    const shopVersion = proxies[2].client.appliedVersion;
    server.pushAll('shop only');
    await nextVersion(proxies[2], shopVersion);
    await server.settled();
    assert.equal(server.counters.sends - sendsBefore, 1, 'one send: to the shop proxy');
    assert.deepEqual(proxies[2].last!.snapshot, expected(mesh, proxies[2].id, proxies[2].last!.version));
    // A change for everyone arrives after anything the others might have been sent: they got only it.
    mesh.set(`${vs('default', 'reviews', '4s')}---${vs('shop', 'shop', '5s')}`);
    const before = proxies.map((p) => p.client.appliedVersion);
    server.pushAll('everyone');
    await Promise.all(proxies.slice(0, 2).map((p, i) => nextVersion(p, before[i])));
    for (const p of proxies.slice(0, 2)) assert.equal(p.received.length, 2, `${p.id}: the first snapshot and the change for everyone`);
  });

  test('a proxy that cannot apply a delta gets the complete snapshot next; one without the feature only complete ones', async () => {
    const mesh = new Mesh(vs('default', 'reviews', '1s'));
    const server = await start(mesh);
    let refused = 0;
    const picky = await sim(server, ids[0], {
      judge: (s) => (s.delta && refused++ === 0 ? { path: 'base', reason: 'this proxy lost its snapshot' } : null),
    });
    const plain = await sim(server, ids[1], { deltas: false });
    const counts = [picky.received.length, plain.received.length];
    const fullSize = picky.last!.size;
    mesh.set(vs('default', 'reviews', '2s'));
    server.pushAll('change');
    await picky.waitFor((x) => x.received.length === counts[0] + 2 && x.lastAck!.version === x.last!.version);
    const [delta, complete] = picky.received.slice(-2);
    assert.deepEqual([delta.delta, complete.delta], [true, false], 'the refused delta, then the complete snapshot');
    assert.ok(delta.size < fullSize / 2, `a delta of ${delta.size} characters against ${fullSize} for the whole`);
    assert.deepEqual(picky.last!.snapshot, expected(mesh, picky.id, picky.last!.version));
    await plain.waitFor((x) => x.received.length === counts[1] + 1);
    assert.equal(plain.last!.delta, false);
    await serverSide(server, () => server.status().every((p) => p.state === 'SYNCED'), 'all SYNCED');
  });
});
