/**
 * skiffd on providers: given a config source it does not own and a registry a provider publishes
 * into, it translates and pushes from them as from its own store — a Service written to the
 * source reaches the registry (the Service sync) and the proxy's snapshot, a workload instance
 * published by the provider gives the proxy its target — while its API lists the source and
 * refuses to write it, and stopping skiffd leaves the source to its owner.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SkiffdApiError, apiRequest } from '../../src/cli/skiffd-client.js';
import { loadText } from '../../src/config/load.js';
import { ConfigStore } from '../../src/config/store.js';
import { SimProxy } from '../../src/controlplane/push/sim-client.js';
import { startSkiffd } from '../../src/controlplane/skiffd.js';
import type { ResourceList } from '../../src/controlplane/api-types.js';
import { MemoryRegistry } from '../../src/registry/memory.js';

const SERVICE = `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
`;

interface Snapshot {
  routes?: Array<{ virtualHosts: Array<{ name: string }> }>;
}

function virtualHosts(sim: SimProxy): string[] {
  const snap = sim.last?.snapshot as Snapshot | undefined;
  return (snap?.routes ?? []).flatMap((r) => r.virtualHosts.map((v) => v.name));
}

test('skiffd translates from a config source and registry it was given, and leaves the source to its owner', async () => {
  const root = await mkdtemp(join(tmpdir(), 'skiff-providers-'));
  const source = await ConfigStore.open(join(root, 'source'));
  const registry = new MemoryRegistry();
  const skiffd = await startSkiffd({ stateDir: join(root, 'skiffd'), config: source, registry, apiPort: 0, pushPort: 0, dashboardPort: false, debounceMs: 10 });
  let sim: SimProxy | undefined;
  try {
    assert.equal(skiffd.config, source);
    assert.equal(skiffd.registry, registry);
    // The provider publishes a sidecar's workload instance; the proxy connects with its id.
    registry.upsertWorkload({
      name: 'curl-1',
      namespace: 'default',
      labels: { app: 'curl' },
      serviceAccount: 'curl',
      address: '127.0.0.1',
      ready: true,
      meshPorts: {},
      appPorts: {},
      sidecar: { outboundPort: 15001, adminPort: 15000, proxyId: 'curl-1.default' },
    });
    sim = await SimProxy.connect({ url: skiffd.pushUrl, node: { id: 'curl-1.default', kind: 'sidecar' }, parse: true });
    await sim.waitFor((s) => s.last !== null);
    assert.equal(virtualHosts(sim).includes('reviews.default.svc.cluster.local:9080'), false);

    // The source's owner changes it; skiffd follows: Service → registry → every proxy.
    await source.apply(loadText('svc.yaml', SERVICE).resources.map((r) => r.resource));
    await sim.waitFor((s) => virtualHosts(s).includes('reviews.default.svc.cluster.local:9080'));
    assert.deepEqual(registry.snapshot().services.map((s) => s.hostname), ['reviews.default.svc.cluster.local']);

    const listed = (await apiRequest(skiffd, 'GET', '/api/v1/resources?kind=svc')) as ResourceList;
    assert.deepEqual(listed.items.map((r) => r.metadata.name), ['reviews']);
    assert.equal(listed.resourceVersion, source.resourceVersion);

    await assert.rejects(apiRequest(skiffd, 'POST', '/api/v1/apply', { files: [{ name: 'svc.yaml', text: SERVICE }] }), (err: unknown) => {
      assert.ok(err instanceof SkiffdApiError);
      assert.equal(err.status, 405);
      assert.match(err.message, /reads its config from another source/);
      return true;
    });
    await assert.rejects(skiffd.apply([{ name: 'svc.yaml', text: SERVICE }]), /reads its config from another source/);
  } finally {
    await sim?.close();
    await skiffd.stop();
    // Still the owner's: open and writable after skiffd stopped.
    assert.equal(source.writable, true);
    await source.close();
    await rm(root, { recursive: true, force: true });
  }
});
