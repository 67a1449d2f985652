/**
 * The registry's Service sync: Kubernetes Services of a config source published as registry
 * services, kept in step with applies and deletes, unchanged ones left alone (no registry event,
 * hence no push), and only what it published removed — workload instances and services of other
 * providers stay.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Resource } from '../../src/api/types.js';
import { loadText } from '../../src/config/load.js';
import { ConfigStore } from '../../src/config/store.js';
import { MemoryRegistry } from '../../src/registry/memory.js';
import { ServiceSync } from '../../src/registry/service-sync.js';
import { repoRoot } from '../helpers/cli.js';

function resources(text: string): Resource[] {
  const loaded = loadText('test.yaml', text);
  assert.deepEqual(loaded.findings.filter((f) => f.severity === 'error').map((f) => f.message), []);
  return loaded.resources.map((r) => r.resource);
}

const service = (name: string, port: number, ns = 'default'): string => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec:
  selector: {app: ${name}}
  ports: [{name: http, port: ${port}, targetPort: 8080}]
`;

async function withStore(fn: (store: ConfigStore) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-service-sync-'));
  const store = await ConfigStore.open(dir);
  try {
    await fn(store);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('Service sync', () => {
  test("httpbin's manifest: its Service becomes a registry service with its ports; the Deployment and ServiceAccount do not", async () => {
    const registry = new MemoryRegistry();
    new ServiceSync(registry).sync(resources(await readFile(join(repoRoot, 'samples/httpbin/httpbin.yaml'), 'utf8')));
    const snap = registry.snapshot();
    assert.deepEqual(
      snap.services.map((s) => [s.namespace, s.name, s.hostname, s.ports[0]?.port, s.ports[0]?.targetPort]),
      [['default', 'httpbin', 'httpbin.default.svc.cluster.local', 8000, 8080]],
    );
    assert.deepEqual(snap.workloads, []);
  });

  test('follows a config source: applies and deletes reach the registry, an unchanged Service makes no registry change', async () => {
    await withStore(async (store) => {
      const registry = new MemoryRegistry();
      let changes = 0;
      registry.onChange(() => changes++);
      await store.apply(resources(service('reviews', 9080)));
      const stop = new ServiceSync(registry).follow(store);
      assert.deepEqual(registry.snapshot().services.map((s) => s.name), ['reviews'], 'what the source held before following is published');
      assert.equal(changes, 1);

      await store.apply(resources(service('ratings', 9080, 'bar')));
      assert.deepEqual(registry.snapshot().services.map((s) => `${s.namespace}/${s.name}`), ['bar/ratings', 'default/reviews']);
      assert.equal(changes, 2, 'only the new Service was published; reviews was left alone');

      // A change to something other than a Service does not touch the registry.
      await store.apply(resources('apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http: [{route: [{destination: {host: reviews}}]}]\n'));
      assert.equal(changes, 2);

      await store.apply(resources(service('reviews', 9081)));
      assert.equal(registry.getService('default', 'reviews')?.ports[0]?.port, 9081, 'a changed Service is published again');

      await store.delete([{ group: '', kind: 'Service', namespace: 'bar', name: 'ratings' }]);
      assert.deepEqual(registry.snapshot().services.map((s) => s.name), ['reviews']);

      stop();
      await store.apply(resources(service('details', 9080)));
      assert.equal(registry.getService('default', 'details'), undefined, 'after stop() nothing is followed');
    });
  });

  test('removes only what it published: workload instances and other providers’ services stay', () => {
    const registry = new MemoryRegistry();
    registry.upsertService({ name: 'external', namespace: 'default', hostname: 'external.default.svc.cluster.local', ports: [] });
    registry.upsertWorkload({ name: 'reviews-1', namespace: 'default', labels: { app: 'reviews' }, serviceAccount: 'default', address: '127.0.0.1', ready: true, meshPorts: {}, appPorts: {} });
    const sync = new ServiceSync(registry);
    sync.sync(resources(service('reviews', 9080)));
    assert.deepEqual(registry.snapshot().services.map((s) => s.name), ['external', 'reviews']);
    sync.clear();
    assert.deepEqual(registry.snapshot().services.map((s) => s.name), ['external']);
    assert.deepEqual(registry.snapshot().workloads.map((w) => w.name), ['reviews-1']);
  });
});
