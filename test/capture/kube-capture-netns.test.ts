/**
 * Traffic capture end to end on a test cluster laid out in network namespaces: the fake API
 * server; a real `skiff skiffd` in Kubernetes mode on a "node" namespace (its TLS push port on the
 * node's address, as skiffd's Service answers pods); three injected pods on the node's bridge —
 * a client (10.245.0.10) and two reviews replicas, v1 and v2 (10.245.0.20, .21) — each with the
 * `istio-init` rules applied by the injected `skiff iptables` command, its app, and the injected
 * `skiff proxy` running as uid 1337 with its args as the injector wrote them, fed by skiffd over
 * TLS with its pod's istio-ca token.
 *
 * The client app sends plain HTTP to the reviews Service's ClusterIP, which only the client's
 * sidecar knows: the request reaches a reviews app through both sidecars over mutual TLS (the app
 * sees the client's identity in x-forwarded-client-cert, from 127.0.0.6); a VirtualService
 * applied to the API server moves every request to v2, then to v1; a connection to an address
 * outside the mesh passes through to it (ALLOW_ANY); another pod's connection to a port no
 * inbound listener takes reaches the app as it was addressed. Last, under a STRICT
 * PeerAuthentication: the client's plain connection to a pod's address is refused, until a
 * headless Service selects the pods — then the client app reaches each pod by its address over
 * mutual TLS, whatever the Host —, and again once that pod is gone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { ADDON_PATH } from '../../src/capture/original-destination.js';
import { injectPod, type PodTemplate } from '../../src/kube/inject.js';
import { generateManifest } from '../../src/kube/manifest.js';
import { skiffBin } from '../helpers/cli.js';
import { Disposer } from '../helpers/disposer.js';
import { Netns, netnsRequirement, runOk, untilReady } from '../helpers/netns.js';
import { toolsRequired } from '../helpers/tools.js';
import { FakeApiServer } from '../kube/fake-apiserver/server.js';

const netns = netnsRequirement();
const addonMissing = existsSync(ADDON_PATH) ? false : `${ADDON_PATH} not built (npm run build:native)`;
const skip = netns.skip !== false ? netns.skip : addonMissing !== false && !toolsRequired() ? addonMissing : false;

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
const NS = 'default';
const PROXY_UID = 1337;
/** The node's address on the pods' bridge: skiffd's push port, and a host outside the mesh. */
const NODE_IP = '10.245.0.1';
/** The link between the test's own namespace (the fake API server) and the node. */
const API_HOST_IP = '10.245.99.1';
const API_NODE_IP = '10.245.99.2';
const OUTSIDE_PORT = 8081;
/** Interface names of this run (15 characters at most), so parallel runs never collide. */
const IF = `skc${process.pid % 100000}`;

interface PodPlan {
  name: string;
  ip: string;
  labels: Record<string, string>;
  serviceAccount: string;
  app?: string[];
}

const PODS: PodPlan[] = [
  { name: 'client-0', ip: '10.245.0.10', labels: { app: 'client', version: 'v1' }, serviceAccount: 'client' },
  { name: 'reviews-v1-0', ip: '10.245.0.20', labels: { app: 'reviews', version: 'v1' }, serviceAccount: 'bookinfo-reviews', app: ['reviews-v1', '9080'] },
  { name: 'reviews-v2-0', ip: '10.245.0.21', labels: { app: 'reviews', version: 'v2' }, serviceAccount: 'bookinfo-reviews', app: ['reviews-v2', '9080'] },
];

interface RunningPod {
  plan: PodPlan;
  netns: Netns;
  proxy: ChildProcess;
  out: () => string;
}

let api: FakeApiServer | undefined;
let node: Netns | undefined;
let skiffd: ChildProcess | undefined;
let skiffdOut = '';
let dir: string | undefined;
let clusterIp = '';
const disposer = new Disposer();
const pods = new Map<string, RunningPod>();

