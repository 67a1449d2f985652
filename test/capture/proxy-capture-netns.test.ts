/**
 * The proxy's capture listeners in a pod laid out in network namespaces: the injected
 * `skiff iptables` rules applied in a "pod" namespace (10.244.0.10), `skiff proxy` running there
 * as uid 1337 with capture listeners on 15001 and 15006, an app in the pod on 9080, and backends
 * on a "node" namespace (10.244.0.20: a Service's endpoint; 10.244.0.30: a host outside the
 * mesh). The app's connection to the Service's ClusterIP reaches the Service's endpoint through
 * the outbound listener that stands for that ClusterIP:port, one to an unknown address passes
 * through to that address (or is stopped under REGISTRY_ONLY), another pod's connection to the app
 * port reaches the app through 15006 and the inbound listener, and the proxy's own upstream
 * connections leave the pod instead of looping back to 15001. Each answer is the backend's own
 * record (its name, the address it was reached at, the peer); the proxy's /stats count the hops.
 *
 * Last, the snapshot translation writes for a captured sidecar with ServiceEntries (Istio's
 * "Accessing External Services"): an HTTP server outside the mesh (10.244.0.30:80) stands for the
 * external host `httpbin.org`, whose ServiceEntry has no address, so the app's connection reaches
 * the proxy as one to 10.244.0.30:80 and is routed by its Host on the port's listener. Under
 * REGISTRY_ONLY the declared Host is served through the ServiceEntry's cluster and any other gets
 * a 502 from the proxy; under ALLOW_ANY any other passes through to where the app sent it. A TCP
 * connection to an address inside a ServiceEntry's CIDR (10.244.0.32/28) reaches the node through
 * that ServiceEntry's cluster under REGISTRY_ONLY, while one to an address outside it is closed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { skiffBin } from '../helpers/cli.js';
import { Disposer } from '../helpers/disposer.js';
import { Netns, netnsRequirement, untilReady } from '../helpers/netns.js';
import { toolsRequired } from '../helpers/tools.js';
import { ADDON_PATH } from '../../src/capture/original-destination.js';
import { translate } from '../../src/controlplane/translate/index.js';
import type { ProxySnapshot } from '../../src/snapshot/index.js';
import { loadCase, loadYaml } from '../controlplane/translate/cases.js';

const netns = netnsRequirement();
const addonMissing = existsSync(ADDON_PATH) ? false : `${ADDON_PATH} not built (npm run build:native)`;
const skip = netns.skip !== false ? netns.skip : addonMissing !== false && !toolsRequired() ? addonMissing : false;

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
const POD_IP = '10.244.0.10';
const NODE_IP = '10.244.0.20';
const OUTSIDE_IP = '10.244.0.30';
/** Another address of the node, inside the block a ServiceEntry declares (10.244.0.32/28); OUTSIDE_IP is not. */
const BLOCK_IP = '10.244.0.40';
const CLUSTER_IP = '10.96.0.50';
const PROXY_UID = 1337;
const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';
const HTTPBIN = 'outbound|80||httpbin.org';

/**
 * What translation writes for the captured productpage pod (10.244.0.10, the pod here) of the
 * translation tests' captured-sidecar case, with `httpbin.org` declared by a ServiceEntry whose
 * endpoint stands for what DNS would answer for it.
 */
function egressSnapshot(version: string, outboundPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY'): ProxySnapshot {
  const c = loadCase('kube-captured-sidecar');
  const entry = loadYaml(
    'service-entry.yaml',
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin-ext, namespace: default}
spec:
  hosts: [httpbin.org]
  ports:
  - {number: 80, name: http, protocol: HTTP}
  resolution: DNS
  location: MESH_EXTERNAL
  endpoints:
  - address: ${OUTSIDE_IP}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external-tcp, namespace: default}
spec:
  hosts: [tcp.external.example]
  addresses: [10.244.0.32/28]
  ports:
  - {number: 8081, name: tcp, protocol: TCP}
  resolution: NONE
  location: MESH_EXTERNAL
