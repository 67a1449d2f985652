import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSkiff } from '../helpers/cli.js';
import { istioSample, requireIstioSamples, skipWithoutIstioSamples } from '../helpers/shared.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-validate-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const VS_HEAD = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
`;

test('a valid file: exit 0 and a summary naming the count and the file', async () => {
  const f = await file('ok.yaml', `${VS_HEAD}  - route:\n    - destination:\n        host: reviews\n`);
  const r = await runSkiff(['validate', '-f', f]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `✔ 1 resource valid in ${f}\n`);
  assert.equal(r.stderr, '');
});

test('malformed YAML: file:line:col of the syntax error, exit 1', async () => {
  const f = await file('indent.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n   namespace: x\n');
  const r = await runSkiff(['validate', '-f', f]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^${escape(f)}:4:\\d+: error: `, 'm'));
  assert.match(r.stderr, /✘ 1 of 1 resource invalid/);
});

test('wrong type, unknown field with a suggestion, invalid regex and zero total weight are each reported with position and path', async () => {
  const f = await file(
    'bad.yaml',
    `${VS_HEAD.replace('hosts: [reviews]', 'hosts: reviews')}  - match:
    - uri:
        regex: "(?=v2)"
    route:
    - destination:
        host: reviews
---
${VS_HEAD.replace('name: reviews', 'name: typo')}  - rout:
    - destination:
        host: reviews
---
${VS_HEAD.replace('name: reviews', 'name: weights')}  - route:
    - destination:
        host: reviews
        subset: v1
      weight: 0
    - destination:
        host: reviews
        subset: v2
      weight: 0
`,
  );
  const r = await runSkiff(['validate', '-f', f]);
  assert.equal(r.code, 1);
  const lines = r.stderr.split('\n');
  const has = (re: RegExp): void => assert.ok(lines.some((l) => re.test(l)), `no line matching ${re}:\n${r.stderr}`);
  has(new RegExp(`^${escape(f)}:6:10: error: VirtualService/default/reviews: spec\\.hosts: must be a list`));
  has(new RegExp(`^${escape(f)}:10:16: error: VirtualService/default/reviews: spec\\.http\\[0\\]\\.match\\[0\\]\\.uri\\.regex: invalid regular expression`));
  has(new RegExp(`^${escape(f)}:22:5: error: VirtualService/default/typo: spec\\.http\\[0\\]\\.rout: unknown field "rout"; did you mean "route"\\?`));
  has(new RegExp(`^${escape(f)}:\\d+:\\d+: error: VirtualService/default/weights: spec\\.http\\[0\\]\\.route: .*weight`));
  // The caret excerpt shows the offending line.
  has(/^ 22 \| {3}- rout:$/);
  assert.match(r.stderr, /✘ 3 of 3 resources invalid/);
});

test('an unsupported kind is a warning and does not fail', async () => {
  const f = await file('ef.yaml', 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata:\n  name: ef\nspec: {}\n');
  const r = await runSkiff(['validate', '-f', f]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^${escape(f)}:1:1: warning: WorkloadGroup/ef: .*not supported by Skiff`, 'm'));
  assert.match(r.stdout, /✔ 0 resources valid .*\(1 skipped: kind not supported by Skiff\)/);
});

test('-o json: findings and per-resource status for machines', async () => {
  const good = await file('j1.yaml', `${VS_HEAD}  - route:\n    - destination:\n        host: reviews\n`);
  const bad = await file('j2.yaml', `${VS_HEAD.replace('hosts: [reviews]', 'hosts: 7').replace('name: reviews', 'name: other')}  - route:\n    - destination:\n        host: reviews\n`);
  const r = await runSkiff(['validate', '-o', 'json', '-f', good, '-f', bad]);
  assert.equal(r.code, 1);
  const body = JSON.parse(r.stdout) as { valid: boolean; resources: unknown[]; findings: Array<Record<string, unknown>> };
  assert.equal(body.valid, false);
  assert.deepEqual(body.resources, [
    { resource: 'VirtualService/default/reviews', file: good, line: 1, status: 'valid' },
    { resource: 'VirtualService/default/other', file: bad, line: 1, status: 'invalid' },
  ]);
  assert.equal(body.findings.length, 1);
  assert.deepEqual(
    { ...body.findings[0], message: undefined },
    { severity: 'error', message: undefined, file: bad, line: 6, column: 10, resource: 'VirtualService/default/other', path: 'spec.hosts' },
  );
});

test('stdin with -f -, and -n for the default namespace', async () => {
  const r = await runSkiff(['validate', '-f', '-', '-n', 'shop'], { input: `${VS_HEAD.replace('hosts: [reviews]', 'hosts: 1')}  - route:\n    - destination:\n        host: reviews\n` });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^<stdin>:6:10: error: VirtualService\/shop\/reviews: spec\.hosts: /m);
});

test('a missing file is an error naming it', async () => {
  const r = await runSkiff(['validate', '-f', join(dir, 'nope.yaml')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nope\.yaml: error: cannot read: no such file or directory/);
});

test('no input is a usage error', async () => {
  const r = await runSkiff(['validate']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no input/);
});

test('skiff validate exits 0 on every YAML file of the Istio samples', { skip: skipWithoutIstioSamples }, async () => {
  const files = yamlFiles(requireIstioSamples());
  assert.ok(files.length > 50);
  // One run over all files: its exit status is 0 only if no file has an error.
  const r = await runSkiff(['validate', ...files.flatMap((f) => ['-f', f])]);
  assert.equal(r.code, 0, r.stderr.split('\n').filter((l) => l.includes('error')).join('\n'));
  assert.match(r.stdout, new RegExp(`✔ \\d+ resources valid in ${files.length} files`));
  // And the Bookinfo application on its own, as a user would first try it.
  const one = await runSkiff(['validate', '-f', istioSample('bookinfo', 'platform', 'kube', 'bookinfo.yaml')]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /✔ 14 resources valid in .*bookinfo\.yaml/);
});

function yamlFiles(d: string): string[] {
  return readdirSync(d, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? yamlFiles(join(d, e.name)) : /\.ya?ml$/.test(e.name) ? [join(d, e.name)] : []))
    .sort();
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