function collect(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  return () => out;
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One veth from the node's bridge to the pod, the pod's address on it and its default route through the node. */
async function attach(pod: Netns, index: number, ip: string): Promise<void> {
  const nodeEnd = `${IF}n${index}`;
  const podEnd = `${IF}p${index}`;
  await runOk('ip', ['link', 'add', nodeEnd, 'netns', node!.name, 'type', 'veth', 'peer', 'name', podEnd, 'netns', pod.name]);
  await node!.runOk('ip', ['link', 'set', nodeEnd, 'master', 'skcbr', 'up']);
  await pod.runOk('ip', ['addr', 'add', `${ip}/24`, 'dev', podEnd]);
  await pod.runOk('ip', ['link', 'set', podEnd, 'up']);
  await pod.defaultRoute(NODE_IP);
}

/** The pod as the API server holds it once injected, scheduled and reported ready by its kubelet. */
async function createPod(plan: PodPlan): Promise<PodTemplate> {
  const template: PodTemplate = {
    metadata: { labels: { ...plan.labels } },
    spec: {
      serviceAccountName: plan.serviceAccount,
      containers: [{ name: plan.labels.app, image: `example/${plan.labels.app}:1`, ...(plan.app !== undefined ? { ports: [{ containerPort: 9080, name: 'http' }] } : {}) }],
    },
  };
  const injected = injectPod(template, { image: 'skiff:test', controlPlaneUrl: 'https://skiffd.istio-system.svc:15012', nativeSidecar: true }, plan.name);
  const created = await api!.create({ apiVersion: 'v1', kind: 'Pod', ...injected, metadata: { ...injected.metadata, name: plan.name, namespace: NS } });
  api!.put({ ...created, status: { phase: 'Running', podIP: plan.ip, podIPs: [{ ip: plan.ip }], conditions: [{ type: 'Ready', status: 'True' }] } });
  return injected;
}

interface InjectedContainer {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
}

/** Runs a pod as its kubelet would: istio-init's command, the app, then the injected proxy as uid 1337. */
async function runPod(plan: PodPlan, index: number, spec: { initContainers?: InjectedContainer[] }, root: string): Promise<RunningPod> {
  const ns = disposer.add(await Netns.create(`skc-${plan.name}`), (n) => n.destroy());
  await attach(ns, index, plan.ip);
  const init = spec.initContainers?.find((c) => c.name === 'istio-init');
  const proxyContainer = spec.initContainers?.find((c) => c.name === 'istio-proxy');
  assert.ok(init?.args !== undefined && proxyContainer?.args !== undefined, 'the pod is injected');
  // The image's entrypoint is `skiff`: istio-init runs `skiff iptables …` as injected.
  await ns.runOk(process.execPath, [skiffBin, ...init.args]);
  if (plan.app !== undefined) await untilReady(ns.spawn(process.execPath, [fixture('http-echo'), ...plan.app]));
  const token = join(dir!, `${plan.name}-token`);
  writeFileSync(token, api!.issueToken(NS, plan.serviceAccount, ['istio-ca']), { mode: 0o644 });
  const fields: Record<string, string> = { 'metadata.name': plan.name, 'metadata.namespace': NS, 'status.podIP': plan.ip, 'spec.serviceAccountName': plan.serviceAccount };
  const env: Record<string, string> = {};
  for (const e of proxyContainer.env ?? []) env[e.name] = e.value ?? fields[e.valueFrom?.fieldRef?.fieldPath ?? ''] ?? '';
  const args = proxyContainer.args.map((a) =>
    a
      .replace(/\$\((\w+)\)/g, (_m, v: string) => env[v] ?? '')
      .replace('/var/run/secrets/tokens/istio-token', token)
      // The cluster's DNS: skiffd's Service name is the node's address here.
      .replace(/^https:\/\/skiffd\.istio-system\.svc:15012$/, `https://${NODE_IP}:15012`),
  );
  const proxy = ns.spawn(process.execPath, [skiffBin, ...args, '--control-plane-root-cert', root, '--control-plane-san', 'skiffd.istio-system.svc', '--concurrency', '1', '--drain-ms', '100'], { uid: PROXY_UID, gid: PROXY_UID, env: { ...env, NO_COLOR: '1' } });
  return { plan, netns: ns, proxy, out: collect(proxy) };
}

/** Runs a fixture in the client pod as its app (root: captured like any app) and returns what it printed. */
async function fromClient(name: string, args: string[]): Promise<string> {
  const r = await pods.get('client-0')!.netns.runOk(process.execPath, [fixture(name), ...args]);
  return r.stdout.trim();
}

interface Echo {
  name: string;
  host: string;
  remote: string;
  xfcc?: string;
}

async function getReviews(host = 'reviews:9080'): Promise<Echo | string> {
  const line = await fromClient('http-get', [clusterIp, '9080', host]);
  const m = /^200 (\{.*\})$/.exec(line);
  return m === null ? line : (JSON.parse(m[1]) as Echo);
}

/** The app names `count` requests reach. */
async function versions(count: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await getReviews();
    seen.push(typeof r === 'string' ? r : r.name);
  }
  return seen;
}

