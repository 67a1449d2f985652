/**
 * `skiff get` and `skiff delete` on the state directory (no skiffd running), as kubectl answers
 * them: the table, `-o name|json|yaml`, NotFound lines with exit 1 for names asked for and
 * absent, "No resources found in <ns> namespace." with exit 0, `--ignore-not-found`, and usage
 * errors (unknown kind or output format, nothing or both things to delete).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runSkiff } from '../helpers/cli.js';
import type { CliResult } from '../helpers/cli.js';

const REVIEWS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v1 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels: { version: v1 }
`;

describe('skiff get and delete without skiffd', () => {
  let dir = '';
  let file = '';
  const skiff = (...args: string[]): Promise<CliResult> => runSkiff([...args, '--state-dir', join(dir, 'state')]);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-get-delete-'));
    file = join(dir, 'reviews.yaml');
    writeFileSync(file, REVIEWS);
    const applied = await skiff('apply', '-f', file);
    assert.equal(applied.code, 0, applied.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('get: a table as kubectl prints it; -o name, json and yaml', async () => {
    const [table, name, json, yaml] = await Promise.all([skiff('get', 'virtualservices'), skiff('get', 'dr', '-o', 'name'), skiff('get', 'vs', 'reviews', '-o', 'json'), skiff('get', 'dr', '-o', 'yaml')]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME {6}GATEWAYS {3}HOSTS {7}AGE\nreviews {14}\[reviews\] {3}\d+[smhd]\n$/);
    assert.deepEqual([name.code, name.stdout, name.stderr], [0, 'destinationrule.networking.istio.io/reviews\n', '']);
    assert.equal(json.code, 0, json.stderr);
    const one = JSON.parse(json.stdout) as { kind: string; metadata: { name: string; namespace: string }; spec: { hosts: string[] } };
    assert.deepEqual([one.kind, one.metadata.name, one.metadata.namespace, one.spec.hosts], ['VirtualService', 'reviews', 'default', ['reviews']]);
    assert.equal(yaml.code, 0, yaml.stderr);
    assert.match(yaml.stdout, /^apiVersion: v1\nkind: List\nitems:\n {2}- apiVersion: networking\.istio\.io\/v1\n {4}kind: DestinationRule\n {4}metadata:\n {6}name: reviews\n {6}namespace: default\n/);
  });

  test('get: names asked for and absent are NotFound, exit 1, beside the ones found', async () => {
    const r = await skiff('get', 'vs', 'reviews', 'nope');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^reviews /m);
    assert.equal(r.stderr, 'Error from server (NotFound): virtualservices.networking.istio.io "nope" not found\n');
  });

  test('get: nothing of a kind is "No resources found", exit 0, naming the namespace', async () => {
    const [here, other] = await Promise.all([skiff('get', 'gw'), skiff('get', 'gateways', '-n', 'other')]);
    assert.deepEqual([here.code, here.stdout, here.stderr], [0, '', 'No resources found in default namespace.\n']);
    assert.deepEqual([other.code, other.stdout, other.stderr], [0, '', 'No resources found in other namespace.\n']);
  });

  test('get: an unknown kind or output format fails saying what is known', async () => {
    const [kind, format] = await Promise.all([skiff('get', 'frobs'), skiff('get', 'vs', '-o', 'xml')]);
    assert.equal(kind.code, 2);
    assert.match(kind.stderr, /^skiff: the server doesn't have a resource type "frobs" \(known: vs, dr, gw, se, /);
    // The option parser's own refusal exits 1.
    assert.equal(format.code, 1);
    assert.match(format.stderr, /unknown output format "xml" \(use yaml, json, wide, name or jsonpath=TEMPLATE\)/);
  });

  test('delete: usage errors exit 2 and change nothing', async () => {
    const results = await Promise.all([skiff('delete'), skiff('delete', 'vs', 'reviews', '-f', file), skiff('delete', 'frob', 'x')]);
    assert.deepEqual(
      results.map((r) => [r.code, r.stderr.trim()]),
      [
        [2, 'skiff: nothing to delete: pass -f FILE, or KIND and NAME'],
        [2, 'skiff: give either -f FILE or KIND NAME..., not both'],
        [2, 'skiff: unknown kind "frob"'],
      ],
    );
    assert.equal((await skiff('get', 'vs', '-o', 'name')).stdout, 'virtualservice.networking.istio.io/reviews\n');
  });

  test('delete: absent is NotFound with exit 1, or nothing with --ignore-not-found; then by name and by file', async () => {
    const absent = await skiff('delete', 'vs', 'nope');
    assert.deepEqual([absent.code, absent.stdout, absent.stderr], [1, '', 'Error from server (NotFound): virtualservices.networking.istio.io "nope" not found\n']);
    const ignored = await skiff('delete', 'vs', 'nope', '--ignore-not-found');
    assert.deepEqual([ignored.code, ignored.stdout, ignored.stderr], [0, '', '']);

    const byName = await skiff('delete', 'vs', 'reviews');
    assert.deepEqual([byName.code, byName.stdout], [0, 'virtualservice.networking.istio.io/reviews deleted\n']);
    // The file names both; the VirtualService is gone already: the rest is deleted, the missing one reported, exit 1.
    const byFile = await skiff('delete', '-f', file);
    assert.equal(byFile.code, 1);
    assert.equal(byFile.stdout, 'destinationrule.networking.istio.io/reviews deleted\n');
    assert.equal(byFile.stderr, 'Error from server (NotFound): virtualservices.networking.istio.io "reviews" not found\n');
    const left = await skiff('get', 'dr', '-o', 'json');
    assert.deepEqual(JSON.parse(left.stdout), { apiVersion: 'v1', kind: 'List', items: [], metadata: { resourceVersion: '' } });
  });
});
