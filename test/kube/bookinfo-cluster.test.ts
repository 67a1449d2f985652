/**
 * Bookinfo on a test cluster, the way Istio's getting-started page deploys it, end to end on the
 * data path: the fake API server; a real `skiff skiffd --kubeconfig` process on the node serving
 * its webhooks and its TLS push port; the namespace labelled and `bookinfo.yaml` applied with
 * real kubectl; the kubelet harness playing the controllers and the kubelet, with every pod run
 * for real (`netns-pods.ts`): a network namespace of its own on the node's bridge with the Pod's
 * IP, its hosts file answering Service names with their ClusterIPs, `istio-init`'s `skiff
 * iptables` run inside, the app through `samples/images.yaml`, the injected proxy as uid 1337 with
 * its istio-ca token and the `istio-ca-root-cert` root; and the ingress gateway of `skiff manifest
 * generate` run the same way. Then, with `bookinfo-gateway.yaml` applied with kubectl, the
 * productpage answers through the gateway (having called details and reviews by their Service
 * names through its captured sidecar), the three reviews versions rotate, a VirtualService
 * applied with kubectl sends everything to v1 within seconds, and a bad one is refused by the
 * webhook with Skiff's message.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADDON_PATH } from '../../src/capture/original-destination.js';
import type { KubeObject } from '../../src/kube/client.js';
import { KubeClient, KubeApiError } from '../../src/kube/client.js';
import { generateManifest } from '../../src/kube/manifest.js';
import { seenOnPage, type Seen } from '../e2e/bookinfo.js';
import { startSkiff, type RunningSkiff } from '../helpers/cli.js';
import { Disposer } from '../helpers/disposer.js';
import { netnsRequirement } from '../helpers/netns.js';
import { istioSample, requireIstioSamples, skipWithoutIstioSamples } from '../helpers/shared.js';
import { toolsRequired } from '../helpers/tools.js';
import { FakeApiServer } from './fake-apiserver/server.js';
import { KubeletHarness } from './kubelet-harness.js';
import { Kubectl, kubectlTool } from './kubectl.js';
import { execInPod, NetnsPods, type RunningPod } from './netns-pods.js';

const NS = 'default';
const SKIFF_IMAGE = 'skiff:test';
/** The pod subnet of this run (the node is .1), apart from another run's. */
const SUBNET = `10.246.${1 + (process.pid % 250)}`;
const PROXY_UID = 1337;
const BOOKINFO_APPS = ['details', 'productpage', 'ratings', 'reviews'];

const netns = netnsRequirement();
const addonMissing = existsSync(ADDON_PATH) ? false : `${ADDON_PATH} not built (npm run build:native)`;
const skip = kubectlTool.skip || skipWithoutIstioSamples || netns.skip || (addonMissing !== false && !toolsRequired() ? addonMissing : false);

