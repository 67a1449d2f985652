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
import type { ProxySnapshot } from '../../src/snapshot/index.js';

const netns = netnsRequirement();
const addonMissing = existsSync(ADDON_PATH) ? false : `${ADDON_PATH} not built (npm run build:native)`;
const skip = netns.skip !== false ? netns.skip : addonMissing !== false && !toolsRequired() ? addonMissing : false;

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
const POD_IP = '10.244.0.10';
const NODE_IP = '10.244.0.20';
const OUTSIDE_IP = '10.244.0.30';
const CLUSTER_IP = '10.96.0.50';
const PROXY_UID = 1337;
const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';

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
  await pod.defaultRoute(NODE_IP);
  await pod.runOk(process.execPath, [skiffBin, 'iptables', '-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020']);
  dir = disposer.tempDir('skiff-capture-');
  // The proxy runs as uid 1337: it must read the snapshot.
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'snapshot.json'), JSON.stringify(captureSnapshot('1', 'ALLOW_ANY')), { mode: 0o644 });
  await Promise.all([
    untilReady(node.spawn(process.execPath, [fixture('capture-server'), 'reviews', '8080'])),
    untilReady(node.spawn(process.execPath, [fixture('capture-server'), 'outside', '8081'])),
    untilReady(pod.spawn(process.execPath, [fixture('capture-server'), 'app', '9080'])),
  ]);
  proxy = pod.spawn(process.execPath, [skiffBin, 'proxy', '--snapshot', join(dir, 'snapshot.json'), '--concurrency', '1', '--admin-port', '15000', '--health-port', '15021'], { uid: PROXY_UID, gid: PROXY_UID });
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
