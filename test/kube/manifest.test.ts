/**
 * `skiff manifest generate`: every Istio kind Skiff serves has its CRD, skiffd's RBAC writes only
 * what it must, the output passes `skiff validate`, and real kubectl applies it to the fake API
 * server (then again, unchanged), after which the Istio kinds are served there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { kinds } from '../../src/api/index.js';
import { runSkiff } from '../helpers/cli.js';
import { Disposer } from '../helpers/disposer.js';
import { FakeApiServer } from './fake-apiserver/server.js';
import { Kubectl, kubectlTool } from './kubectl.js';

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }>;
  webhooks?: Array<{ name: string; clientConfig: { service?: { name: string; namespace: string; path?: string } } }>;
}

describe('skiff manifest generate', () => {
  let text: string;
  let objects: Obj[];
  before(async () => {
    const r = await runSkiff(['manifest', 'generate', '--image', 'registry.example/skiff:test']);
    assert.equal(r.code, 0, r.stderr);
    text = r.stdout;
    objects = parseAllDocuments(text).map((d) => d.toJS() as Obj);
  });

  it('holds the CRD of every Istio kind Skiff serves, and the objects of an installation', () => {
    const crds = new Set(objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name));
    for (const k of kinds.filter((x) => x.group.endsWith('.istio.io'))) assert.ok(crds.has(`${k.plural}.${k.group}`), `CRD of ${k.kind}`);
    const names = objects.filter((o) => o.kind !== 'CustomResourceDefinition').map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    for (const want of [
      'Namespace//istio-system',
      'ServiceAccount/istio-system/skiffd',
      'ClusterRole//skiffd',
      'ClusterRoleBinding//skiffd',
      'Deployment/istio-system/skiffd',
      'Service/istio-system/skiffd',
      'PodDisruptionBudget/istio-system/skiffd',
      'MutatingWebhookConfiguration//skiff-sidecar-injector',
      'ValidatingWebhookConfiguration//skiff-validator',
      'Deployment/istio-system/istio-ingressgateway',
      'Service/istio-system/istio-ingressgateway',
    ]) assert.ok(names.includes(want), `${want} in ${names.join(', ')}`);
    const skiffd = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'skiffd');
    assert.equal(skiffd?.spec?.replicas, 2);
    assert.ok(JSON.stringify(skiffd).includes('"image":"registry.example/skiff:test"'));
    const hooks = objects.filter((o) => o.kind.endsWith('WebhookConfiguration')).flatMap((o) => o.webhooks ?? []);
    assert.ok(hooks.every((h) => h.clientConfig.service?.name === 'skiffd' && h.clientConfig.service.namespace === 'istio-system'));
  });

  it("gives skiffd least privilege: no wildcard, and writes only configmaps, its own two webhook configurations, TokenReviews and its namespace's secrets", () => {
    const rules = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').flatMap((o) => (o.rules ?? []).map((r) => ({ ...r, scope: o.kind })));
    for (const r of rules) {
      assert.ok(![...r.apiGroups, ...r.resources, ...r.verbs].includes('*'), `no wildcard in ${JSON.stringify(r)}`);
      const writes = r.verbs.filter((v) => !['get', 'list', 'watch'].includes(v));
      if (writes.length === 0) continue;
      const what = `${r.scope}:${r.resources.join(',')}`;
      assert.ok(['ClusterRole:configmaps', 'ClusterRole:mutatingwebhookconfigurations', 'ClusterRole:validatingwebhookconfigurations', 'ClusterRole:tokenreviews', 'Role:secrets'].includes(what), `writes allowed on ${what}`);
      if (r.resources[0].endsWith('webhookconfigurations')) assert.equal(r.resourceNames?.length, 1, 'only its own configuration');
    }
    assert.ok(!rules.some((r) => r.scope === 'ClusterRole' && r.resources.includes('secrets') && r.verbs.some((v) => !['get', 'list', 'watch'].includes(v))));
  });

  it('passes skiff validate', async () => {
    const r = await runSkiff(['validate', '-f', '-'], { input: text });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /error/);
    assert.match(r.stdout, /resources valid/);
  });

  describe('applied with real kubectl to the fake API server', { skip: kubectlTool.skip }, () => {
    let api: FakeApiServer;
    let k: Kubectl;
    const disposer = new Disposer();
    before(disposer.setup(async () => {
      api = disposer.add(new FakeApiServer(), (a) => a.stop());
      k = disposer.add(new Kubectl(await api.start()), (c) => c.dispose());
    }));
    after(() => disposer.drain());

    it('applies, applies again unchanged, and serves the Istio kinds after', async () => {
      const first = await k.run(['apply', '-f', '-'], text);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /^customresourcedefinition\.apiextensions\.k8s\.io\/virtualservices\.networking\.istio\.io created$/m);
      assert.match(first.stdout, /^deployment\.apps\/skiffd created$/m);
      assert.match(first.stdout, /^mutatingwebhookconfiguration\.admissionregistration\.k8s\.io\/skiff-sidecar-injector created$/m);
      const again = await k.run(['apply', '-f', '-'], text);
      assert.equal(again.code, 0, again.stderr);
      // kubectl always re-sends a field whose patch strategy is replace (a PDB's selector), so it
      // reports the PDB configured; everything else is unchanged.
      const changed = again.stdout.split('\n').filter((l) => / (created|configured)$/.test(l));
      assert.deepEqual(changed, ['poddisruptionbudget.policy/skiffd configured']);
      const vs = await k.run(['apply', '-f', '-'], 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec: {hosts: [reviews], http: [{route: [{destination: {host: reviews}}]}]}\n');
      assert.equal(vs.code, 0, vs.stderr);
      assert.match(vs.stdout, /virtualservice\.networking\.istio\.io\/reviews created/);
    });
  });
});
