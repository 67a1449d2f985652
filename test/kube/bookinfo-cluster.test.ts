/**
 * Bookinfo on a test cluster, the way Istio's getting-started page deploys it: the fake API
 * server, a real `skiff skiffd --kubeconfig` process serving its webhooks and its TLS push port,
 * the namespace labelled and `bookinfo.yaml` applied with real kubectl, and the kubelet harness
 * playing the controllers and the kubelet (pods created through the API, so the webhook injects
 * them; EndpointSlices written from their IPs). productpage's injected proxy container is run as
 * the pod spec says (its args, its downward-API env, its istio-ca token and the mounted
 * `istio-ca-root-cert`): it connects to skiffd over TLS, gets its workload certificate, and
 * its config sends to the three reviews pods over mutual TLS; a VirtualService applied with
 * kubectl routes it to v1 only within seconds; a bad one is refused by the webhook with Skiff's
 * message.
 *
 * Pods have no network namespace of their own here (their IPs are loopback addresses, and the
 * proxy's fixed ports are moved to free ones): requests through the ingress gateway to the apps
 * need the traffic capture (`skiff iptables` in each pod's namespace and the proxy's captured
 * listeners), which this test does not exercise.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../src/kube/client.js';
import { generateManifest } from '../../src/kube/manifest.js';
import { skiffBin } from '../helpers/cli.js';
import { istioSample, requireIstioSamples, skipWithoutIstioSamples } from '../helpers/shared.js';
import { FakeApiServer } from './fake-apiserver/server.js';
import { KubeletHarness } from './kubelet-harness.js';
import { Kubectl, kubectlTool } from './kubectl.js';

const NS = 'default';
/** Pod addresses of this test's own: loopback, so a proxy binds its pod's listeners. */
const POD_CIDR = `127.${40 + (process.pid % 200)}.${(process.pid >> 8) % 250}`;

interface Running {
  proc: ChildProcess;
  out: () => string;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const proc = spawn(process.execPath, [skiffBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { proc, out: () => out };
}

async function stop(r: Running | undefined): Promise<void> {
  if (r === undefined || r.proc.exitCode !== null) return;
  const exited = new Promise((resolve) => r.proc.once('exit', resolve));
  r.proc.kill('SIGTERM');
  const timer = setTimeout(() => r.proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function getJson<T>(port: number, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body) as T);
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      })
      .on('error', reject);
  });
}

interface Container {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  restartPolicy?: string;
}

type Dump = {
  clusters?: Array<{ name: string; tls?: { mode: string }; endpoints?: Array<{ address: string; tlsMode?: string }> }>;
  routes?: unknown[];
};

