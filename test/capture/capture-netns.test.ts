/**
 * What the capture rules do to a pod's connections, for real: a "pod" network namespace
 * (10.244.0.10) linked to a "node" namespace (10.244.0.20, with a backend on 8080), the injected
 * `skiff iptables` applied in the pod, and stand-ins on the pod's capture ports 15001 and 15006
 * that answer with the original destination they read. The app's outbound connections (to a
 * Service ClusterIP, to another pod) reach 15001 with their destination intact; the proxy's own
 * (uid 1337) reach the backend itself, so they never loop; inbound connections to the pod reach
 * 15006, but for the excluded ports.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { skiffBin } from '../helpers/cli.js';
import { Disposer } from '../helpers/disposer.js';
import { Netns, netnsRequirement, untilReady } from '../helpers/netns.js';
import { toolsRequired } from '../helpers/tools.js';
import { ADDON_PATH } from '../../src/capture/original-destination.js';

const netns = netnsRequirement();
const addonMissing = existsSync(ADDON_PATH) ? false : `${ADDON_PATH} not built (npm run build:native)`;
const skip = netns.skip !== false ? netns.skip : addonMissing !== false && !toolsRequired() ? addonMissing : false;

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
const POD_IP = '10.244.0.10';
const NODE_IP = '10.244.0.20';
const PROXY_UID = 1337;

let pod: Netns | undefined;
let node: Netns | undefined;

interface Answer {
  name: string;
  port: number;
  original: { address: string; port: number; family: number };
  remote: string;
}

async function connectFrom(ns: Netns, address: string, port: number, uid?: number): Promise<Answer | string> {
  const r = await ns.runOk(process.execPath, [fixture('connect-once'), address, String(port)], uid === undefined ? {} : { uid, gid: uid });
  const line = r.stdout.trim();
  return line.startsWith('{') ? (JSON.parse(line) as Answer) : line;
}

const disposer = new Disposer();
before(disposer.setup(async () => {
  if (skip !== false) return;
  netns.require();
  assert.equal(addonMissing, false, addonMissing || '');
  pod = disposer.add(await Netns.create('pod'), (n) => n.destroy());
  node = disposer.add(await Netns.create('node'), (n) => n.destroy());
  await pod.link(node, `${POD_IP}/24`, `${NODE_IP}/24`);
  // ClusterIPs are routed off the pod, as kube-proxy's node would take them.
  await pod.defaultRoute(NODE_IP);
  await pod.runOk(process.execPath, [skiffBin, 'iptables', '-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020']);
  await Promise.all([untilReady(node.spawn(process.execPath, [fixture('capture-server'), 'backend', '8080'])), untilReady(pod.spawn(process.execPath, [fixture('capture-server'), 'pod', '15001', '15006', '15021']))]);
}));

after(() => disposer.drain());

test("the app's connection to a Service ClusterIP reaches 15001 with its destination", { skip }, async () => {
  const a = await connectFrom(pod!, '10.96.0.50', 9080);
  assert.deepEqual(a, { name: 'pod', port: 15001, original: { address: '10.96.0.50', port: 9080, family: 4 }, remote: POD_IP });
});

test("the app's connection to another pod's address is captured too", { skip }, async () => {
  const a = await connectFrom(pod!, NODE_IP, 8080);
  assert.equal(typeof a === 'object' && a.name, 'pod');
  assert.deepEqual(typeof a === 'object' && a.original, { address: NODE_IP, port: 8080, family: 4 });
});

test("the proxy's own connections (uid 1337) reach the backend itself: no loop", { skip }, async () => {
  const a = await connectFrom(pod!, NODE_IP, 8080, PROXY_UID);
  assert.deepEqual(a, { name: 'backend', port: 8080, original: { address: NODE_IP, port: 8080, family: 4 }, remote: POD_IP });
});

test('inbound connections to the pod reach 15006 with the port they were sent to', { skip }, async () => {
  const a = await connectFrom(node!, POD_IP, 9080);
  assert.deepEqual(a, { name: 'pod', port: 15006, original: { address: POD_IP, port: 9080, family: 4 }, remote: NODE_IP });
});

test("the excluded ports (the proxy's health port here) are not captured", { skip }, async () => {
  const a = await connectFrom(node!, POD_IP, 15021);
  assert.deepEqual(a, { name: 'pod', port: 15021, original: { address: POD_IP, port: 15021, family: 4 }, remote: NODE_IP });
});

test("the proxy calling its own pod's address goes through the inbound capture port, as from another pod", { skip }, async () => {
  const a = await connectFrom(pod!, POD_IP, 9080, PROXY_UID);
  assert.equal(typeof a === 'object' && a.port, 15006);
  assert.deepEqual(typeof a === 'object' && a.original, { address: POD_IP, port: 9080, family: 4 });
});