`,
  );
  const snapshot = translate({ config: [...c.config, ...entry], registry: c.registry, proxy: c.proxy, mesh: { outboundTrafficPolicy: outboundPolicy } });
  return { ...JSON.parse(JSON.stringify(snapshot)) as ProxySnapshot, version };
}

/**
 * A capturing sidecar's listeners written by hand (15001 and 15006 and the listeners they hand
 * connections to), for the proxy alone; what translation writes is run in kube-capture-netns.test.ts.
 */
function captureSnapshot(version: string, outboundPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY'): ProxySnapshot {
  return {
    version,
    node: { id: 'app-0.default', kind: 'sidecar' },
    listeners: [
      {
        name: 'virtualOutbound',
        address: '0.0.0.0',
        port: 15001,
        direction: 'outbound',
        protocol: 'tcp',
        tcp: { routes: [{ destinations: [{ cluster: outboundPolicy === 'ALLOW_ANY' ? 'PassthroughCluster' : 'BlackHoleCluster', weight: 1 }] }] },
        capture: { targets: [{ destination: `${CLUSTER_IP}:9080`, listener: `${CLUSTER_IP}_9080` }] },
      },
      { name: `${CLUSTER_IP}_9080`, address: CLUSTER_IP, port: 9080, bindToPort: false, direction: 'outbound', protocol: 'tcp', tcp: { routes: [{ destinations: [{ cluster: REVIEWS, weight: 1 }] }] } },
      {
        name: 'virtualInbound',
        address: '0.0.0.0',
        port: 15006,
        direction: 'inbound',
        protocol: 'tcp',
        tcp: { routes: [{ destinations: [{ cluster: 'BlackHoleCluster', weight: 1 }] }] },
        capture: { targets: [{ destination: ':9080', listener: 'inbound|9080' }] },
      },
      { name: 'inbound|9080', address: '0.0.0.0', port: 9080, bindToPort: false, direction: 'inbound', protocol: 'tcp', tcp: { routes: [{ destinations: [{ cluster: 'inbound|9080||', weight: 1 }] }] } },
    ],
    routes: [],
    clusters: [
      { name: REVIEWS, protocol: 'tcp', endpoints: [{ address: NODE_IP, port: 8080 }] },
      { name: 'inbound|9080||', protocol: 'tcp', endpoints: [{ address: '127.0.0.1', port: 9080 }] },
      { name: 'PassthroughCluster', discovery: 'original-dst', protocol: 'tcp' },
      { name: 'BlackHoleCluster', protocol: 'tcp', endpoints: [] },
    ],
  };
}

let pod: Netns | undefined;
let node: Netns | undefined;
let proxy: ChildProcess | undefined;
let dir: string | undefined;
let proxyOutput = '';

interface Answer {
  name: string;
  port: number;
  original: { address: string; port: number };
  remote: string;
}

async function connectFrom(ns: Netns, address: string, port: number): Promise<Answer | string> {
  const r = await ns.runOk(process.execPath, [fixture('connect-once'), address, String(port)]);
  const line = r.stdout.trim();
  return line.startsWith('{') ? (JSON.parse(line) as Answer) : line;
}

/** The proxy's admin: `path`'s body (from inside the pod: 127.0.0.1 is never captured). */
async function admin(path: string): Promise<{ status: number; body: string }> {
  const script = `fetch('http://127.0.0.1:15000${path}').then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })), (e) => process.stdout.write(JSON.stringify({ status: 0, body: String(e) })))`;
  const r = await pod!.runOk(process.execPath, ['-e', script]);
  return JSON.parse(r.stdout) as { status: number; body: string };
}

async function stat(name: string): Promise<number> {
  const { body } = await admin('/stats');
  const line = body.split('\n').find((l) => l.startsWith(`${name}: `));
  return line === undefined ? 0 : Number(line.slice(name.length + 2));
}

async function waitReady(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (proxy?.exitCode !== null || proxyOutput.includes('no valid snapshot')) throw new Error(`skiff proxy did not start: ${proxyOutput}`);
    if ((await admin('/ready')).status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`skiff proxy never got ready: ${proxyOutput}`);
}

const disposer = new Disposer();
before(disposer.setup(async () => {
  if (skip !== false) return;
  netns.require();
  assert.equal(addonMissing, false, addonMissing || '');
  pod = disposer.add(await Netns.create('cpod'), (n) => n.destroy());
  node = disposer.add(await Netns.create('cnode'), (n) => n.destroy());
  await pod.link(node, `${POD_IP}/24`, `${NODE_IP}/24`);
  await node.addAddress(`${OUTSIDE_IP}/24`);
  await node.addAddress(`${BLOCK_IP}/24`);
  await pod.defaultRoute(NODE_IP);
  await pod.runOk(process.execPath, [skiffBin, 'iptables', '-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020']);
  dir = disposer.tempDir('skiff-capture-');
  // The proxy runs as uid 1337: it must read the snapshot.
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'snapshot.json'), JSON.stringify(captureSnapshot('1', 'ALLOW_ANY')), { mode: 0o644 });
  await Promise.all([
    untilReady(node.spawn(process.execPath, [fixture('capture-server'), 'reviews', '8080'])),
    untilReady(node.spawn(process.execPath, [fixture('capture-server'), 'outside', '8081'])),
    untilReady(node.spawn(process.execPath, [fixture('http-echo'), 'external', '80'])),
    untilReady(pod.spawn(process.execPath, [fixture('capture-server'), 'app', '9080'])),
  ]);
  proxy = pod.spawn(process.execPath, [skiffBin, 'proxy', '--snapshot', join(dir, 'snapshot.json'), '--concurrency', '1', '--admin-port', '15000', '--health-port', '15021', '--access-log'], { uid: PROXY_UID, gid: PROXY_UID });
  proxy.stdout?.setEncoding('utf8').on('data', (d: string) => (proxyOutput += d));
  proxy.stderr?.setEncoding('utf8').on('data', (d: string) => (proxyOutput += d));
  await waitReady();
}));

after(() => disposer.drain());

test("the app's connection to a Service ClusterIP:port reaches the Service's endpoint through the listener for that address", { skip }, async () => {
  const before = await stat(`cluster.${REVIEWS}.upstream_cx_total`);
  const a = await connectFrom(pod!, CLUSTER_IP, 9080);
  // The endpoint was reached at its own address (no ClusterIP routing exists: only the proxy knows it), from the pod.
  assert.deepEqual(a, { name: 'reviews', port: 8080, original: { address: NODE_IP, port: 8080, family: 4 }, remote: POD_IP });
  assert.equal(await stat(`cluster.${REVIEWS}.upstream_cx_total`), before + 1);
  assert.equal(await stat(`tcp.${CLUSTER_IP}_9080.downstream_cx_total`), 1);
});

test("the app's connection to an address outside the registry passes through to where it was going (PassthroughCluster)", { skip }, async () => {
  const a = await connectFrom(pod!, OUTSIDE_IP, 8081);
  assert.deepEqual(a, { name: 'outside', port: 8081, original: { address: OUTSIDE_IP, port: 8081, family: 4 }, remote: POD_IP });
  assert.equal(await stat('cluster.PassthroughCluster.upstream_cx_total'), 1);
  assert.equal(await stat('tcp.virtualOutbound.downstream_cx_total'), 1);
});

test("the proxy's own upstream connections (uid 1337) leave the pod: 15001 saw each app connection once", { skip }, async () => {
  await connectFrom(pod!, CLUSTER_IP, 9080);
  await connectFrom(pod!, OUTSIDE_IP, 8081);
  // Had an upstream connection been captured, it would have come back to 15001 as one more connection.
  assert.equal(await stat(`tcp.${CLUSTER_IP}_9080.downstream_cx_total`), 2);
  assert.equal(await stat('tcp.virtualOutbound.downstream_cx_total'), 2);
});

test("another pod's connection to the app port reaches the app through 15006 and the inbound listener", { skip }, async () => {
  const a = await connectFrom(node!, POD_IP, 9080);
  // The proxy reached the app on 127.0.0.1: a connection to the pod's address would be captured again.
  assert.deepEqual(a, { name: 'app', port: 9080, original: { address: '127.0.0.1', port: 9080, family: 4 }, remote: '127.0.0.1' });
  assert.equal(await stat('tcp.inbound|9080.downstream_cx_total'), 1);
  assert.equal(await stat('cluster.inbound|9080||.upstream_cx_total'), 1);
});

test('under REGISTRY_ONLY the same connection to an unknown address is stopped (BlackHoleCluster), the Service still reached', { skip }, async () => {
  writeFileSync(join(dir!, 'snapshot.json'), JSON.stringify(captureSnapshot('2', 'REGISTRY_ONLY')), { mode: 0o644 });
  const passedBefore = await stat('cluster.PassthroughCluster.upstream_cx_total');
  proxy!.kill('SIGHUP');
  // The reload is asynchronous: the same connection is tried until the new snapshot answers it.
  let blocked: Answer | string = '';
  for (let i = 0; i < 50 && blocked !== 'empty'; i++) blocked = await connectFrom(pod!, OUTSIDE_IP, 8081);
  assert.equal(blocked, 'empty', proxyOutput);
  const passed = await stat('cluster.PassthroughCluster.upstream_cx_total');
  assert.equal(await connectFrom(pod!, OUTSIDE_IP, 8081), 'empty');
  assert.equal(await stat('cluster.PassthroughCluster.upstream_cx_total'), passed);
  assert.ok(passed >= passedBefore);
  const a = await connectFrom(pod!, CLUSTER_IP, 9080);
  assert.equal(typeof a === 'object' && a.name, 'reviews');
});

/** The app's plain GET to `address:port` with `host`: `STATUS BODY`, or `error CODE`. */
async function httpGet(address: string, port: number, host: string): Promise<string> {
  return (await pod!.runOk(process.execPath, [fixture('http-get'), address, String(port), host])).stdout.trim();
}

/** Loads `snapshot` into the running proxy (SIGHUP) and waits until `applied` says it answers. */
async function reload(snapshot: ProxySnapshot, applied: () => Promise<boolean>): Promise<void> {
  writeFileSync(join(dir!, 'snapshot.json'), JSON.stringify(snapshot), { mode: 0o644 });
  proxy!.kill('SIGHUP');
  for (let i = 0; i < 50; i++) {
    if (await applied()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`snapshot ${snapshot.version} never applied: ${proxyOutput}`);
}

test("under REGISTRY_ONLY the app's HTTP request to an external host a ServiceEntry declares is served through the ServiceEntry's cluster; any other Host gets a 502", { skip }, async () => {
  await reload(egressSnapshot('3', 'REGISTRY_ONLY'), async () => (await admin('/config_dump')).body.includes('0.0.0.0_80'));
  const before = await stat(`cluster.${HTTPBIN}.upstream_rq_total`);
  const served = await httpGet(OUTSIDE_IP, 80, 'httpbin.org');
  assert.match(served, /^200 /, proxyOutput);
  assert.deepEqual(JSON.parse(served.slice(4)), { name: 'external', host: 'httpbin.org', remote: POD_IP });
  assert.equal(await stat(`cluster.${HTTPBIN}.upstream_rq_total`), before + 1);
  // The port's listener took it: the address is no service's.
  assert.equal(await stat('http.0.0.0.0_80.downstream_rq_total'), 1);

  const passed = await stat('cluster.PassthroughCluster.upstream_rq_total');
  assert.equal(await httpGet(OUTSIDE_IP, 80, 'unknown.example.com'), '502');
  assert.equal(await stat('cluster.PassthroughCluster.upstream_rq_total'), passed);
  assert.equal(await stat(`cluster.${HTTPBIN}.upstream_rq_total`), before + 1);
  // Envoy's access log line for the block_all route: 502, no flag, a direct response.
  assert.match(proxyOutput, /"GET \/ HTTP\/1\.1" 502 - direct_response /);
  // A TCP port no service has is still closed at once.
  assert.equal(await connectFrom(pod!, OUTSIDE_IP, 8081), 'empty');
});

test("under REGISTRY_ONLY a TCP connection to an address in a ServiceEntry's CIDR reaches it through the ServiceEntry's cluster; one outside the block is closed", { skip }, async () => {
  const cluster = 'outbound|8081||tcp.external.example';
  const before = await stat(`cluster.${cluster}.upstream_cx_total`);
  // resolution NONE: the connection goes where the app sent it.
  assert.deepEqual(await connectFrom(pod!, BLOCK_IP, 8081), { name: 'outside', port: 8081, original: { address: BLOCK_IP, port: 8081, family: 4 }, remote: POD_IP });
  assert.equal(await stat(`cluster.${cluster}.upstream_cx_total`), before + 1);
  assert.equal(await stat('tcp.10.244.0.32/28_8081.downstream_cx_total'), 1);
  assert.equal(await connectFrom(pod!, OUTSIDE_IP, 8081), 'empty');
  assert.equal(await stat(`cluster.${cluster}.upstream_cx_total`), before + 1);
});

test('under ALLOW_ANY a Host no service has on the port passes through to the address the app connected to', { skip }, async () => {
  await reload(egressSnapshot('4', 'ALLOW_ANY'), async () => /^200 /.test(await httpGet(OUTSIDE_IP, 80, 'unknown.example.com')));
  const before = await stat('cluster.PassthroughCluster.upstream_rq_total');
  const passed = await httpGet(OUTSIDE_IP, 80, 'unknown.example.com');
  assert.match(passed, /^200 /, proxyOutput);
  // Where the connection went, not where the Host names (which resolves nowhere here).
  assert.deepEqual(JSON.parse(passed.slice(4)), { name: 'external', host: 'unknown.example.com', remote: POD_IP });
  assert.equal(await stat('cluster.PassthroughCluster.upstream_rq_total'), before + 1);
  // The declared host still goes through its own cluster.
  const httpbin = await stat(`cluster.${HTTPBIN}.upstream_rq_total`);
  assert.match(await httpGet(OUTSIDE_IP, 80, 'httpbin.org'), /^200 /);
  assert.equal(await stat(`cluster.${HTTPBIN}.upstream_rq_total`), httpbin + 1);
});