describe('Bookinfo on the test cluster', { skip: kubectlTool.skip || skipWithoutIstioSamples }, () => {
  let api: FakeApiServer;
  let k: Kubectl;
  let dir: string;
  let skiffd: Running | undefined;
  let harness: KubeletHarness;
  let tlsPort = 0;
  const proxies: Running[] = [];
  const running = new Map<string, string>();

  before(async () => {
    kubectlTool.require();
    requireIstioSamples();
    api = new FakeApiServer();
    const url = await api.start();
    k = new Kubectl(url);
    // What `skiff install` applies, less the gateway's and skiffd's own Deployments (skiffd runs here as a process).
    for (const o of generateManifest({ image: 'skiff:test' })) {
      if (['CustomResourceDefinition', 'Namespace', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'].includes(o.kind)) await api.create(o);
    }
    dir = mkdtempSync(join(tmpdir(), 'skiff-bookinfo-cluster-'));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\ncurrent-context: fake\ncontexts: [{name: fake, context: {cluster: fake, user: admin}}]\nclusters: [{name: fake, cluster: {server: "${url}"}}]\nusers: [{name: admin, user: {token: t}}]\n`);
    skiffd = start(['skiffd', '--kubeconfig', kubeconfig, '--state-dir', join(dir, 'state'), '--api-port', '0', '--push-port', '0', '--push-tls-port', '0', '--webhook-port', '0']);
    await waitFor(() => /admission webhooks on :\d+/.test(skiffd!.out()) && /push over TLS on [\d.]+:\d+/.test(skiffd!.out()), 'skiffd to serve', 90_000);
    const webhookPort = Number(/admission webhooks on :(\d+)/.exec(skiffd.out())![1]);
    tlsPort = Number(/push over TLS on [\d.]+:(\d+)/.exec(skiffd.out())![1]);
    // The API server reaches skiffd's webhooks through its Service, as it does in a cluster.
    api.setServiceResolver((ns, name) => (ns === 'istio-system' && name === 'skiffd' ? { host: '127.0.0.1', port: webhookPort } : undefined));
    harness = new KubeletHarness(url, { podCidr: POD_CIDR, onPodRunning: (pod, ip) => running.set(pod.metadata.name, ip) });
    await harness.start();
  });

  after(async () => {
    for (const p of proxies) await stop(p);
    await harness?.stop();
    await stop(skiffd);
    k?.dispose();
    await api?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('labels the namespace and applies bookinfo.yaml with kubectl; every pod the Deployments make is injected', async () => {
    const label = await k.run(['label', 'namespace', NS, 'istio-injection=enabled']);
    assert.equal(label.code, 0, label.stderr);
    assert.match(label.stdout, /namespace\/default labeled/);
    const applied = await k.run(['apply', '-f', istioSample('bookinfo', 'platform', 'kube', 'bookinfo.yaml')]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /deployment\.apps\/productpage-v1 created/);
    await waitFor(() => harness.podsOf(NS).length === 6 && running.size === 6, 'the six Bookinfo pods to run');
    for (const pod of harness.podsOf(NS)) {
      const spec = pod.spec as { initContainers?: Container[]; containers: Container[] };
      assert.equal(pod.metadata.labels?.['security.istio.io/tlsMode'], 'istio', pod.metadata.name);
      // The fake API server is Kubernetes 1.32: istio-proxy is a native sidecar after istio-init.
      assert.deepEqual(spec.initContainers?.map((c) => c.name), ['istio-init', 'istio-proxy'], pod.metadata.name);
      assert.equal(spec.initContainers?.[1].restartPolicy, 'Always');
    }
    // The three reviews pods become the reviews Service's endpoints.
    await waitFor(() => (api.get('discovery.k8s.io/v1', 'EndpointSlice', NS, 'reviews-slice')?.endpoints as unknown[] | undefined)?.length === 3, 'the reviews EndpointSlice');
  });

  it("runs productpage's injected proxy, which connects over TLS with its token and sends to reviews over mutual TLS", async () => {
    const pod = harness.podsOf(NS).find((p) => p.metadata.labels?.app === 'productpage') as KubeObject;
    const ip = running.get(pod.metadata.name)!;
    const spec = pod.spec as { serviceAccountName: string; initContainers: Container[] };
    const container = spec.initContainers.find((c) => c.name === 'istio-proxy')!;
    // The kubelet's part: the downward API, the projected token, the mounted ConfigMap.
    const fields: Record<string, string> = { 'metadata.name': pod.metadata.name, 'metadata.namespace': NS, 'status.podIP': ip, 'spec.serviceAccountName': spec.serviceAccountName };
    const env: Record<string, string> = {};
    for (const e of container.env ?? []) env[e.name] = e.value ?? fields[e.valueFrom?.fieldRef?.fieldPath ?? ''] ?? '';
    const token = join(dir, 'istio-token');
    writeFileSync(token, api.issueToken(NS, spec.serviceAccountName, ['istio-ca']), { mode: 0o600 });
    await waitFor(() => api.get('v1', 'ConfigMap', NS, 'istio-ca-root-cert') !== undefined, 'the root ConfigMap');
    const root = join(dir, 'root-cert.pem');
    writeFileSync(root, (api.get('v1', 'ConfigMap', NS, 'istio-ca-root-cert')!.data as Record<string, string>)['root-cert.pem']);
    const args = (container.args ?? []).map((a) =>
      a
        .replace(/\$\((\w+)\)/g, (_m, v: string) => env[v] ?? '')
        .replace('/var/run/secrets/tokens/istio-token', token)
        // The cluster's DNS and Service: skiffd's name resolves to its TLS port here.
        .replace(/^https:\/\/skiffd\.istio-system\.svc:15012$/, `https://127.0.0.1:${tlsPort}`),
    );
    assert.ok(args.includes(`${pod.metadata.name}.${NS}`), 'the proxy id is the pod’s');
    // Without the pod's own network namespace, the proxy's fixed ports move to free ones.
    const p = start([...args, '--control-plane-root-cert', root, '--control-plane-san', 'skiffd.istio-system.svc', '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1', '--metrics-port', '0', '--metrics-address', '127.0.0.1', '--concurrency', '1', '--drain-ms', '100'], env);
    proxies.push(p);
    await waitFor(() => /workload certificate installed: spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-productpage/.test(p.out()), 'the workload certificate');
    await waitFor(() => /snapshot \S+ applied/.test(p.out()), 'the config');
    const admin = Number(/admin on [\d.]+:(\d+)/.exec(p.out())![1]);
    const reviews = 'outbound|9080||reviews.default.svc.cluster.local';
    let dump: Dump = {};
    const deadline = Date.now() + 30_000;
    for (;;) {
      dump = await getJson<Dump>(admin, '/config_dump');
      if ((dump.clusters?.find((c) => c.name === reviews)?.endpoints?.length ?? 0) === 3 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const cluster = dump.clusters?.find((c) => c.name === reviews);
    assert.equal(cluster?.tls?.mode, 'ISTIO_MUTUAL');
    const reviewsIps = harness
      .podsOf(NS)
      .filter((x) => x.metadata.labels?.app === 'reviews')
      .map((x) => running.get(x.metadata.name))
      .sort();
    assert.deepEqual(cluster?.endpoints?.map((e) => e.address).sort(), reviewsIps);
    assert.ok(cluster?.endpoints?.every((e) => e.tlsMode === 'istio'));
  });

  it('routes productpage to reviews v1 only once virtual-service-all-v1.yaml is applied with kubectl', async () => {
    const p = proxies[0];
    const admin = Number(/admin on [\d.]+:(\d+)/.exec(p.out())![1]);
    const routesToReviews = async (): Promise<string[]> => {
      const dump = await getJson<Dump>(admin, '/config_dump');
      // The clusters requests are routed to (a CONNECT tunnel's tcpCluster is not a route's).
      return [...new Set([...JSON.stringify(dump.routes ?? []).matchAll(/"cluster":"(outbound\|9080\|[^|"]*\|reviews\.default\.svc\.cluster\.local)"/g)].map((m) => m[1]))];
    };
    // Before: the reviews Service as a whole (its three versions behind it).
    assert.deepEqual(await routesToReviews(), ['outbound|9080||reviews.default.svc.cluster.local']);
    for (const file of ['bookinfo-gateway.yaml', 'destination-rule-all.yaml', 'virtual-service-all-v1.yaml']) {
      const r = await k.run(['apply', '-f', istioSample('bookinfo', 'networking', file)]);
      assert.equal(r.code, 0, r.stderr);
    }
    const deadline = Date.now() + 20_000;
    let seen: string[] = [];
    while (Date.now() < deadline) {
      seen = await routesToReviews();
      if (seen.length === 1 && seen[0].includes('|v1|')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(seen, ['outbound|9080|v1|reviews.default.svc.cluster.local']);
  });

  it('refuses a bad VirtualService applied with kubectl, with Skiff’s message', async () => {
    const bad = await k.run(['apply', '-f', '-'], `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: bad, namespace: ${NS}}\nspec: {hosts: [reviews], http: [{route: [{destination: {host: reviews}, weight: -5}]}]}\n`);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /admission webhook "validation\.skiff\.io" denied the request: configuration is invalid: VirtualService\/default\/bad: spec\.http\[0\]\.route\[0\]\.weight: weight -5 < 0/);
  });
});
