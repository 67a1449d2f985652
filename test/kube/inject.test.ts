/**
 * Sidecar injection as `skiff kube-inject` prints it (the webhook shares the implementation):
 * Istio's helloworld sample, a CronJob, a DaemonSet, a pod that opts out, an already injected
 * manifest, native sidecars, probe rewriting, and the decision over namespace and pod labels.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { injectObject, shouldInject } from '../../src/kube/inject.js';
import type { PodTemplate } from '../../src/kube/inject.js';
import { runSkiff } from '../helpers/cli.js';
import { istioSample, requireIstioSamples, skipWithoutIstioSamples } from '../helpers/shared.js';

type Obj = Record<string, unknown>;
interface Container {
  name: string;
  args?: string[];
  restartPolicy?: string;
  readinessProbe?: { httpGet?: { path: string; port: number } };
  startupProbe?: unknown;
  env?: Array<{ name: string; value?: string }>;
}
interface Template {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: { containers: Container[]; initContainers?: Container[]; volumes?: Array<{ name: string; projected?: { sources: Array<{ serviceAccountToken?: { audience: string } }> } }> };
}

const ISTIO_INIT_ARGS = ['iptables', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15020,15021,15090'];

async function kubeInject(input: string, ...args: string[]): Promise<Obj[]> {
  const r = await runSkiff(['kube-inject', '-f', '-', '--image', 'skiff:test', ...args], { input });
  assert.equal(r.code, 0, r.stderr);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
}

const templateOf = (o: Obj): Template => {
  const spec = o.spec as Obj;
  if (o.kind === 'CronJob') return ((spec.jobTemplate as Obj).spec as Obj).template as Template;
  return spec.template as Template;
};

function assertInjected(t: Template, app: string): void {
  assert.equal(t.metadata.labels['security.istio.io/tlsMode'], 'istio');
  assert.equal(t.metadata.annotations['kubectl.kubernetes.io/default-container'], app);
  const status = JSON.parse(t.metadata.annotations['sidecar.istio.io/status']) as { initContainers: string[]; containers: string[]; volumes: string[] };
  assert.deepEqual(status.initContainers, ['istio-init']);
  assert.deepEqual(status.containers, ['istio-proxy']);
  assert.deepEqual(t.spec.initContainers?.[0].args, ISTIO_INIT_ARGS);
  assert.equal(t.spec.initContainers?.[0].name, 'istio-init');
  assert.deepEqual(t.spec.containers.map((c) => c.name), [app, 'istio-proxy']);
  const token = t.spec.volumes?.find((v) => v.name === 'istio-token');
  assert.equal(token?.projected?.sources[0].serviceAccountToken?.audience, 'istio-ca');
  assert.ok(t.spec.volumes?.some((v) => v.name === 'istiod-ca-cert'));
}

describe('skiff kube-inject', () => {
  it("injects Istio's helloworld sample: both Deployments, the Service left as it is", { skip: skipWithoutIstioSamples }, async () => {
    requireIstioSamples();
    const { readFileSync } = await import('node:fs');
    const out = await kubeInject(readFileSync(istioSample('helloworld', 'helloworld.yaml'), 'utf8'));
    const deployments = out.filter((o) => o.kind === 'Deployment');
    assert.equal(deployments.length, 2);
    for (const d of deployments) assertInjected(templateOf(d), 'helloworld');
    const v2 = templateOf(deployments[1]);
    assert.equal(v2.metadata.labels['service.istio.io/canonical-name'], 'helloworld');
    assert.equal(v2.metadata.labels['service.istio.io/canonical-revision'], 'v2');
    const svc = out.find((o) => o.kind === 'Service');
    assert.equal(JSON.stringify(svc).includes('istio'), false);
  });

  it("injects a CronJob's job template and a DaemonSet's template; a pod that opts out and an injected manifest are unchanged", async () => {
    const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'report' }, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { metadata: { labels: { app: 'report' } }, spec: { restartPolicy: 'OnFailure', containers: [{ name: 'report', image: 'curlimages/curl' }] } } } } } };
    const ds = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'agent', image: 'agent' }] } } } };
    const optOut = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'legacy', annotations: { 'sidecar.istio.io/inject': 'false' } }, spec: { containers: [{ name: 'legacy', image: 'legacy' }] } };
    const out = await kubeInject([cron, ds, optOut].map((o) => stringify(o)).join('---\n'));
    assertInjected(templateOf(out[0]), 'report');
    assertInjected(templateOf(out[1]), 'agent');
    assert.deepEqual(out[2], optOut);
    const again = await kubeInject(out.map((o) => stringify(o)).join('---\n'));
    assert.deepEqual(again, out, 'an injected manifest is left as it is');
  });

  it('injects a native sidecar on request: istio-proxy an init container after istio-init, restartPolicy Always, holding the app until ready', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', labels: { app: 'app' } }, spec: { containers: [{ name: 'app', image: 'app' }] } };
    const [out] = await kubeInject(stringify(pod), '--native-sidecar');
    const t = out as unknown as Template;
    assert.deepEqual(t.spec.initContainers?.map((c) => c.name), ['istio-init', 'istio-proxy']);
    assert.equal(t.spec.initContainers?.[1].restartPolicy, 'Always');
    assert.ok(t.spec.initContainers?.[1].startupProbe !== undefined);
    assert.deepEqual(t.spec.containers.map((c) => c.name), ['app']);
    assert.deepEqual((JSON.parse(t.metadata.annotations['sidecar.istio.io/status']) as { initContainers: string[] }).initContainers, ['istio-init', 'istio-proxy']);
  });

  it("rewrites HTTP probes to the proxy's status port, keeping the originals for the proxy", () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web', readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 5 } }] } };
    const out = injectObject(pod, { image: 'skiff:test', controlPlaneUrl: 'https://skiffd.istio-system.svc:15012', nativeSidecar: false }) as unknown as Template;
    const web = out.spec.containers[0];
    assert.deepEqual(web.readinessProbe, { httpGet: { path: '/app-health/web/readyz', port: 15020 }, periodSeconds: 5 });
    const probers = out.spec.containers[1].env?.find((e) => e.name === 'ISTIO_KUBE_APP_PROBERS')?.value;
    assert.deepEqual(JSON.parse(probers ?? '{}'), { '/app-health/web/readyz': { httpGet: { path: '/ready', port: 8080 } } });
    assert.equal(pod.spec.containers[0].readinessProbe.httpGet.path, '/ready', 'the input is not modified');
  });

  it('rewrites TCP probes too, and resolves named ports for the proxy', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'db' },
      spec: { containers: [{ name: 'db', image: 'db', ports: [{ name: 'sql', containerPort: 5432 }, { name: 'http-admin', containerPort: 8080 }], livenessProbe: { tcpSocket: { port: 'sql' }, timeoutSeconds: 3 }, readinessProbe: { httpGet: { path: '/ready', port: 'http-admin' } } }] },
    };
    const out = injectObject(pod, { image: 'skiff:test', controlPlaneUrl: 'https://skiffd.istio-system.svc:15012', nativeSidecar: false }) as unknown as Template;
    const db = out.spec.containers[0] as Container & { livenessProbe?: unknown };
    assert.deepEqual(db.livenessProbe, { httpGet: { path: '/app-health/db/livez', port: 15020 }, timeoutSeconds: 3 });
    assert.deepEqual(db.readinessProbe, { httpGet: { path: '/app-health/db/readyz', port: 15020 } });
    const probers = out.spec.containers[1].env?.find((e) => e.name === 'ISTIO_KUBE_APP_PROBERS')?.value;
    assert.deepEqual(JSON.parse(probers ?? '{}'), {
      '/app-health/db/livez': { tcpSocket: { port: 5432 }, timeoutSeconds: 3 },
      '/app-health/db/readyz': { httpGet: { path: '/ready', port: 8080 } },
    });
  });

  it('holds the app until the proxy starts when the mesh or the pod asks: the proxy first, its postStart hook running skiff proxy wait', () => {
    const pod = (annotations: Record<string, string> = {}): Obj => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', annotations }, spec: { containers: [{ name: 'web', image: 'web' }] } });
    const base = { image: 'skiff:test', controlPlaneUrl: 'https://skiffd.istio-system.svc:15012', nativeSidecar: false };
    type Held = Template & { spec: { containers: Array<Container & { lifecycle?: unknown }> } };
    const held = injectObject(pod(), { ...base, holdApplicationUntilProxyStarts: true }) as unknown as Held;
    assert.deepEqual(held.spec.containers.map((c) => c.name), ['istio-proxy', 'web']);
    assert.deepEqual(held.spec.containers[0].lifecycle, { postStart: { exec: { command: ['node', '/opt/skiff/bin/skiff.js', 'proxy', 'wait'] } } });
    // The pod's proxy.istio.io/config overrides the mesh default, either way.
    const byPod = injectObject(pod({ 'proxy.istio.io/config': '{ "holdApplicationUntilProxyStarts": true }' }), base) as unknown as Held;
    assert.deepEqual(byPod.spec.containers.map((c) => c.name), ['istio-proxy', 'web']);
    const optOut = injectObject(pod({ 'proxy.istio.io/config': 'holdApplicationUntilProxyStarts: false' }), { ...base, holdApplicationUntilProxyStarts: true }) as unknown as Held;
    assert.deepEqual(optOut.spec.containers.map((c) => c.name), ['web', 'istio-proxy']);
    assert.equal(optOut.spec.containers[1].lifecycle, undefined);
    // A native sidecar holds the app by its startup probe already: no hook.
    const native = injectObject(pod(), { ...base, nativeSidecar: true, holdApplicationUntilProxyStarts: true }) as unknown as Held;
    assert.deepEqual(native.spec.containers.map((c) => c.name), ['web']);
    assert.equal((native.spec.initContainers?.at(-1) as { lifecycle?: unknown } | undefined)?.lifecycle, undefined);
  });

  it('kube-inject --hold-application-until-proxy-starts puts the proxy first', async () => {
    const [out] = await kubeInject('apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: web, image: web}]}\n', '--hold-application-until-proxy-starts');
    assert.deepEqual((out.spec as Template['spec']).containers.map((c) => c.name), ['istio-proxy', 'web']);
  });

  it('decides as Istio: namespace label, pod label or annotation, revision, opt-out, host network', () => {
    const pod = (labels: Record<string, string> = {}, annotations: Record<string, string> = {}, hostNetwork = false): PodTemplate => ({ metadata: { labels, annotations }, spec: { hostNetwork, containers: [{ name: 'a' }] } });
    const ns = (labels: Record<string, string>): { namespaceLabels: Record<string, string> } => ({ namespaceLabels: labels });
    assert.equal(shouldInject(pod(), ns({ 'istio-injection': 'enabled' })), true);
    assert.equal(shouldInject(pod(), ns({})), false);
    assert.equal(shouldInject(pod({ 'sidecar.istio.io/inject': 'true' }), ns({})), true);
    assert.equal(shouldInject(pod({}, { 'sidecar.istio.io/inject': 'false' }), ns({ 'istio-injection': 'enabled' })), false);
    assert.equal(shouldInject(pod({ 'sidecar.istio.io/inject': 'true' }), ns({ 'istio-injection': 'disabled' })), false);
    assert.equal(shouldInject(pod(), ns({ 'istio.io/rev': 'default' })), true);
    assert.equal(shouldInject(pod(), ns({ 'istio.io/rev': 'canary' })), false);
    assert.equal(shouldInject(pod({}, {}, true), ns({ 'istio-injection': 'enabled' })), false);
    assert.equal(shouldInject(pod({}, { 'sidecar.istio.io/status': '{}' }), ns({ 'istio-injection': 'enabled' })), false);
    assert.equal(shouldInject(pod(), {}), true, 'kube-inject: no namespace, injected unless the pod opts out');
  });
});
