/**
 * skiffd's admission webhooks behind the fake API server, registered with the webhook
 * configurations of `skiff manifest generate` and called over real TLS: real kubectl creates pods
 * that come back injected where Istio's labels say so, and a bad VirtualService is refused with
 * the message `skiff validate` gives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateManifest } from '../../src/kube/manifest.js';
import type { ManifestObject } from '../../src/kube/manifest.js';
import { startWebhookServer } from '../../src/kube/webhooks.js';
import type { WebhookServer } from '../../src/kube/webhooks.js';
import { Disposer } from '../helpers/disposer.js';
import { authority } from '../helpers/test-pki.js';
import { tool } from '../helpers/tools.js';
import { FakeApiServer } from './fake-apiserver/server.js';
import { Kubectl, kubectlTool } from './kubectl.js';

const openssl = tool('openssl');

const pod = (name: string, ns: string, labels: Record<string, string> = {}): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n  labels: ${JSON.stringify({ app: name, ...labels })}\nspec:\n  containers:\n  - name: ${name}\n    image: docker.io/istio/examples-bookinfo-${name}-v1:1.20.2\n    ports: [{containerPort: 9080}]\n`;

describe('admission webhooks', { skip: openssl.skip || kubectlTool.skip }, () => {
  let api: FakeApiServer;
  let hooks: WebhookServer;
  let k: Kubectl;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    openssl.require();
    kubectlTool.require();
    const ca = authority('webhooks');
    const leaf = ca.issue('skiffd', ['DNS:skiffd.istio-system.svc']);
    hooks = disposer.add(await startWebhookServer({ cert: leaf.cert, key: leaf.key, host: '127.0.0.1', port: 0, inject: { image: 'skiff:test', controlPlaneUrl: 'https://skiffd.istio-system.svc:15012', nativeSidecar: true } }), (h) => h.close());
    api = disposer.add(new FakeApiServer({ resolveService: (ns, name, port) => (ns === 'istio-system' && name === 'skiffd' && port === 443 ? { host: '127.0.0.1', port: hooks.port } : undefined) }), (a) => a.stop());
    k = disposer.add(new Kubectl(await api.start()), (c) => c.dispose());
    const caBundle = Buffer.from(ca.cert).toString('base64');
    for (const o of generateManifest({ image: 'skiff:test' })) {
      if (o.kind === 'CustomResourceDefinition' || o.kind === 'Namespace') await api.create(o);
      if (o.kind.endsWith('WebhookConfiguration')) {
        const withCa = structuredClone(o) as ManifestObject & { webhooks: Array<{ clientConfig: Record<string, unknown> }> };
        for (const w of withCa.webhooks) w.clientConfig.caBundle = caBundle;
        await api.create(withCa);
      }
    }
    const ns = await k.run(['apply', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: {name: bookinfo, labels: {istio-injection: enabled}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: legacy}\n');
    assert.equal(ns.code, 0, ns.stderr);
  }));
  after(() => disposer.drain());

  const containers = (ns: string, name: string): { init: string[]; main: string[] } => {
    const spec = api.get('v1', 'Pod', ns, name)?.spec as { initContainers?: Array<{ name: string }>; containers: Array<{ name: string }> };
    return { init: (spec.initContainers ?? []).map((c) => c.name), main: spec.containers.map((c) => c.name) };
  };

  it('injects a pod created in a namespace labelled istio-injection=enabled (a native sidecar on this 1.32 cluster)', async () => {
    const r = await k.run(['apply', '-f', '-'], pod('ratings', 'bookinfo'));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(containers('bookinfo', 'ratings'), { init: ['istio-init', 'istio-proxy'], main: ['ratings'] });
    const stored = api.get('v1', 'Pod', 'bookinfo', 'ratings');
    assert.equal(stored?.metadata.labels?.['security.istio.io/tlsMode'], 'istio');
    assert.equal(stored?.metadata.annotations?.['kubectl.kubernetes.io/default-container'], 'ratings');
  });

  it('leaves a pod that opts out, and a pod in a namespace that says nothing; injects one there that opts in', async () => {
    assert.equal((await k.run(['apply', '-f', '-'], pod('details', 'bookinfo', { 'sidecar.istio.io/inject': 'false' }))).code, 0);
    assert.deepEqual(containers('bookinfo', 'details'), { init: [], main: ['details'] });
    assert.equal((await k.run(['apply', '-f', '-'], pod('reviews', 'legacy'))).code, 0);
    assert.deepEqual(containers('legacy', 'reviews'), { init: [], main: ['reviews'] });
    assert.equal((await k.run(['apply', '-f', '-'], pod('productpage', 'legacy', { 'sidecar.istio.io/inject': 'true' }))).code, 0);
    assert.deepEqual(containers('legacy', 'productpage'), { init: ['istio-init', 'istio-proxy'], main: ['productpage'] });
  });

  it("refuses a bad VirtualService with skiff validate's message, and accepts a good one", async () => {
    const bad = await k.run(['apply', '-f', '-'], 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: bad, namespace: bookinfo}\nspec: {hosts: [reviews], http: [{route: [{destination: {host: reviews}, weight: -5}]}]}\n');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /admission webhook "validation\.skiff\.io" denied the request: configuration is invalid: VirtualService\/bookinfo\/bad: spec\.http\[0\]\.route\[0\]\.weight: weight -5 < 0/);
    assert.equal(api.get('networking.istio.io/v1', 'VirtualService', 'bookinfo', 'bad'), undefined);
    const good = await k.run(['apply', '-f', '-'], 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews, namespace: bookinfo}\nspec: {hosts: [reviews], http: [{route: [{destination: {host: reviews, subset: v1}}]}]}\n');
    assert.equal(good.code, 0, good.stderr);
  });
});
