/**
 * A store that survives what happens to its file: each change keeps the store as it was before
 * it in `store.json.prev`; an unreadable store is refused with the exact command that restores
 * the previous one (run here, it works), or with how to start empty when there is none; a
 * resource of the file that fails its schema is set apart — not served, reported with its errors
 * and how to mend it, kept in the file — until a valid one takes its place or it is deleted.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigStore } from '../../src/config/store.js';
import { applyTexts, deleteIds } from '../../src/config/store-ops.js';

const vs = (name: string): string =>
  `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: ${name}\nspec:\n  hosts: [${name}]\n  http:\n  - route:\n    - destination:\n        host: ${name}\n`;
const svc = (name: string): string => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  selector: { app: ${name} }\n  ports:\n  - port: 80\n    name: http\n`;

async function withDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-store-recovery-'));
  try {
    await work(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const names = (text: string): string[] => (JSON.parse(text) as { resources: Array<{ metadata?: { name?: string } }> }).resources.map((r) => r.metadata?.name ?? '?');

describe('the previous store', () => {
  test('each change keeps the store as it was before it in store.json.prev', () =>
    withDir(async (dir) => {
      const store = await ConfigStore.open(dir);
      await applyTexts(store, [{ name: 'a.yaml', text: vs('a') }]);
      await applyTexts(store, [{ name: 'b.yaml', text: vs('b') }]);
      await store.close();
      assert.deepEqual(names(await readFile(join(dir, 'store.json'), 'utf8')), ['a', 'b']);
      assert.deepEqual(names(await readFile(join(dir, 'store.json.prev'), 'utf8')), ['a']);
    }));

  test('an unreadable store is refused with the command that restores the previous one, which works', () =>
    withDir(async (dir) => {
      const store = await ConfigStore.open(dir);
      await applyTexts(store, [{ name: 'a.yaml', text: vs('a') }]);
      await applyTexts(store, [{ name: 'b.yaml', text: vs('b') }]);
      await store.close();
      const file = join(dir, 'store.json');
      await writeFile(file, '{"format":1,"resourceVersion":2,"resources":[{"apiVersion":"networking');
      const err = await ConfigStore.open(dir).then(
        () => assert.fail('expected a refusal'),
        (e: unknown) => e as Error,
      );
      assert.match(err.message, new RegExp(`^the config store ${file} is not valid JSON \\(`));
      assert.match(err.message, /is kept in .*store\.json\.prev \(1 resource, written \d{4}-\d\d-\d\dT/);
      const restore = /restore the previous one: (cp \S+ \S+)$/.exec(err.message)?.[1];
      assert.equal(restore, `cp ${join(dir, 'store.json.prev')} ${file}`);
      execFileSync('sh', ['-c', restore]);
      const back = await ConfigStore.open(dir, { lock: false });
      assert.deepEqual(back.list().map((r) => r.metadata.name), ['a']);
    }));

  test('without a previous store it says how to start empty; an unknown layout is named as such', () =>
    withDir(async (dir) => {
      const file = join(dir, 'store.json');
      await writeFile(file, 'not json at all');
      await assert.rejects(ConfigStore.open(dir), (e: Error) => e.message.endsWith(`No earlier store can be restored (${join(dir, 'store.json.prev')} is missing); to start with an empty config, move the damaged one aside: mv ${file} ${file}.damaged`));
      await writeFile(file, '{"format":2,"items":[]}');
      await assert.rejects(ConfigStore.open(dir), /has an unknown layout \(not \{ format: 1, resourceVersion, resources \}\)/);
    }));

  test('paths with spaces are quoted for the shell', () =>
    withDir(async (base) => {
      const dir = join(base, "my state's dir");
      const store = await ConfigStore.open(dir);
      await applyTexts(store, [{ name: 'a.yaml', text: vs('a') }]);
      await applyTexts(store, [{ name: 'b.yaml', text: vs('b') }]);
      await store.close();
      await writeFile(join(dir, 'store.json'), '[');
      const err = await ConfigStore.open(dir).then(() => assert.fail('expected a refusal'), (e: unknown) => e as Error);
      const restore = /restore the previous one: (.*)$/.exec(err.message)?.[1];
      execFileSync('sh', ['-c', restore!]);
      assert.deepEqual((await ConfigStore.open(dir, { lock: false })).list().map((r) => r.metadata.name), ['a']);
    }));
});

describe('resources of the file that fail their schema', () => {
  /** A store written as an older version or a hand edit could leave it. */
  async function damagedStore(dir: string): Promise<void> {
    const store = await ConfigStore.open(dir);
    await applyTexts(store, [{ name: 'in.yaml', text: `${svc('bad')}---\n${svc('good')}---\n${vs('good')}` }]);
    await store.close();
    const file = join(dir, 'store.json');
    const content = JSON.parse(await readFile(file, 'utf8')) as { resources: Array<{ kind: string; metadata: { name: string }; spec: Record<string, unknown> }> };
    content.resources.find((r) => r.kind === 'Service' && r.metadata.name === 'bad')!.spec.ports = 'oops';
    content.resources.push(42 as never);
    await writeFile(file, JSON.stringify(content));
  }

  test('are set apart on load: not served, reported with their errors and how to mend them', () =>
    withDir(async (dir) => {
      await damagedStore(dir);
      const store = await ConfigStore.open(dir, { lock: false });
      assert.deepEqual(store.list().map((r) => `${r.kind}/${r.metadata.name}`), ['Service/good', 'VirtualService/good']);
      assert.equal(store.get({ group: '', kind: 'Service', namespace: 'default', name: 'bad' }), undefined);
      const rejected = store.rejected();
      assert.deepEqual(rejected.map((r) => r.ref), ['Service default/bad', 'store entry #3']);
      assert.deepEqual(rejected[0]?.errors, ['spec.ports: must be a list (got "oops")']);
      assert.equal(rejected[0]?.mend, 'apply a corrected Service bad in namespace default (skiff apply -f FILE), or remove it: skiff delete service bad -n default');
      assert.match(rejected[1]?.errors[0] ?? '', /a resource must be a mapping/);
    }));

  test('stay in the file through other changes; a valid one of the same identity takes its place', () =>
    withDir(async (dir) => {
      await damagedStore(dir);
      const store = await ConfigStore.open(dir);
      await applyTexts(store, [{ name: 'c.yaml', text: vs('c') }]);
      const kept = await readFile(join(dir, 'store.json'), 'utf8');
      assert.match(kept, /"ports": "oops"/, 'the bad Service is still in the file');
      const fixed = await applyTexts(store, [{ name: 'fix.yaml', text: svc('bad') }]);
      assert.ok(fixed.ok);
      assert.equal(store.rejected().map((r) => r.ref).includes('Service default/bad'), false);
      assert.equal(store.get({ group: '', kind: 'Service', namespace: 'default', name: 'bad' })?.metadata.name, 'bad');
      assert.doesNotMatch(await readFile(join(dir, 'store.json'), 'utf8'), /"oops"/);
      await store.close();
    }));

  test('delete removes one from the file, as the mend says', () =>
    withDir(async (dir) => {
      await damagedStore(dir);
      const store = await ConfigStore.open(dir);
      const before = store.resourceVersion;
      const answer = await deleteIds(store, [{ group: '', kind: 'Service', namespace: 'default', name: 'bad' }]);
      assert.ok(answer.ok && answer.deleted[0]?.deleted, 'reported as deleted');
      assert.ok(store.resourceVersion > before);
      assert.deepEqual(store.rejected().map((r) => r.ref), ['store entry #3']);
      await store.close();
      assert.doesNotMatch(await readFile(join(dir, 'store.json'), 'utf8'), /"oops"/);
    }));
});