async function applyIstio(obj: Record<string, unknown>): Promise<void> {
  const md = obj.metadata as { name: string; namespace: string };
  const existing = api!.get(obj.apiVersion as string, obj.kind as string, md.namespace, md.name);
  if (existing === undefined) await api!.create(obj);
  else api!.put({ ...obj, metadata: { ...existing.metadata } });
}

function reviewsTo(subset: string): Record<string, unknown> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'reviews', namespace: NS },
    spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset } }] }] },
  };
}

before(disposer.setup(async () => {
  if (skip !== false) return;
  netns.require();
  assert.equal(addonMissing, false, addonMissing || '');
  dir = disposer.tempDir('skiff-kube-capture-');
  // The proxies run as uid 1337: they read their token and the root from here.
  chmodSync(dir, 0o755);

  // The node: a bridge for the pods, a link to this process's namespace for the API server.
  node = disposer.add(await Netns.create('skc-node'), (n) => n.destroy());
  await node.runOk('ip', ['link', 'add', 'skcbr', 'type', 'bridge']);
  await node.runOk('ip', ['addr', 'add', `${NODE_IP}/24`, 'dev', 'skcbr']);
  await node.runOk('ip', ['link', 'set', 'skcbr', 'up']);
  await runOk('ip', ['link', 'add', `${IF}h`, 'type', 'veth', 'peer', 'name', `${IF}a`, 'netns', node.name]);
  await runOk('ip', ['addr', 'add', `${API_HOST_IP}/24`, 'dev', `${IF}h`]);
  await runOk('ip', ['link', 'set', `${IF}h`, 'up']);
  await node.runOk('ip', ['addr', 'add', `${API_NODE_IP}/24`, 'dev', `${IF}a`]);
  await node.runOk('ip', ['link', 'set', `${IF}a`, 'up']);
  await untilReady(node.spawn(process.execPath, [fixture('capture-server'), 'outside', String(OUTSIDE_PORT)]));

  api = disposer.add(new FakeApiServer(), (a) => a.stop());
  const port = new URL(await api.start(0, API_HOST_IP)).port;
  for (const o of generateManifest({ image: 'skiff:test' })) {
    if (['CustomResourceDefinition', 'Namespace'].includes(o.kind)) await api.create(o);
  }
  const svc = await api.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'reviews', namespace: NS, labels: { app: 'reviews' } },
    spec: { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] },
  });
  clusterIp = (svc.spec as { clusterIP: string }).clusterIP;
  await applyIstio({
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'reviews', namespace: NS },
    spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] },
  });

  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\ncurrent-context: fake\ncontexts: [{name: fake, context: {cluster: fake, user: admin}}]\nclusters: [{name: fake, cluster: {server: "http://${API_HOST_IP}:${port}"}}]\nusers: [{name: admin, user: {token: t}}]\n`);
  skiffd = node.spawn(process.execPath, [skiffBin, 'skiffd', '--kubeconfig', kubeconfig, '--state-dir', join(dir, 'state'), '--api-port', '0', '--push-port', '0', '--push-tls-port', '15012', '--no-webhooks'], { env: { NO_COLOR: '1' } });
  const out = collect(skiffd);
  await waitFor(() => {
    skiffdOut = out();
    if (skiffd!.exitCode !== null) throw new Error(`skiffd exited: ${skiffdOut}`);
    return /push over TLS on [\d.]+:15012/.test(skiffdOut);
  }, 'skiffd to serve', 90_000);
  await waitFor(() => api!.get('v1', 'ConfigMap', NS, 'istio-ca-root-cert') !== undefined, 'the root ConfigMap');
  const root = join(dir, 'root-cert.pem');
  writeFileSync(root, (api.get('v1', 'ConfigMap', NS, 'istio-ca-root-cert')!.data as Record<string, string>)['root-cert.pem'], { mode: 0o644 });

  const specs = new Map<string, { initContainers?: InjectedContainer[] }>();
  for (const plan of PODS) specs.set(plan.name, (await createPod(plan)).spec as { initContainers?: InjectedContainer[] });
  await api.create({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'reviews-slice', namespace: NS, labels: { 'kubernetes.io/service-name': 'reviews' } },
    addressType: 'IPv4',
    endpoints: PODS.filter((p) => p.labels.app === 'reviews').map((p) => ({ addresses: [p.ip], conditions: { ready: true }, targetRef: { kind: 'Pod', name: p.name, namespace: NS } })),
    ports: [{ name: 'http', port: 9080, protocol: 'TCP' }],
  });
  let index = 0;
  for (const plan of PODS) pods.set(plan.name, await runPod(plan, index++, specs.get(plan.name)!, root));
  for (const p of pods.values()) {
    await waitFor(() => {
      if (p.proxy.exitCode !== null) throw new Error(`${p.plan.name}'s proxy exited: ${p.out()}`);
      return /workload certificate installed/.test(p.out()) && /snapshot \S+ applied/.test(p.out());
    }, `${p.plan.name}'s proxy to get its certificate and config`);
  }
}));