/** Polls `check` until it holds (or throws what `failures` says went wrong meanwhile). */
async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number, failures: () => readonly string[] = () => []): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (failures().length > 0) throw new Error(`while waiting for ${what}: ${failures().join('\n')}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** GET from the node, as a browser outside the mesh would. */
function get(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', (err) => resolve({ status: 0, headers: {}, body: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (err) => resolve({ status: 0, headers: {}, body: err.message }));
  });
}

const isReady = (p: KubeObject): boolean => ((p.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

describe('Bookinfo on the test cluster, every pod in its own network namespace', { skip }, () => {
  let api: FakeApiServer | undefined;
  let k: Kubectl | undefined;
  let dir: string | undefined;
  let skiffd: RunningSkiff | undefined;
  let harness: KubeletHarness | undefined;
  let pods: NetnsPods | undefined;
  let client: KubeClient | undefined;
  /** The kubelet's and controllers' last words, for a failure's message. */
  const events: string[] = [];
  const log = (line: string): void => {
    events.push(line);
    if (events.length > 100) events.shift();
  };

  const podsOf = (ns: string): KubeObject[] => harness!.podsOf(ns);
  const running = (p: KubeObject): RunningPod => {
    const r = pods!.pod(p.metadata.namespace ?? NS, p.metadata.name);
    assert.ok(r !== undefined, `pod ${p.metadata.name} runs`);
    return r;
  };
  const gatewayPod = (): RunningPod => running(podsOf('istio-system').find((p) => p.metadata.labels?.istio === 'ingressgateway')!);
  const productPage = async (): Promise<Seen> => seenOnPage(await get(`http://${gatewayPod().ip}:8080/productpage`));

  // Every step of the drain is tried, whatever failed before it: nothing may be left running or mounted.
  const disposer = new Disposer();
  before(disposer.setup(async () => {
    kubectlTool.require();
    requireIstioSamples();
    netns.require();
    assert.equal(addonMissing, false, addonMissing || '');
    api = disposer.add(new FakeApiServer(), (a) => a.stop());
    const url = await api.start();
    k = disposer.add(new Kubectl(url), (c) => c.dispose());
    // What `skiff install` applies, less skiffd's own Deployment (skiffd runs on the node here).
    for (const o of generateManifest({ image: SKIFF_IMAGE })) {
      const skiffdItself = o.kind === 'Deployment' && o.metadata.name === 'skiffd';
      if (!skiffdItself && ['CustomResourceDefinition', 'Namespace', 'ServiceAccount', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'Deployment', 'Service'].includes(o.kind)) await api.create(o);
    }
    const fake = api;
    client = disposer.add(new KubeClient({ server: url, origin: 'kubelet volumes', token: () => 'kubelet' }), (c) => c.close());
    const kube = client;
    pods = disposer.add(new NetnsPods({
      log,
      subnet: SUBNET,
      skiffImage: SKIFF_IMAGE,
      nodeNames: ['skiffd.istio-system.svc.cluster.local', 'skiffd.istio-system.svc', 'skiffd.istio-system'],
      issueToken: (ns, sa, audience) => fake.issueToken(ns, sa, [audience]),
      configMap: async (ns, name) => {
        try {
          return ((await kube.request('GET', `/api/v1/namespaces/${ns}/configmaps/${name}`)).data ?? {}) as Record<string, string>;
        } catch (err) {
          if (err instanceof KubeApiError && err.code === 404) return undefined;
          throw err;
        }
      },
    }), (p) => p.stop());
    await pods.start();
    dir = disposer.tempDir('skiff-bookinfo-cluster-');
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\ncurrent-context: fake\ncontexts: [{name: fake, context: {cluster: fake, user: admin}}]\nclusters: [{name: fake, cluster: {server: "${url}"}}]\nusers: [{name: admin, user: {token: t}}]\n`);
    // The pods reach skiffd's Service at the node's address, on istiod's port.
    skiffd = disposer.add(startSkiff(['skiffd', '--kubeconfig', kubeconfig, '--state-dir', join(dir, 'state'), '--api-port', '0', '--push-port', '0', '--push-tls-port', '15012', '--push-tls-address', pods.nodeAddress, '--webhook-port', '0', '--proxy-image', SKIFF_IMAGE]), (s) => s.stop());
    const serving = (): boolean => /admission webhooks on :\d+/.test(skiffd!.out()) && /push over TLS on [\d.]+:\d+/.test(skiffd!.out());
    await waitFor(() => serving() || skiffd!.proc.exitCode !== null, 'skiffd to serve', 90_000);
    assert.ok(serving(), `skiffd did not start: ${skiffd.out()}`);
    const webhookPort = Number(/admission webhooks on :(\d+)/.exec(skiffd.out())![1]);
    // The API server reaches skiffd's webhooks through its Service, as it does in a cluster.
    api.setServiceResolver((ns, name) => (ns === 'istio-system' && name === 'skiffd' ? { host: '127.0.0.1', port: webhookPort } : undefined));
    harness = disposer.add(new KubeletHarness(url, { podCidr: SUBNET, runtime: pods, log }), (h) => h.stop());
    await harness.start();
  }));

  after(() => disposer.drain());

  it('labels the namespace and applies bookinfo.yaml with kubectl; every pod is injected and runs at its IP in a network namespace of its own', async () => {
    const label = await k!.run(['label', 'namespace', NS, 'istio-injection=enabled']);
    assert.equal(label.code, 0, label.stderr);
    assert.match(label.stdout, /namespace\/default labeled/);
    const applied = await k!.run(['apply', '-f', istioSample('bookinfo', 'platform', 'kube', 'bookinfo.yaml')]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /deployment\.apps\/productpage-v1 created/);
    const all = (): KubeObject[] => [...podsOf(NS), ...podsOf('istio-system')];
    await waitFor(() => podsOf(NS).length === 6 && podsOf('istio-system').length === 1 && all().every(isReady), 'the six Bookinfo pods and the gateway to be ready', 200_000, () => harness!.failures()).catch((err: Error) => {
      const waiting = all()
        .filter((p) => !isReady(p))
        .map((p) => `${p.metadata.name}: ${[...(pods!.pod(p.metadata.namespace ?? NS, p.metadata.name)?.containers.values() ?? [])].map((c) => `[${c.name}] ${c.output().slice(-400)}`).join(' ')}`);
      throw new Error(`${err.message}\nnot ready: ${waiting.join('\n')}\nkubelet: ${events.join('\n')}\nskiffd: ${skiffd!.out().slice(-3000)}`);
    });
    for (const pod of podsOf(NS)) {
      const spec = pod.spec as { initContainers?: Array<{ name: string; restartPolicy?: string }> };
      assert.equal(pod.metadata.labels?.['security.istio.io/tlsMode'], 'istio', pod.metadata.name);
      // The fake API server is Kubernetes 1.32: istio-proxy is a native sidecar after istio-init.
      assert.deepEqual(spec.initContainers?.map((c) => c.name), ['istio-init', 'istio-proxy'], pod.metadata.name);
      assert.equal(spec.initContainers?.[1].restartPolicy, 'Always');
    }
    for (const pod of all()) {
      const r = running(pod);
      assert.equal((pod.status as { podIP: string }).podIP, r.ip);
      assert.match(r.netns.name, /^skk-/);
      const addr = await r.netns.runOk('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0']);
      assert.match(addr.stdout, new RegExp(`inet ${r.ip.replace(/\./g, '\\.')}/24`), pod.metadata.name);
    }
    // The three reviews pods, ready, are the reviews Service's endpoints.
    await waitFor(() => (api!.get('discovery.k8s.io/v1', 'EndpointSlice', NS, 'reviews-slice')?.endpoints as Array<{ conditions: { ready: boolean } }> | undefined)?.filter((e) => e.conditions.ready).length === 3, 'the reviews EndpointSlice', 10_000);
  });

  it("ran istio-init's skiff iptables in each Bookinfo pod's namespace; the gateway's is not captured", async () => {
    for (const pod of podsOf(NS)) {
      const rules = (await running(pod).netns.runOk('iptables-save', ['-t', 'nat'])).stdout;
      assert.match(rules, /^-A OUTPUT -j ISTIO_OUTPUT$/m, pod.metadata.name);
      assert.match(rules, /^-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001$/m, pod.metadata.name);
      assert.match(rules, /^-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006$/m, pod.metadata.name);
      assert.match(rules, /^-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN$/m, pod.metadata.name);
    }
    const gateway = (await gatewayPod().netns.runOk('iptables-save', ['-t', 'nat'])).stdout;
    assert.doesNotMatch(gateway, /ISTIO_/);
  });

  it('runs each app on its port in its namespace and each proxy as uid 1337, which gets its workload certificate from skiffd over TLS', async () => {
    for (const pod of podsOf(NS)) {
      const r = running(pod);
      const app = pod.metadata.labels!.app;
      assert.ok(BOOKINFO_APPS.includes(app), app);
      // From inside the pod, on loopback (which capture leaves alone), as a kubelet's exec would.
      const health = await execInPod(r, [process.execPath, '-e', `fetch('http://127.0.0.1:9080/health').then((res) => process.stdout.write(String(res.status)), (e) => process.stdout.write(String(e)))`]);
      assert.equal(health.stdout, '200', `${pod.metadata.name}: ${health.stdout}${health.stderr}`);
    }
    for (const pod of [...podsOf(NS), ...podsOf('istio-system')]) {
      const proxy = running(pod).containers.get('istio-proxy');
      assert.ok(proxy?.proc.pid !== undefined, pod.metadata.name);
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${proxy.proc.pid}/status`, 'utf8'))?.[1];
      assert.equal(uid, String(PROXY_UID), pod.metadata.name);
      const sa = (pod.spec as { serviceAccountName: string }).serviceAccountName;
      await waitFor(() => proxy.output().includes(`workload certificate installed: spiffe://cluster.local/ns/${pod.metadata.namespace}/sa/${sa}`), `${pod.metadata.name}'s certificate`, 20_000);
    }
  });

  it('gives the ingress gateway its config once bookinfo-gateway.yaml is applied with kubectl: it listens on its pod IP and routes /productpage', async () => {
    const r = await k!.run(['apply', '-f', istioSample('bookinfo', 'networking', 'bookinfo-gateway.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const url = `http://${gatewayPod().ip}:8080/productpage`;
    // Refused until the Gateway's listener is there, 404 until the VirtualService's route is: then
    // whatever productpage's side answers.
    let res = await get(url);
    await waitFor(async () => ![0, 404].includes((res = await get(url)).status), `the gateway to route ${url}`, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; its last answer: ${res.status} ${res.body.slice(0, 300)}`);
    });
  });

  it("serves the productpage through the ingress gateway: details and reviews called by their Service names through productpage's captured sidecar", async () => {
    const url = `http://${gatewayPod().ip}:8080/productpage`;
    let res = await get(url);
    await waitFor(async () => (res = await get(url)).status === 200, `${url} to answer 200`, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; its last answer: ${res.status} ${res.body.slice(0, 300)}`);
    });
    assert.match(res.body, /<title>Simple Bookstore App<\/title>/);
    assert.match(res.body, /<h4 class="heading">Book Details<\/h4>[\s\S]*<td>PublisherA<\/td>/);
    assert.match(res.body, /<h4 class="heading">Book Reviews<\/h4>/);
    assert.match(seenOnPage(res), /^v[123]$/);
    // The ClusterIPs lead nowhere on this node but into a sidecar: productpage's counted both calls.
    const productpage = running(podsOf(NS).find((p) => p.metadata.labels?.app === 'productpage')!);
    const stats = await execInPod(productpage, [process.execPath, '-e', `fetch('http://127.0.0.1:15000/stats').then(async (r) => process.stdout.write(await r.text()))`]);
    for (const svc of ['details', 'reviews']) {
      const count = new RegExp(`^cluster\\.outbound\\|9080\\|\\|${svc}\\.default\\.svc\\.cluster\\.local\\.upstream_rq_total: (\\d+)$`, 'm').exec(stats.stdout)?.[1];
      assert.ok(Number(count) >= 1, `productpage's sidecar sent no request to ${svc}: ${count ?? 'no such counter'}`);
    }
  });

  it('rotates the three reviews versions (no stars, black stars, red stars) over repeated requests', async () => {
    const seen = new Set<Seen>();
    for (let i = 0; i < 60 && seen.size < 3; i++) {
      const s = await productPage();
      assert.match(s, /^v[123]$/, `request ${i}`);
      seen.add(s);
    }
    assert.deepEqual([...seen].sort(), ['v1', 'v2', 'v3']);
  });

  it('sends every request to reviews v1 within seconds of virtual-service-all-v1.yaml applied with kubectl', async () => {
    for (const file of ['destination-rule-all.yaml', 'virtual-service-all-v1.yaml']) {
      const r = await k!.run(['apply', '-f', istioSample('bookinfo', 'networking', file)]);
      assert.equal(r.code, 0, r.stderr);
    }
    // Until the change reaches productpage's sidecar, the other versions may still answer (and
    // v1 a few times in a row by chance: six in a row are taken as the change).
    let run = 0;
    await waitFor(
      async () => {
        run = (await productPage()) === 'v1' ? run + 1 : 0;
        return run >= 6;
      },
      'only v1 to answer',
      30_000,
    );
    for (let i = 0; i < 20; i++) assert.equal(await productPage(), 'v1', `request ${i} after the route settled`);
  });

  it('refuses a bad VirtualService applied with kubectl, with Skiff’s message', async () => {
    const bad = await k!.run(['apply', '-f', '-'], `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: bad, namespace: ${NS}}\nspec: {hosts: [reviews], http: [{route: [{destination: {host: reviews}, weight: -5}]}]}\n`);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /admission webhook "validation\.skiff\.io" denied the request: configuration is invalid: VirtualService\/default\/bad: spec\.http\[0\]\.route\[0\]\.weight: weight -5 < 0/);
  });
});
