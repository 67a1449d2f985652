/**
 * Deltas end to end: a push server serving translated snapshots (sidecars of one scope sharing
 * their outbound part) to simulated proxies that rebuild each snapshot from the deltas, and to the
 * proxy's own control client. Whatever a proxy rebuilds must equal the complete snapshot
 * translated for it; proxies whose snapshot did not change get nothing; a delta that does not fit
 * is answered with the complete snapshot.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { createPushServer } from '../../../src/controlplane/push/server.js';
import type { PushServer } from '../../../src/controlplane/push/server.js';
import { SimProxy } from '../../../src/controlplane/push/sim-client.js';
import type { SimProxyOptions } from '../../../src/controlplane/push/sim-client.js';
import type { ConnectedProxy } from '../../../src/controlplane/push/types.js';
import { ConfigIndex, translateFor } from '../../../src/controlplane/translate/index.js';
import { ControlClient } from '../../../src/proxy/control-client.js';
import type { ProxySnapshot } from '../../../src/snapshot/index.js';
import type { RegistrySnapshot, WorkloadInstance } from '../../../src/registry/types.js';
import { loadYaml, sidecarWorkload } from '../translate/cases.js';

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

const open: { servers: PushServer[]; sims: SimProxy[]; clients: ControlClient[] } = { servers: [], sims: [], clients: [] };

afterEach(async () => {
  await Promise.all(open.clients.splice(0).map((c) => c.close()));
  await Promise.all(open.sims.splice(0).map((s) => s.close()));
  await Promise.all(open.servers.splice(0).map((s) => s.close()));
});

async function start(mesh: Mesh): Promise<PushServer> {
  const server = createPushServer({ snapshotFor: (p) => mesh.snapshotFor(p), debounceMs: 5, maxDebounceMs: 20 });
  open.servers.push(server);
  await server.listen(0);
  return server;
}

async function sim(server: PushServer, id: string, extra: Partial<SimProxyOptions> = {}): Promise<SimProxy> {
  const s = await SimProxy.connect({ url: server.url!, node: { id, kind: 'sidecar' }, parse: true, ...extra });
  open.sims.push(s);
  await s.waitFor((x) => x.lastAck !== null);
  // Deltas go only to proxies whose ACK the server has read, so wait for the server's side too.
  for (let i = 0; i < 500 && !server.status().some((p) => p.id === id && p.state === 'SYNCED'); i++) await new Promise((r) => setTimeout(r, 10));
  return s;
}

/** The complete snapshot the proxy should now hold, as JSON sees it, with the version it was sent under. */
function expected(mesh: Mesh, s: SimProxy): unknown {
  const full = mesh.snapshotFor({ id: s.id, node: { id: s.id, kind: 'sidecar' }, connectedAt: 0 });
  return JSON.parse(JSON.stringify({ ...full, version: s.last!.version })) as unknown;
}