after(() => disposer.drain());

test("the client app's request to the Service's ClusterIP reaches a reviews app through both sidecars over mutual TLS", { skip }, async () => {
  // Until the reviews endpoints reach the client's sidecar, its ClusterIP listener answers 503.
  let first: Echo | undefined;
  await waitFor(async () => {
    const r = await getReviews();
    if (typeof r === 'object') first = r;
    return first !== undefined;
  }, 'a reviews answer', 30_000);
  const echo = first!;
  assert.match(echo.name, /^reviews-v[12]$/);
  assert.equal(echo.host, 'reviews:9080');
  // The server's inbound side reached its app from 127.0.0.6 (its own address over lo would loop back to 15006).
  assert.equal(echo.remote, '127.0.0.6');
  // It verified the client's certificate: its SPIFFE id is the client pod's service account.
  assert.match(echo.xfcc ?? '', /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/client/);
  assert.match(echo.xfcc ?? '', /By=spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-reviews/);
  // Any name the app resolved to the ClusterIP routes alike.
  for (const host of ['reviews', 'reviews.default.svc.cluster.local:9080', clusterIp]) {
    const other = await getReviews(host);
    assert.ok(typeof other === 'object' && /^reviews-v[12]$/.test(other.name), `${host}: ${JSON.stringify(other)}`);
  }
});

test('a VirtualService applied to the API server moves every request to v2, then to v1', { skip }, async () => {
  await applyIstio(reviewsTo('v2'));
  await waitFor(async () => (await versions(1))[0] === 'reviews-v2' && (await versions(8)).every((v) => v === 'reviews-v2'), 'every request on v2', 30_000);
  await applyIstio(reviewsTo('v1'));
  await waitFor(async () => (await versions(1))[0] === 'reviews-v1', 'a request on v1', 30_000);
  assert.deepEqual(await versions(10), Array(10).fill('reviews-v1'));
});

test('a connection to an address outside the mesh passes through to it (ALLOW_ANY)', { skip }, async () => {
  const line = await fromClient('connect-once', [NODE_IP, String(OUTSIDE_PORT)]);
  const a = JSON.parse(line) as { name: string; port: number; remote: string };
  // The node's server was reached at its own address, from the client pod's address: the client's sidecar passed it through.
  assert.deepEqual([a.name, a.port, a.remote], ['outside', OUTSIDE_PORT, '10.245.0.10']);
});

test("another pod's connection to a reviews port no inbound listener takes reaches the app as addressed, from 127.0.0.6", { skip }, async () => {
  const v1 = pods.get('reviews-v1-0')!;
  // A second app port the pod does not declare: InboundPassthroughCluster, not a loop back to 15006.
  // (The client speaks first: under PERMISSIVE the inbound side waits for the first bytes to tell TLS from plaintext.)
  await untilReady(v1.netns.spawn(process.execPath, [fixture('http-echo'), 'undeclared', '7070']));
  const line = await fromClient('http-get', [v1.plan.ip, '7070', `${v1.plan.ip}:7070`]);
  const m = /^200 (\{.*\})$/.exec(line);
  assert.ok(m !== null, line);
  const a = JSON.parse(m[1]) as Echo;
  assert.deepEqual([a.name, a.host, a.remote, a.xfcc], ['undeclared', `${v1.plan.ip}:7070`, '127.0.0.6', undefined]);
});

