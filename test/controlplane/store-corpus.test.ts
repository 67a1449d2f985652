/**
 * The regression corpus of damaged stores (test/controlplane/store-corpus/*.json): a store.json
 * whose JSON is valid but holds resources that are not what their kind says (`ports: "oops"`, a
 * mapping where a list belongs, entries naming no resource). Each case's entries are written into
 * a store beside good resources, and a real skiffd is started on it: the good resources reach a
 * proxy (a real push stream), each bad entry is left out and reported by name with what is wrong
 * and how to mend it — in skiffd's log, its status, `skiff proxy-status` and `skiff analyze` —
 * and the mesh goes on taking changes. A resource that passes its schema but makes translation
 * throw (from a config source that does not validate) is left out the same way.
 *
 * Adding a case is adding a file:
 *
 *   {
 *     "description": "what is damaged",
 *     "entries": [ ...store entries as the file would hold them... ],
 *     "expect": { "leftOut": [{ "resource": "Service default/x", "reason": "regex", "mend": "regex" }] }
 *   }
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadText } from '../../src/config/load.js';
import { ConfigStore } from '../../src/config/store.js';
import type { ConfigSource } from '../../src/config/source.js';
import type { Resource } from '../../src/api/types.js';
import { SimProxy } from '../../src/controlplane/push/sim-client.js';
import { startSkiffd } from '../../src/controlplane/skiffd.js';
import type { Skiffd } from '../../src/controlplane/skiffd.js';
import type { LeftOutEntry } from '../../src/controlplane/api-types.js';
import { MemoryRegistry } from '../../src/registry/memory.js';
import { repoRoot, runSkiff } from '../helpers/cli.js';

const CORPUS_DIR = join(repoRoot, 'test', 'controlplane', 'store-corpus');

interface StoreCase {
  description: string;
  entries: unknown[];
  expect: { leftOut: Array<{ resource: string; reason: string; mend: string }> };
}

/** The store's good part: what every proxy must keep getting. */
const GOOD = `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - name: to-reviews
    route: [{destination: {host: reviews}}]
`;
const REVIEWS_HOST = 'reviews.default.svc.cluster.local:9080';
const DETAILS = `apiVersion: v1
kind: Service
metadata: {name: details, namespace: default}
spec:
  selector: {app: details}
  ports: [{name: http, port: 9080}]
`;

function goodResources(): Resource[] {
  return loadText('good.yaml', GOOD).resources.map((r) => ({
    ...r.resource,
    metadata: { ...r.resource.metadata, creationTimestamp: '2026-01-01T00:00:00Z', generation: 1, resourceVersion: '1', uid: `u-${r.resource.kind}` },
  }));
}

function curlRegistry(): MemoryRegistry {
  const registry = new MemoryRegistry();
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
  return registry;
}

function virtualHosts(sim: SimProxy): string[] {
  const snap = sim.last?.snapshot as { routes?: Array<{ virtualHosts: Array<{ name: string }> }> } | undefined;
  return (snap?.routes ?? []).flatMap((r) => r.virtualHosts.map((v) => v.name));
}

function checkLeftOut(file: string, got: readonly LeftOutEntry[], want: StoreCase['expect']['leftOut']): void {
  assert.deepEqual(got.map((e) => e.resource), want.map((w) => w.resource), `${file}: the resources left out`);
  want.forEach((w, i) => {
    assert.match(got[i].reason, new RegExp(w.reason), `${file}: why ${w.resource} is left out`);
    assert.match(got[i].mend, new RegExp(w.mend), `${file}: how to mend ${w.resource}`);
  });
}

async function withSkiffd(stateDir: string, config: ConfigSource | undefined, work: (skiffd: Skiffd, sim: SimProxy, log: string[]) => Promise<void>): Promise<void> {
  const log: string[] = [];
  const skiffd = await startSkiffd({
    stateDir,
    ...(config !== undefined ? { config } : {}),
    registry: curlRegistry(),
    apiPort: 0,
    pushPort: 0,
    dashboardPort: false,
    debounceMs: 10,
    log: (line) => log.push(line),
  });
  let sim: SimProxy | undefined;
  try {
    sim = await SimProxy.connect({ url: skiffd.pushUrl, node: { id: 'curl-1.default', kind: 'sidecar' }, parse: true });
    await work(skiffd, sim, log);
  } finally {
    await sim?.close();
    await skiffd.stop();
  }
}