/** Waits until every proxy acknowledged its last send (ACKs travel after the sim saw the message). */
async function allSynced(server: PushServer): Promise<void> {
  for (let i = 0; i < 500 && !server.status().every((p) => p.state === 'SYNCED'); i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(
    server.status().filter((p) => p.state !== 'SYNCED').map((p) => `${p.id} ${p.state}`),
    [],
  );
}

const ids = ['reviews-1.default', 'ratings-1.default', 'shop-1.shop'];

describe('push deltas', () => {
  test('a change reaches every proxy as a small delta that rebuilds exactly its complete snapshot', async () => {
    const mesh = new Mesh(vs('default', 'reviews', '1s'));
    const server = await start(mesh);
    const sims = await Promise.all(ids.map((id) => sim(server, id)));
    for (const s of sims) {
      assert.equal(s.last!.delta, false, 'the first snapshot is complete');
      assert.deepEqual(s.last!.snapshot, expected(mesh, s), `${s.id}: the complete snapshot as translated`);
    }
    const fullSize = sims[0].last!.size;

    mesh.set(`${vs('default', 'reviews', '2s')}---${vs('shop', 'shop', '3s')}`);
    const versions = sims.map((s) => s.lastAck!.version);
    server.pushAll('change');
    await Promise.all(sims.map((s, i) => s.waitFor((x) => x.lastAck!.version !== versions[i])));
    for (const s of sims) {
      assert.equal(s.last!.delta, true, `${s.id} got a delta`);
      assert.ok(s.last!.size < fullSize / 2, `${s.id}: delta of ${s.last!.size} characters against ${fullSize} for the whole`);
      assert.deepEqual(s.last!.snapshot, expected(mesh, s), `${s.id} rebuilt its snapshot`);
    }
    await allSynced(server);

    // Removing a VirtualService takes a route away: still a delta, still exact.
    mesh.set(vs('shop', 'shop', '3s'));
    const before = sims.map((s) => s.lastAck!.version);
    server.pushAll('delete');
    await Promise.all(sims.slice(0, 2).map((s, i) => s.waitFor((x) => x.lastAck!.version !== before[i])));
    for (const s of sims.slice(0, 2)) assert.deepEqual(s.last!.snapshot, expected(mesh, s), `${s.id} after the delete`);
  });

  test('a proxy whose snapshot did not change is not sent anything', async () => {
    const mesh = new Mesh(vs('default', 'reviews', '1s'));
    const server = await start(mesh);
    const sims = await Promise.all(ids.map((id) => sim(server, id)));
    const received = sims.map((s) => s.received.length);
    const sendsBefore = server.counters.sends;
    // Visible only in namespace shop (exportTo '.').
    mesh.set(`${vs('default', 'reviews', '1s')}---${vs('shop', 'shop', '5s')}`);
    server.pushAll('shop only');
    await sims[2].waitFor((x) => x.received.length === received[2] + 1);
    await server.settled();
    assert.equal(server.counters.sends - sendsBefore, 1, 'one send: to the shop proxy');
    assert.equal(sims[0].received.length, received[0]);
    assert.equal(sims[1].received.length, received[1]);
    assert.deepEqual(sims[2].last!.snapshot, expected(mesh, sims[2]));
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
    mesh.set(vs('default', 'reviews', '2s'));
    server.pushAll('change');
    await picky.waitFor((x) => x.received.length === counts[0] + 2 && x.lastAck!.version === x.last!.version);
    assert.deepEqual(
      picky.received.slice(-2).map((r) => r.delta),
      [true, false],
      'the refused delta, then the complete snapshot',
    );
    assert.deepEqual(picky.last!.snapshot, expected(mesh, picky));
    await plain.waitFor((x) => x.received.length === counts[1] + 1);
    assert.equal(plain.last!.delta, false);
    await allSynced(server);
  });

  test("the proxy's control client applies deltas onto the snapshot in force", async () => {
    const mesh = new Mesh(vs('default', 'reviews', '1s'));
    const server = await start(mesh);
    const applied: unknown[] = [];
    const client = new ControlClient({
      url: server.url!,
      node: { id: ids[0], kind: 'sidecar' },
      target: {
        applySnapshot: (input: unknown) => {
          applied.push(JSON.parse(JSON.stringify(input)));
          return Promise.resolve({ version: (input as { version: string }).version });
        },
      },
    });
    open.clients.push(client);
    client.start();
    const until = async (n: number): Promise<void> => {
      for (let i = 0; i < 500 && (applied.length < n || server.status()[0]?.state !== 'SYNCED'); i++) await new Promise((r) => setTimeout(r, 10));
    };
    await until(1);
    mesh.set(vs('default', 'reviews', '7s'));
    server.pushAll('change');
    await until(2);
    assert.equal(server.counters.deltas, 1, 'the change went out as a delta');
    const want = mesh.snapshotFor({ id: ids[0], node: { id: ids[0], kind: 'sidecar' }, connectedAt: 0 });
    assert.deepEqual(applied[1], JSON.parse(JSON.stringify({ ...want, version: client.appliedVersion })));
    assert.match(JSON.stringify(applied[1]), /"timeoutMs":7000|7000/);
  });
});