/**
 * True when the pod refused the client's sidecar: the app's GET to `ip:9080` gets the sidecar's 503
 * (the port's listener passed the request through in plaintext, and the pod's STRICT side reset it),
 * or no answer at all.
 */
async function refused(ip: string, host: string): Promise<boolean> {
  return /^(error |503 upstream connect error or disconnect\/reset before headers)/.test(await fromClient('http-get', [ip, '9080', host]));
}

/** The client app's GET to `ip:9080` with `host`: the echo, or what http-get printed instead. */
async function getPod(ip: string, host: string): Promise<Echo | string> {
  const line = await fromClient('http-get', [ip, '9080', host]);
  const m = /^200 (\{.*\})$/.exec(line);
  return m === null ? line : (JSON.parse(m[1]) as Echo);
}

function headlessSlice(podNames: string[]): Record<string, unknown> {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'reviews-headless-slice', namespace: NS, labels: { 'kubernetes.io/service-name': 'reviews-headless' } },
    addressType: 'IPv4',
    endpoints: PODS.filter((p) => podNames.includes(p.name)).map((p) => ({ addresses: [p.ip], conditions: { ready: true }, targetRef: { kind: 'Pod', name: p.name, namespace: NS } })),
    ports: [{ name: 'http', port: 9080, protocol: 'TCP' }],
  };
}

test("under STRICT, the client app reaches each pod of a headless Service by the pod's address over mutual TLS", { skip }, async () => {
  const v1 = pods.get('reviews-v1-0')!.plan;
  const v2 = pods.get('reviews-v2-0')!.plan;
  await applyIstio({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: NS }, spec: { mtls: { mode: 'STRICT' } } });
  // STRICT in force at the pod first, seen from the node, which has no sidecar: a plaintext request
  // the client's sidecar passed through while the pod was still PERMISSIVE would leave a kept-alive
  // plaintext connection in its pool, which the pod goes on serving (its accepted connections keep
  // the transport they were accepted with).
  await waitFor(async () => /^error /.test((await node!.runOk(process.execPath, [fixture('http-get'), v1.ip, '9080', `${v1.ip}:9080`])).stdout.trim()), 'STRICT at the pod', 30_000);
  // No Service stands for the pod's address yet: the client's sidecar passes the request through in plaintext (no service on 9080 has that Host), which STRICT refuses.
  await waitFor(() => refused(v1.ip, `${v1.ip}:9080`), 'STRICT to refuse a plain connection to the pod', 30_000);

  await api!.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'reviews-headless', namespace: NS, labels: { app: 'reviews' } },
    spec: { clusterIP: 'None', selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080 }] },
  });
  await api!.create(headlessSlice([v1.name, v2.name]));
  for (const [plan, app] of [[v1, 'reviews-v1'], [v2, 'reviews-v2']] as const) {
    let echo: Echo | undefined;
    await waitFor(async () => {
      const r = await getPod(plan.ip, 'reviews-headless:9080');
      if (typeof r === 'object') echo = r;
      return echo !== undefined;
    }, `${plan.name} by its address`, 30_000);
    // That very pod (no balancing over the Service's pods), reached over mutual TLS: the server verified the client's certificate.
    assert.equal(echo!.name, app);
    assert.equal(echo!.remote, '127.0.0.6');
    assert.match(echo!.xfcc ?? '', /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/client/);
    assert.match(echo!.xfcc ?? '', /By=spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-reviews/);
    // A pod's own DNS name under the Service, and the address itself, reach the same pod the same way.
    for (const host of [`${plan.name}.reviews-headless:9080`, `${plan.ip}:9080`]) {
      const r = await getPod(plan.ip, host);
      assert.ok(typeof r === 'object' && r.name === app && /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/client/.test(r.xfcc ?? ''), `${host}: ${JSON.stringify(r)}`);
    }
  }

  // The v2 pod goes (its processes still answer at the address): its listener goes with it, and STRICT refuses the plain connection again.
  api!.remove('v1', 'Pod', NS, v2.name);
  api!.put(headlessSlice([v1.name]));
  await waitFor(() => refused(v2.ip, 'reviews-headless:9080'), 'the gone pod to lose its listener', 30_000);
  const still = await getPod(v1.ip, 'reviews-headless:9080');
  assert.ok(typeof still === 'object' && still.name === 'reviews-v1', JSON.stringify(still));
});