describe('damaged stores: the bad entries are left out and named, the rest of the mesh keeps its config', () => {
  const files = readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.json')).sort();
  assert.ok(files.length >= 4, `corpus cases: ${files.length}`);

  for (const file of files) {
    const c = JSON.parse(readFileSync(join(CORPUS_DIR, file), 'utf8')) as StoreCase;
    test(`${file}: ${c.description}`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'skiff-store-corpus-'));
      try {
        // Bad entries first, so an entry that names nothing is `store entry #<its index in the case>`.
        await writeFile(join(dir, 'store.json'), JSON.stringify({ format: 1, resourceVersion: 5, resources: [...c.entries, ...goodResources()] }));
        await withSkiffd(dir, undefined, async (skiffd, sim, log) => {
          await sim.waitFor((s) => virtualHosts(s).includes(REVIEWS_HOST));
          const routes = JSON.stringify(sim.last?.snapshot);
          assert.ok(routes.includes('to-reviews'), 'the good VirtualService is in force');
          checkLeftOut(file, skiffd.status().leftOut, c.expect.leftOut);
          for (const w of c.expect.leftOut) {
            assert.ok(
              log.some((l) => l.includes(`${w.resource} is left out of every proxy's config`)),
              `${file}: skiffd's log names ${w.resource}:\n${log.join('\n')}`,
            );
          }
          // The mesh still takes changes, and the proxy gets them.
          const applied = await skiffd.apply([{ name: 'details.yaml', text: DETAILS }]);
          assert.ok(applied.ok, JSON.stringify(applied));
          await sim.waitFor((s) => virtualHosts(s).includes('details.default.svc.cluster.local:9080'));
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

test('skiff proxy-status and skiff analyze name what a running skiffd leaves out and how to mend it; the mend works', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-store-corpus-cli-'));
  try {
    const c = JSON.parse(readFileSync(join(CORPUS_DIR, 'service-ports-not-a-list.json'), 'utf8')) as StoreCase;
    await writeFile(join(dir, 'store.json'), JSON.stringify({ format: 1, resourceVersion: 5, resources: [...c.entries, ...goodResources()] }));
    await withSkiffd(dir, undefined, async (skiffd, sim) => {
      await sim.waitFor((s) => virtualHosts(s).includes(REVIEWS_HOST));
      const status = await runSkiff(['proxy-status', '--state-dir', dir]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /curl-1\.default/);
      assert.match(
        status.stderr,
        /Left out of every proxy's config \(1\):\n {2}Service default\/ratings: spec\.ports: must be a list \(got "oops"\)\n {4}apply a corrected Service ratings in namespace default \(skiff apply -f FILE\), or remove it: skiff delete service ratings -n default\n/,
      );
      const json = JSON.parse((await runSkiff(['proxy-status', '-o', 'json', '--state-dir', dir])).stdout) as { leftOut: LeftOutEntry[] };
      assert.deepEqual(json.leftOut.map((e) => [e.resource, e.stage]), [['Service default/ratings', 'validation']]);

      const file = join(dir, 'vs.yaml');
      await writeFile(file, GOOD);
      const analyzed = await runSkiff(['analyze', '--state-dir', dir, file]);
      assert.equal(analyzed.code, 79, `${analyzed.stdout}${analyzed.stderr}`);
      assert.match(analyzed.stdout, /Error \[SKF0006\] \(Service default\/ratings\) skiffd leaves it out of every proxy's config: spec\.ports: must be a list \(got "oops"\)\. To mend it: .*skiff delete service ratings -n default/);

      // The mend it names: remove it, and it is no longer reported, nor kept in the file.
      const deleted = await runSkiff(['delete', 'service', 'ratings', '-n', 'default', '--state-dir', dir]);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.deepEqual(skiffd.status().leftOut, []);
      const after = await runSkiff(['proxy-status', '--state-dir', dir]);
      assert.doesNotMatch(after.stderr, /Left out/);
      assert.equal((await runSkiff(['analyze', '--state-dir', dir, file])).code, 0);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a resource that passes its schema but makes translation throw is left out, named, and the rest pushed', async () => {
  const root = await mkdtemp(join(tmpdir(), 'skiff-store-corpus-translate-'));
  const store = await ConfigStore.open(join(root, 'source'));
  try {
    await store.apply(goodResources());
    // A config source that hands over what it was given unchecked (as an informer that does not
    // validate would): a VirtualService whose http rules are a string.
    const broken = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'ratings', namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { hosts: ['ratings'], http: 'oops' },
    } as unknown as Resource;
    const unchecked: ConfigSource = {
      get resourceVersion() {
        return store.resourceVersion;
      },
      list: (filter) => [...store.list(filter), ...(filter === undefined || filter.kind === undefined || filter.kind === 'VirtualService' ? [broken] : [])],
      get: (id) => store.get(id),
      subscribe: (fn) => store.subscribe(fn),
      watch: (from, fn) => store.watch(from, fn),
    };
    await withSkiffd(join(root, 'skiffd'), unchecked, async (skiffd, sim, log) => {
      await sim.waitFor((s) => virtualHosts(s).includes(REVIEWS_HOST));
      assert.ok(JSON.stringify(sim.last?.snapshot).includes('to-reviews'));
      const left = skiffd.status().leftOut;
      assert.deepEqual(left.map((e) => [e.resource, e.stage]), [['VirtualService default/ratings', 'translation']]);
      assert.match(left[0].reason, /^translating it fails: /);
      assert.match(left[0].mend, /skiff delete virtualservice\.networking\.istio\.io ratings -n default$/);
      assert.ok(log.some((l) => l.includes("VirtualService default/ratings is left out of every proxy's config: translating it fails")), log.join('\n'));
    });
  } finally {
    await store.close();
    await rm(root, { recursive: true, force: true });
  }
});
