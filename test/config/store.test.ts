import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Resource } from '../../src/api/types.js';
import { ConfigStore, ResourceVersionTooOldError } from '../../src/config/store.js';
import type { StoreEvent } from '../../src/config/store.js';
import { deleteTargets, loadForApply } from '../../src/config/store-input.js';
import { findKind, kubectlRef } from '../../src/config/store-keys.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'skiff-store-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
async function freshDir(): Promise<string> {
  const dir = join(root, `s${++n}`);
  return dir;
}

function vs(name: string, host: string, extra: Partial<Resource['metadata']> = {}, ns = 'default'): Resource {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: ns, ...extra },
    spec: { hosts: [host], http: [{ route: [{ destination: { host } }] }] },
  };
}

const VS_YAML = (name: string, host: string): string => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
spec:
  hosts: [${host}]
  http:
  - route:
    - destination:
        host: ${host}
`;

test('apply: created, then unchanged on the same content, configured on a change; versions and generations', async () => {
  const store = await ConfigStore.open(await freshDir());
  try {
    const [created] = await store.apply([vs('reviews', 'reviews')]);
    assert.equal(created?.action, 'created');
    assert.equal(created?.ref, 'virtualservice.networking.istio.io/reviews');
    assert.equal(created?.resource.metadata.resourceVersion, '1');
    assert.equal(created?.resource.metadata.generation, 1);
    assert.match(created?.resource.metadata.uid ?? '', /^[0-9a-f-]{36}$/);

    const [same] = await store.apply([vs('reviews', 'reviews')]);
    assert.equal(same?.action, 'unchanged');
    assert.equal(store.resourceVersion, 1, 'an unchanged re-apply is not a change');

    // A label change reconfigures the resource but its spec (and so its generation) stays.
    const [labelled] = await store.apply([vs('reviews', 'reviews', { labels: { team: 'a' } })]);
    assert.equal(labelled?.action, 'configured');
    assert.equal(labelled?.resource.metadata.generation, 1);
    assert.equal(labelled?.resource.metadata.uid, created?.resource.metadata.uid);
    assert.equal(labelled?.resource.metadata.creationTimestamp, created?.resource.metadata.creationTimestamp);

    const [respec] = await store.apply([vs('reviews', 'reviews-v2', { labels: { team: 'a' } })]);
    assert.equal(respec?.action, 'configured');
    assert.equal(respec?.resource.metadata.generation, 2);
    assert.equal(respec?.resource.metadata.resourceVersion, '3');
    assert.equal(store.resourceVersion, 3);
  } finally {
    await store.close();
  }
});

test('identity is (group, kind, namespace, name): the API version does not matter, the namespace does', async () => {
  const store = await ConfigStore.open(await freshDir());
  try {
    await store.apply([vs('r', 'r'), vs('r', 'r', {}, 'other')]);
    const [beta] = await store.apply([{ ...vs('r', 'r'), apiVersion: 'networking.istio.io/v1beta1' }]);
    assert.equal(beta?.action, 'configured');
    assert.equal(store.list({ kind: 'VirtualService' }).length, 2);
    assert.deepEqual(store.list({ namespace: 'other' }).map((r) => r.metadata.namespace), ['other']);
    const svc: Resource = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'r', namespace: 'default' }, spec: { ports: [{ port: 80 }] } };
    const [s] = await store.apply([svc]);
    assert.equal(s?.ref, 'service/r');
    assert.equal(store.list().length, 3);
  } finally {
    await store.close();
  }
});

test('a file with one invalid resource is refused whole with positioned findings, and nothing is applied', async () => {
  const store = await ConfigStore.open(await freshDir());
  try {
    const bad = `${VS_YAML('good', 'good')}---\n${VS_YAML('bad', 'bad').replace('hosts: [bad]', 'hosts: bad')}`;
    const input = loadForApply([{ name: 'mixed.yaml', text: bad }]);
    assert.equal(input.ok, false);
    if (input.ok) return;
    const errors = input.findings.filter((f) => f.severity === 'error');
    assert.ok(errors.length > 0);
    assert.equal(errors[0]?.file, 'mixed.yaml');
    assert.equal(errors[0]?.line, 17);
    assert.equal(errors[0]?.resource, 'VirtualService/default/bad');
    assert.equal(store.list().length, 0);
  } finally {
    await store.close();
  }
});

test('unsupported kinds are skipped with a warning, the rest applied', async () => {
  const text = `apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata:\n  name: ef\nspec: {}\n---\n${VS_YAML('ok', 'ok')}`;
  const input = loadForApply([{ name: 'f.yaml', text }]);
  assert.equal(input.ok, true);
  if (!input.ok) return;
  assert.equal(input.resources.length, 1);
  assert.match(input.warnings[0]?.message ?? '', /WorkloadGroup .* not supported/);
});

test('delete targets come from the documents, even invalid ones, with the default namespace', () => {
  const text = `${VS_YAML('a', 'a').replace('hosts: [a]', 'hosts: 7')}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n`;
  const { targets, findings } = deleteTargets([{ name: 'd.yaml', text }], 'bar');
  assert.deepEqual(findings, []);
  assert.deepEqual(targets, [
    { group: 'networking.istio.io', kind: 'VirtualService', namespace: 'bar', name: 'a' },
    { group: '', kind: 'Namespace', namespace: '', name: 'foo' },
  ]);
});

test('change feed: events in order with their versions; watch replays from a version; too old is an error', async () => {
  const store = await ConfigStore.open(await freshDir(), { historySize: 3 });
  try {
    const seen: StoreEvent[] = [];
    const stop = store.subscribe((e) => seen.push(e));
    await store.apply([vs('a', 'a'), vs('b', 'b')]);
    await store.apply([vs('a', 'a2')]);
    await store.apply([vs('a', 'a2')]); // unchanged: no event
    const [gone] = await store.delete([{ group: 'networking.istio.io', kind: 'VirtualService', namespace: 'default', name: 'b' }]);
    const [missing] = await store.delete([{ group: 'networking.istio.io', kind: 'VirtualService', namespace: 'default', name: 'zz' }]);
    stop();
    assert.equal(gone?.deleted, true);
    assert.equal(missing?.deleted, false);
    assert.deepEqual(
      seen.map((e) => [e.type, e.resource.metadata.name, e.resourceVersion]),
      [['ADDED', 'a', 1], ['ADDED', 'b', 2], ['MODIFIED', 'a', 3], ['DELETED', 'b', 4]],
    );

    const replay: number[] = [];
    const unwatch = store.watch(2, (e) => replay.push(e.resourceVersion));
    await store.apply([vs('c', 'c')]);
    unwatch();
    assert.deepEqual(replay, [3, 4, 5]);
    // Only the last three changes are kept, so a watch from version 1 must list again.
    assert.throws(() => store.watch(1, () => undefined), ResourceVersionTooOldError);
    assert.deepEqual(store.eventsSince(5), []);
  } finally {
    await store.close();
  }
});

test('persistence: a reopened store has everything applied, and versions keep growing after deletions', async () => {
  const dir = await freshDir();
  const first = await ConfigStore.open(dir);
  await first.apply([vs('a', 'a'), vs('b', 'b')]);
  await first.delete([{ group: 'networking.istio.io', kind: 'VirtualService', namespace: 'default', name: 'b' }]);
  const before = first.list();
  await first.close();

  const second = await ConfigStore.open(dir);
  try {
    assert.deepEqual(second.list(), before);
    assert.equal(second.resourceVersion, 3);
    const [again] = await second.apply([vs('a', 'a')]);
    assert.equal(again?.action, 'unchanged', 'a restart keeps unchanged detection working');
    const [c] = await second.apply([vs('c', 'c')]);
    assert.equal(c?.resource.metadata.resourceVersion, '4');
  } finally {
    await second.close();
  }
});

test('a writer killed mid-write leaves the store readable with whole applies only; its temp files are cleaned up', async () => {
  const dir = await freshDir();
  const storeModule = fileURLToPath(new URL('../../src/config/store.js', import.meta.url));
  // Each apply writes two resources carrying the same counter; a torn apply would show two different ones.
  const script = `
    const { ConfigStore } = await import(${JSON.stringify(storeModule)});
    const store = await ConfigStore.open(${JSON.stringify(dir)});
    const pad = 'x'.repeat(20000);
    for (let i = 0; ; i++) {
      const mk = (name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { i: String(i), pad } });
      await store.apply([mk('left'), mk('right')]);
      if (i === 5) process.stdout.write('going\\n');
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
    });
    await new Promise((r) => setTimeout(r, 150));
  } finally {
    child.kill('SIGKILL');
  }
  await new Promise((r) => child.once('close', r));
  // A crash can also leave a half-written temporary file behind.
  await writeFile(join(dir, 'store.json.tmp-99999-deadbeef'), '{"format":1,"resourceVer');

  const store = await ConfigStore.open(dir);
  try {
    const [left, right] = store.list({ kind: 'ConfigMap' });
    assert.ok(left && right);
    assert.equal((left.data as { i: string }).i, (right.data as { i: string }).i);
    assert.ok(Number((left.data as { i: string }).i) >= 5);
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp-')), []);
  } finally {
    await store.close();
  }
});

