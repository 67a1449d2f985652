/**
 * `skiff install` and `skiff uninstall` against the fake API server through a kubeconfig: the
 * manifest applied server-side, the wait for skiffd's replicas (the test stands in for the
 * Deployment controller), a second install that changes nothing, a clear failure when skiffd does
 * not get ready, and an uninstall that keeps the CRDs unless purged.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runSkiff } from '../helpers/cli.js';
import { Disposer } from '../helpers/disposer.js';
import { FakeApiServer } from './fake-apiserver/server.js';

describe('skiff install and uninstall', () => {
  let api: FakeApiServer;
  let dir: string;
  let kubeconfig: string;
  const disposer = new Disposer();
  before(disposer.setup(async () => {
    api = disposer.add(new FakeApiServer(), (a) => a.stop());
    const url = await api.start();
    dir = disposer.tempDir('skiff-install-');
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\ncurrent-context: fake\ncontexts: [{name: fake, context: {cluster: fake, user: admin}}]\nclusters: [{name: fake, cluster: {server: "${url}"}}]\nusers: [{name: admin, user: {token: t}}]\n`);
  }));
  after(() => disposer.drain());

  /** Plays the Deployment controller: reports `ready` replicas of skiffd once it exists. */
  function controller(ready: number): () => void {
    const timer = setInterval(() => {
      const d = api.get('apps/v1', 'Deployment', 'istio-system', 'skiffd');
      if (d !== undefined && (d.status as { readyReplicas?: number } | undefined)?.readyReplicas !== ready) api.put({ ...d, status: { replicas: 2, readyReplicas: ready } });
    }, 50);
    return () => clearInterval(timer);
  }

  it('applies the manifest and returns once every skiffd replica is ready', async () => {
    const stop = controller(2);
    const r = await runSkiff(['install', '--kubeconfig', kubeconfig, '--image', 'skiff:test', '--timeout', '30'], { timeoutMs: 60_000 });
    stop();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^customresourcedefinition\.apiextensions\.k8s\.io\/virtualservices\.networking\.istio\.io created$/m);
    assert.match(r.stdout, /^deployment\.apps\/skiffd created$/m);
    assert.match(r.stdout, /✔ skiffd is ready/);
    assert.equal((api.get('apps/v1', 'Deployment', 'istio-system', 'skiffd')?.spec as { replicas: number }).replicas, 2);
    assert.ok(api.get('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', undefined, 'skiff-sidecar-injector') !== undefined);
  });

  it('changes nothing when run again', async () => {
    const rv = api.store.resourceVersion;
    const r = await runSkiff(['install', '--kubeconfig', kubeconfig, '--image', 'skiff:test', '--timeout', '30'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => / (created|configured|unchanged)$/.test(l));
    assert.ok(lines.length > 20);
    assert.deepEqual(lines.filter((l) => !l.endsWith(' unchanged')), []);
    assert.equal(api.store.resourceVersion, rv, 'no object was written');
  });

  it('fails with what it saw when skiffd does not get ready in time', async () => {
    const stop = controller(0);
    const r = await runSkiff(['install', '--kubeconfig', kubeconfig, '--image', 'skiff:test', '--timeout', '2'], { timeoutMs: 60_000 });
    stop();
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /skiffd is not ready after 2s \(deployment istio-system\/skiffd: 0 of 2 replicas ready\); see kubectl -n istio-system describe deployment skiffd/);
  });

  it('uninstalls, keeping the CRDs unless purged', async () => {
    const r = await runSkiff(['uninstall', '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^deployment\.apps\/skiffd deleted$/m);
    assert.equal(api.get('apps/v1', 'Deployment', 'istio-system', 'skiffd'), undefined);
    assert.equal(api.get('rbac.authorization.k8s.io/v1', 'ClusterRole', undefined, 'skiffd'), undefined);
    assert.ok(api.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition').length > 0);
    const purge = await runSkiff(['uninstall', '--kubeconfig', kubeconfig, '--purge']);
    assert.equal(purge.code, 0, purge.stderr);
    assert.equal(api.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition').length, 0);
  });
});
