/**
 * The fake API server checked against real kubectl 1.32: discovery, get, client-side apply
 * (create, unchanged, then a strategic merge patch for built-in kinds and a JSON merge patch for
 * custom resources), scale, delete and get -w, each as kubectl prints it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateCrds } from '../../src/api/index.js';
import { repoRoot } from '../helpers/cli.js';
import { Disposer } from '../helpers/disposer.js';
import { FakeApiServer } from './fake-apiserver/server.js';
import { Kubectl, kubectlTool } from './kubectl.js';

const bookinfo = join(repoRoot, 'samples/bookinfo/bookinfo.yaml');
const allV1 = join(repoRoot, 'samples/bookinfo/networking/virtual-service-all-v1.yaml');
const reviews5050 = join(repoRoot, 'samples/bookinfo/networking/virtual-service-reviews-50-v3.yaml');

describe('fake API server with real kubectl', { skip: kubectlTool.skip }, () => {
  let api: FakeApiServer;
  let k: Kubectl;
  const disposer = new Disposer();
  before(disposer.setup(async () => {
    kubectlTool.require();
    api = disposer.add(new FakeApiServer({ crds: generateCrds() }), (a) => a.stop());
    k = disposer.add(new Kubectl(await api.start()), (c) => c.dispose());
  }));
  after(() => disposer.drain());

  it('lists namespaces as kubectl get prints them', async () => {
    const r = await k.run(['get', 'namespaces']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAME\s+AGE\n/);
    for (const ns of ['default', 'kube-public', 'kube-system']) assert.match(r.stdout, new RegExp(`^${ns}\\s`, 'm'));
  });

  it('applies Bookinfo (created, then unchanged), and a changed manifest with a strategic merge patch', async () => {
    const first = await k.run(['apply', '-f', bookinfo]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^service\/reviews created$/m);
    assert.match(first.stdout, /^deployment\.apps\/reviews-v3 created$/m);
    const again = await k.run(['apply', '-f', bookinfo]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /created|configured/);
    assert.match(again.stdout, /^deployment\.apps\/reviews-v1 unchanged$/m);

    const changed = readFileSync(bookinfo, 'utf8').replace(/replicas: 1/g, 'replicas: 2');
    api.requests.length = 0;
    const third = await k.run(['apply', '-f', '-'], changed);
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stdout, /^deployment\.apps\/ratings-v1 configured$/m);
    assert.match(third.stdout, /^service\/ratings unchanged$/m);
    const patch = api.requests.find((r) => r.method === 'PATCH' && r.url.includes('/deployments/ratings-v1'));
    assert.equal(patch?.contentType, 'application/strategic-merge-patch+json');
    const d = api.get('apps/v1', 'Deployment', 'default', 'ratings-v1');
    assert.equal((d?.spec as { replicas: number }).replicas, 2);
    assert.equal(d?.metadata.generation, 2);
    assert.ok(d?.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']?.includes('"replicas":2'));
  });

  it('applies Istio custom resources, a change going as a JSON merge patch', async () => {
    const created = await k.run(['apply', '-f', allV1]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^virtualservice\.networking\.istio\.io\/reviews created$/m);
    api.requests.length = 0;
    const changed = await k.run(['apply', '-f', reviews5050]);
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(changed.stdout, /^virtualservice\.networking\.istio\.io\/reviews configured$/m);
    assert.equal(api.requests.find((r) => r.method === 'PATCH')?.contentType, 'application/merge-patch+json');
    const weights = await k.run(['get', 'virtualservice', 'reviews', '-o', 'jsonpath={.spec.http[0].route[*].weight}']);
    assert.equal(weights.stdout, '50 50');
    const listed = await k.run(['get', 'vs']);
    assert.match(listed.stdout, /^reviews\s/m);
  });

  it('scales a Deployment through its scale subresource', async () => {
    const r = await k.run(['scale', 'deployment', 'reviews-v2', '--replicas=3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment\.apps\/reviews-v2 scaled/);
    assert.equal((api.get('apps/v1', 'Deployment', 'default', 'reviews-v2')?.spec as { replicas: number }).replicas, 3);
  });

  it('refuses protobuf bodies with 415 (kubectl create <kind> sends them), naming the media types it reads', async () => {
    const r = await k.run(['create', 'configmap', 'typed', '--from-literal=a=b']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /the body of the request was in an unknown format - accepted media types include: application\/json/);
  });

  it('watches with get -w: an object added and one deleted show up, and delete waits for the object to go', async () => {
    const watch = k.spawn(['get', 'configmaps', '-w', '--output-watch-events']);
    // The watch prints nothing before its first event: wait for its request instead.
    await until(() => api.requests.some((r) => r.url.startsWith('/api/v1/namespaces/default/configmaps?') && r.url.includes('watch=true')));
    const created = await k.run(['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: watched\ndata:\n  a: b\n');
    assert.equal(created.code, 0, created.stderr);
    await until(() => /^ADDED\s+watched\s/m.test(watch.output()));
    const deleted = await k.run(['delete', 'configmap', 'watched']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /configmap "watched" deleted/);
    await until(() => /^DELETED\s+watched\s/m.test(watch.output()));
    watch.kill();
    await watch.done;
    const gone = await k.run(['get', 'configmap', 'watched']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /configmaps "watched" not found/);
  });

  it('deletes what a manifest names', async () => {
    const r = await k.run(['delete', '-f', bookinfo]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment\.apps "productpage-v1" deleted/);
    assert.equal(api.list('apps/v1', 'Deployment', 'default').length, 0);
  });
});

/** Polls `pred` (a guard against a hang, not a timing claim). */
async function until(pred: () => boolean, guardMs = 20_000): Promise<void> {
  const deadline = Date.now() + guardMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}
