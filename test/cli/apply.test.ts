/**
 * `skiff apply`, `get` and `delete` as processes, on a state directory with no skiffd running:
 * kubectl-style lines, unchanged re-applies, whole refusal of a file with an invalid resource,
 * listing by kind name, plural or short name, and deletion.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runSkiff } from '../helpers/cli.js';

let dir = '';
let state = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-apply-'));
  state = join(dir, 'state');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const skiff = (...args: string[]): ReturnType<typeof runSkiff> => runSkiff([...args, '--state-dir', state]);

const VS = (name: string, host: string): string => `apiVersion: networking.istio.io/v1
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
const SVC = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: details\nspec:\n  selector:\n    app: details\n  ports:\n  - name: http\n    port: 9080\n';

test('apply prints created, then unchanged; a change prints configured', async () => {
  const f = await file('a.yaml', `${VS('reviews', 'reviews')}---\n${SVC}`);
  const first = await skiff('apply', '-f', f);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, 'virtualservice.networking.istio.io/reviews created\nservice/details created\n');
  assert.ok(existsSync(join(state, 'store.json')));
  const again = await skiff('apply', '-f', f);
  assert.equal(again.stdout, 'virtualservice.networking.istio.io/reviews unchanged\nservice/details unchanged\n');
  const changed = await skiff('apply', '-f', await file('b.yaml', VS('reviews', 'reviews-v2')));
  assert.equal(changed.stdout, 'virtualservice.networking.istio.io/reviews configured\n');
});

test('apply warns about what is stored but not enforced, and still applies it (exit 0)', async () => {
  const policy = await file(
    'policies.yaml',
    `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: vm
  namespace: default
spec:
  address: 10.0.0.1
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {localityLbSetting: {enabled: true}}
`,
  );
  // A state directory of its own: the other tests count what theirs holds.
  const own = (...args: string[]): ReturnType<typeof runSkiff> => runSkiff([...args, '--state-dir', join(dir, 'state-not-enforced')]);
  const r = await own('apply', '-f', policy);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'workloadentry.networking.istio.io/vm created\ndestinationrule.networking.istio.io/reviews created\n');
  assert.equal(
    r.stderr,
    'Warning: WorkloadEntry default/vm is stored but not enforced by Skiff yet\n' +
      'Warning: DestinationRule default/reviews: spec.trafficPolicy.loadBalancer.localityLbSetting is stored but not enforced by Skiff yet\n',
  );
  const quiet = await own('apply', '-f', await file('vs-only.yaml', VS('ratings', 'ratings')));
  assert.equal(quiet.stderr, '', 'nothing to warn about');
});

test('apply -f - reads stdin; -n sets the namespace of resources that name none', async () => {
  const r = await runSkiff(['apply', '-f', '-', '-n', 'shop', '--state-dir', state], { input: VS('cart', 'cart') });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'virtualservice.networking.istio.io/cart created\n');
  const got = await skiff('get', 'vs', 'cart', '-n', 'shop', '-o', 'json');
  const obj = JSON.parse(got.stdout) as { metadata: { namespace: string; resourceVersion: string; generation: number } };
  assert.equal(obj.metadata.namespace, 'shop');
  assert.equal(obj.metadata.generation, 1);
});

test('a file with one invalid resource is refused whole: findings as validate prints them, exit 1, nothing stored', async () => {
  const f = await file('bad.yaml', `${VS('fresh', 'fresh')}---\n${VS('broken', 'broken').replace('hosts: [broken]', 'hosts: 3')}`);
  const r = await skiff('apply', '-f', f);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:17:\\d+: error: VirtualService/default/broken: spec\\.hosts: `, 'm'));
  assert.match(r.stderr, /nothing was applied/);
  const got = await skiff('get', 'vs', 'fresh');
  assert.equal(got.code, 1);
  assert.match(got.stderr, /virtualservices\.networking\.istio\.io "fresh" not found/);
});

test('unsupported kinds are skipped with a warning; the rest is applied', async () => {
  const f = await file('ef.yaml', `apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata:\n  name: ef\nspec: {}\n---\n${VS('ok', 'ok')}`);
  const r = await skiff('apply', '-f', f);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: .*WorkloadGroup .* not supported/);
  assert.equal(r.stdout, 'virtualservice.networking.istio.io/ok created\n');
});

test('get: tables by kind name, plural or short name; -A adds NAMESPACE; -o yaml and name', async () => {
  for (const kind of ['vs', 'virtualservice.networking.istio.io']) {
    const r = await skiff('get', kind);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+GATEWAYS\s+HOSTS\s+AGE$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]), ['ok', 'reviews']);
  }
  const all = await skiff('get', 'vs', '-A');
  assert.match(all.stdout, /^NAMESPACE\s+NAME\s+GATEWAYS\s+HOSTS\s+AGE\n/);
  assert.match(all.stdout, /^shop\s+cart\s+\[cart\]/m);
  const svc = await skiff('get', 'svc', '-o', 'wide');
  assert.match(svc.stdout, /^details\s+ClusterIP\s+9080\/TCP\s+\S+\s+app=details$/m);
  const yaml = parse((await skiff('get', 'vs', 'reviews', '-o', 'yaml')).stdout) as { kind: string; spec: { hosts: string[] } };
  assert.equal(yaml.kind, 'VirtualService');
  assert.deepEqual(yaml.spec.hosts, ['reviews-v2']);
  const list = parse((await skiff('get', 'vs', '-o', 'yaml')).stdout) as { kind: string; items: unknown[] };
  assert.equal(list.kind, 'List');
  assert.equal(list.items.length, 2);
  assert.equal((await skiff('get', 'svc', '-o', 'name')).stdout, 'service/details\n');
  const none = await skiff('get', 'dr');
  assert.equal(none.code, 0);
  assert.equal(none.stderr, 'No resources found in default namespace.\n');
  const unknown = await skiff('get', 'frobs');
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /doesn't have a resource type "frobs"/);
});

test('get pods without skiffd says pods exist only while skiff up runs', async () => {
  const r = await skiff('get', 'pods');
  assert.equal(r.code, 0);
  assert.match(r.stderr, /No resources found in default namespace \(skiffd is not running/);
});

test('delete by file and by kind and name; a missing resource is NotFound (exit 1) unless ignored', async () => {
  const f = await file('del.yaml', VS('reviews', 'reviews'));
  const r = await skiff('delete', '-f', f);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'virtualservice.networking.istio.io/reviews deleted\n');
  const again = await skiff('delete', '-f', f);
  assert.equal(again.code, 1);
  assert.equal(again.stderr, 'Error from server (NotFound): virtualservices.networking.istio.io "reviews" not found\n');
  assert.equal((await skiff('delete', '-f', f, '--ignore-not-found')).code, 0);
  const byName = await skiff('delete', 'svc', 'details');
  assert.equal(byName.stdout, 'service/details deleted\n');
  assert.equal((await skiff('get', 'vs', '-o', 'name')).stdout, 'virtualservice.networking.istio.io/ok\n');
});
