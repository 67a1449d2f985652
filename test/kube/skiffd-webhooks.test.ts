/**
 * skiffd in Kubernetes mode serving its own admission webhooks: two replicas share one serving
 * certificate through a Secret and write it as the CA bundle of the installed webhook
 * configurations; the fake API server then calls either replica over TLS, so real kubectl gets an
 * injected pod and a refused bad VirtualService.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startKubeSkiffd } from '../../src/cli/kube-skiffd.js';
import type { RunningKubeSkiffd } from '../../src/cli/kube-skiffd.js';
import { generateManifest } from '../../src/kube/manifest.js';
import { WEBHOOK_CERT_SECRET } from '../../src/kube/webhook-cert.js';
import { Disposer } from '../helpers/disposer.js';
import { FakeApiServer } from './fake-apiserver/server.js';
import { Kubectl, kubectlTool } from './kubectl.js';

describe('skiffd serving its admission webhooks', { skip: kubectlTool.skip }, () => {
  let api: FakeApiServer;
  let k: Kubectl;
  let dir: string;
  const replicas: RunningKubeSkiffd[] = [];

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    kubectlTool.require();
    api = disposer.add(new FakeApiServer(), (a) => a.stop());
    const url = await api.start();
    k = disposer.add(new Kubectl(url), (c) => c.dispose());
    for (const o of generateManifest({ image: 'skiff:test' })) {
      if (['CustomResourceDefinition', 'Namespace', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'].includes(o.kind)) await api.create(o);
    }
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bookinfo', labels: { 'istio-injection': 'enabled' } } });
    dir = disposer.tempDir('skiff-kube-hooks-');
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\ncurrent-context: fake\ncontexts: [{name: fake, context: {cluster: fake, user: admin}}]\nclusters: [{name: fake, cluster: {server: "${url}"}}]\nusers: [{name: admin, user: {token: t}}]\n`);
    for (const name of ['a', 'b']) {
      replicas.push(disposer.add(await startKubeSkiffd({ stateDir: join(dir, name), kubeconfig, apiPort: 0, pushPort: 0, pushTlsPort: 0, pushTlsHost: '127.0.0.1', rootNamespace: 'istio-system', webhookPort: 0, webhookHost: '127.0.0.1', proxyImage: 'skiff:test' }, () => undefined), (r) => r.stop()));
    }
  }));
  after(() => disposer.drain());

  const route = (replica: RunningKubeSkiffd): void => api.setServiceResolver((ns, name) => (ns === 'istio-system' && name === 'skiffd' ? { host: '127.0.0.1', port: replica.webhookPort ?? 0 } : undefined));

  it('shares one serving certificate through a Secret and writes it as both configurations\' CA bundle, the validating one then failing closed', () => {
    const secret = api.get('v1', 'Secret', 'istio-system', WEBHOOK_CERT_SECRET);
    const cert = (secret?.data as { 'tls.crt': string } | undefined)?.['tls.crt'];
    assert.ok(cert !== undefined);
    for (const [kind, name] of [['MutatingWebhookConfiguration', 'skiff-sidecar-injector'], ['ValidatingWebhookConfiguration', 'skiff-validator']]) {
      const hooks = api.get('admissionregistration.k8s.io/v1', kind, undefined, name)?.webhooks as Array<{ clientConfig: { caBundle?: string }; failurePolicy: string }>;
      for (const h of hooks) assert.equal(h.clientConfig.caBundle, cert);
      if (kind === 'ValidatingWebhookConfiguration') assert.ok(hooks.every((h) => h.failurePolicy === 'Fail'));
    }
  });

  it('injects a pod through either replica (a native sidecar on this 1.32 cluster)', async () => {
    for (const [i, replica] of replicas.entries()) {
      route(replica);
      const r = await k.run(['apply', '-f', '-'], `apiVersion: v1\nkind: Pod\nmetadata: {name: ratings-${i}, namespace: bookinfo, labels: {app: ratings}}\nspec: {containers: [{name: ratings, image: ratings}]}\n`);
      assert.equal(r.code, 0, r.stderr);
      const spec = api.get('v1', 'Pod', 'bookinfo', `ratings-${i}`)?.spec as { initContainers?: Array<{ name: string; restartPolicy?: string }> };
      assert.deepEqual(spec.initContainers?.map((c) => c.name), ['istio-init', 'istio-proxy']);
      assert.equal(spec.initContainers?.[1].restartPolicy, 'Always');
    }
  });

  it("refuses a bad VirtualService applied with kubectl, with skiff validate's message", async () => {
    route(replicas[0]);
    const bad = await k.run(['apply', '-f', '-'], 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: bad, namespace: bookinfo}\nspec: {hosts: [reviews], http: [{route: [{destination: {host: reviews}, weight: -5}]}]}\n');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /admission webhook "validation\.skiff\.io" denied the request: configuration is invalid: VirtualService\/bookinfo\/bad: spec\.http\[0\]\.route\[0\]\.weight: weight -5 < 0/);
  });
});

describe('skiffd injecting regular sidecars on a cluster older than 1.29', () => {
  let api: FakeApiServer;
  let dir: string;
  let replica: RunningKubeSkiffd;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    api = disposer.add(new FakeApiServer({ minorVersion: 28 }), (a) => a.stop());
    const url = await api.start();
    for (const o of generateManifest({ image: 'skiff:test' })) {
      if (['CustomResourceDefinition', 'Namespace', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'].includes(o.kind)) await api.create(o);
    }
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bookinfo', labels: { 'istio-injection': 'enabled' } } });
    dir = disposer.tempDir('skiff-kube-hold-');
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\ncurrent-context: fake\ncontexts: [{name: fake, context: {cluster: fake, user: admin}}]\nclusters: [{name: fake, cluster: {server: "${url}"}}]\nusers: [{name: admin, user: {token: t}}]\n`);
    replica = disposer.add(await startKubeSkiffd({ stateDir: join(dir, 'a'), kubeconfig, apiPort: 0, pushPort: 0, pushTlsPort: 0, pushTlsHost: '127.0.0.1', rootNamespace: 'istio-system', webhookPort: 0, webhookHost: '127.0.0.1', proxyImage: 'skiff:test' }, () => undefined), (r) => r.stop());
    api.setServiceResolver((ns, name) => (ns === 'istio-system' && name === 'skiffd' ? { host: '127.0.0.1', port: replica.webhookPort ?? 0 } : undefined));
  }));
  after(() => disposer.drain());

  const containersOf = (name: string): Array<{ name: string; lifecycle?: unknown }> => (api.get('v1', 'Pod', 'bookinfo', name)?.spec as { containers: Array<{ name: string; lifecycle?: unknown }> }).containers;

  it("holds the app until the proxy starts once the mesh config's defaultConfig says so", async () => {
    // Pods created through the API server (its admission calls the webhook), as the ReplicaSet controller creates them.
    const pod = (name: string): Promise<unknown> => api.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'bookinfo', labels: { app: 'ratings' } }, spec: { containers: [{ name: 'ratings', image: 'ratings' }] } });
    await pod('before');
    assert.deepEqual(containersOf('before').map((c) => c.name), ['ratings', 'istio-proxy']);
    await api.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: 'defaultConfig:\n  holdApplicationUntilProxyStarts: true\n' } });
    // The webhook reads the mesh config as skiffd's informer has it when each pod comes.
    const deadline = Date.now() + 20_000;
    for (let i = 0; ; i++) {
      await pod(`after-${i}`);
      if (containersOf(`after-${i}`)[0].name === 'istio-proxy' || Date.now() > deadline) {
        const [proxy, app] = containersOf(`after-${i}`);
        assert.deepEqual([proxy.name, app.name], ['istio-proxy', 'ratings']);
        assert.deepEqual(proxy.lifecycle, { postStart: { exec: { command: ['node', '/opt/skiff/bin/skiff.js', 'proxy', 'wait'] } } });
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
});