test('one writer at a time: a second open waits for the lock and then fails naming the owner; read-only opens do not', async () => {
  const dir = await freshDir();
  const owner = await ConfigStore.open(dir);
  try {
    await assert.rejects(ConfigStore.open(dir, { lockWaitMs: 100 }), new RegExp(`in use by process ${process.pid}|already locked by this process`));
    const reader = await ConfigStore.open(dir, { lock: false });
    assert.equal(reader.writable, false);
    await assert.rejects(reader.apply([vs('a', 'a')]), /read-only/);
  } finally {
    await owner.close();
  }
  // A lock left by a process that no longer exists is taken over.
  await writeFile(join(dir, 'store.lock'), '2147483646\n');
  const next = await ConfigStore.open(dir, { lockWaitMs: 100 });
  await next.close();
});

test('kinds by name, plural, short name or group-qualified; kubectl references', () => {
  for (const name of ['vs', 'VirtualService', 'virtualservices', 'virtualservice.networking.istio.io', 'VIRTUALSERVICES.networking.istio.io']) {
    assert.equal(findKind(name)?.kind, 'VirtualService', name);
  }
  assert.equal(findKind('deploy')?.group, 'apps');
  assert.equal(findKind('svc')?.kind, 'Service');
  assert.equal(findKind('pods')?.kind, 'Pod');
  assert.equal(findKind('gw')?.kind, 'Gateway');
  assert.equal(findKind('virtualservice.apps'), undefined);
  assert.equal(findKind('frobs'), undefined);
  assert.equal(kubectlRef({ group: 'apps', kind: 'Deployment', name: 'web' }), 'deployment.apps/web');
  assert.equal(kubectlRef({ group: '', kind: 'Namespace', name: 'foo' }), 'namespace/foo');
});
