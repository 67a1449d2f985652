/**
 * The mesh config the Istio way, through a real `skiff proxy` sidecar: the ConfigMap `istio` in
 * `istio-system` is read live from skiffd's config source. Under `outboundTrafficPolicy`
 * REGISTRY_ONLY an unknown host gets the client sidecar's 502 and a tunnel to it is closed at
 * once (Envoy's BlackHoleCluster), while a ServiceEntry's host passes; back to ALLOW_ANY it passes
 * again, without any restart. A malformed mesh value is reported with its key and line and the
 * last good mesh config stays in force while other config keeps being pushed; an unknown key is
 * warned about. The ConfigMap's sampling wins over skiffd's own (`skiff up --trace-sampling`).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Resource } from '../../src/api/types.js';
import { loadText } from '../../src/config/load.js';
import { ConfigStore } from '../../src/config/store.js';
import { startSkiffd } from '../../src/controlplane/skiffd.js';
import type { Skiffd } from '../../src/controlplane/skiffd.js';
import { skiffBin, stopProcess } from '../helpers/cli.js';
import { deadPort, echo, eventually, request, startBackend } from '../proxy/helpers.js';
import type { Backend } from '../proxy/helpers.js';
import { Disposer } from '../helpers/disposer.js';

const PROXY_ID = 'curl-1.default';
let root = '';
let source: ConfigStore;
let skiffd: Skiffd;
let proxy: ChildProcess | undefined;
let proxyLog = '';
let outboundPort = 0;
let backend: Backend;
let tcpEcho: net.Server;
let tcpPort = 0;
const skiffdLog: string[] = [];

function resources(text: string): Resource[] {
  const loaded = loadText('test.yaml', text);
  assert.deepEqual(loaded.findings.filter((f) => f.severity === 'error').map((f) => f.message), []);
  return loaded.resources.map((r) => r.resource);
}

function meshConfigMap(mesh: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: istio\n  namespace: istio-system\ndata:\n  mesh: |-\n${mesh.split('\n').map((l) => `    ${l}`).join('\n')}\n`;
}

/** What a Kubernetes source would deliver as it is: a ConfigMap whose `mesh` nobody validated. */
function unvalidatedMeshConfigMap(mesh: string): Resource {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, spec: { data: { mesh } }, data: { mesh } };
}

const serviceEntry = (name: string, host: string): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${host}]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{number: ${backend.port}, name: http, protocol: HTTP}]
  endpoints: [{address: 127.0.0.1}]
`;

/** GET through the sidecar as an app does (its HTTP_PROXY): absolute-form URL. */
function viaSidecar(url: string): ReturnType<typeof request> {
  return request(outboundPort, url, { headers: { host: new URL(url).host } });
}

/** A TCP conversation through the sidecar's CONNECT: what came back, and whether the sidecar closed it. */
function tunnel(target: string, payload: string): Promise<{ text: string; closedBySidecar: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(outboundPort, '127.0.0.1');
    let text = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, 3000);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      // Once the echo is back the conversation is over; the client hangs up.
      if (text.includes(payload)) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedBySidecar: !timedOut && !text.includes(payload) });
    });
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n${payload}`);
  });
}

async function configDump(): Promise<{ telemetry?: { tracing?: { sampling?: number } } }> {
  const adminUrl = skiffd.push.status().find((p) => p.id === PROXY_ID)?.adminUrl;
  assert.ok(adminUrl);
  const text = await new Promise<string>((resolve, reject) => {
    get(`${adminUrl}/config_dump`, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    }).on('error', reject);
  });
  return JSON.parse(text) as { telemetry?: { tracing?: { sampling?: number } } };
}

const unknownHost = (): string => `http://127.0.0.1:${backend.port}/unknown`;

const disposer = new Disposer();
before(disposer.setup(async () => {
  root = disposer.tempDir('skiff-mesh-config-');
  backend = disposer.add(await startBackend(echo('backend')), (b) => b.close());
  tcpEcho = disposer.add(net.createServer((s) => s.pipe(s)), (s) => s.close());
  await new Promise<void>((r) => tcpEcho.listen(0, '127.0.0.1', r));
  tcpPort = (tcpEcho.address() as net.AddressInfo).port;
  source = disposer.add(await ConfigStore.open(join(root, 'source')), (s) => s.close());
  outboundPort = await deadPort();
  skiffd = await startSkiffd({
    stateDir: join(root, 'skiffd'),
    config: source,
    apiPort: 0,
    pushPort: 0,
    dashboardPort: false,
    debounceMs: 10,
    // `skiff up --trace-sampling 50`: a default the ConfigMap may override.
    mesh: { telemetry: { sampling: 50 } },
    log: (line) => skiffdLog.push(line),
  });
  disposer.add(skiffd, (s) => s.stop());
  skiffd.registry.upsertWorkload({
    name: 'curl-1',
    namespace: 'default',
    labels: { app: 'curl' },
    serviceAccount: 'curl',
    address: '127.0.0.1',
    ready: true,
    meshPorts: {},
    appPorts: {},
    sidecar: { outboundPort, adminPort: 0, proxyId: PROXY_ID },
  });
  proxy = spawn(
    process.execPath,
    [skiffBin, 'proxy', '--control-plane', skiffd.pushUrl, '--id', PROXY_ID, '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1', '--drain-ms', '100'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  disposer.add(proxy, (p) => stopProcess(p, { signal: 'SIGKILL' }));
  proxy.stderr!.setEncoding('utf8').on('data', (d: string) => (proxyLog += d));
  await eventually(() => skiffd.push.status().find((p) => p.id === PROXY_ID)?.state === 'SYNCED', 15_000, `the sidecar synced (log: ${proxyLog})`);
  await source.apply(resources(serviceEntry('httpbin-ext', 'httpbin.external')));
  await eventually(async () => (await viaSidecar(`http://httpbin.external:${backend.port}/`)).status === 200, 5000, 'the ServiceEntry in the sidecar');
}));

after(() => disposer.drain());

test('without a mesh config: unknown hosts pass through (ALLOW_ANY), sampling is skiffd’s own', async () => {
  assert.equal((await viaSidecar(unknownHost())).status, 200);
  const t = await tunnel(`127.0.0.1:${tcpPort}`, 'ping\n');
  assert.match(t.text, /^HTTP\/1\.1 200 /);
  assert.ok(t.text.endsWith('ping\n'), `echoed through the tunnel: ${JSON.stringify(t.text)}`);
  assert.equal((await configDump()).telemetry?.tracing?.sampling, 50);
  assert.equal(skiffd.status().meshConfig.source, 'defaults');
});

test('REGISTRY_ONLY applied live: an unknown host gets 502 from the sidecar and a tunnel is closed; a ServiceEntry host passes', async () => {
  await source.apply(resources(meshConfigMap('outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\ndefaultConfig:\n  tracing:\n    sampling: 10')));
  await eventually(async () => (await viaSidecar(unknownHost())).status === 502, 5000, 'REGISTRY_ONLY in the sidecar');
  const blocked = await viaSidecar(unknownHost());
  assert.equal(blocked.body, '', "Envoy's direct response: no body");
  assert.equal(blocked.headers['x-backend'], undefined, 'answered by the sidecar, not the backend');
  const served = backend.count;
  assert.equal((await viaSidecar(`http://httpbin.external:${backend.port}/get`)).status, 200, 'the ServiceEntry host passes');
  assert.equal(backend.count, served + 1);

  const t = await tunnel(`127.0.0.1:${tcpPort}`, 'ping\n');
  assert.match(t.text, /^HTTP\/1\.1 200 /, 'the tunnel is accepted, as a captured connection is');
  assert.equal(t.text.includes('ping'), false, 'nothing reaches the TCP server');
  assert.equal(t.closedBySidecar, true, 'and the sidecar closes it at once');

  assert.equal((await configDump()).telemetry?.tracing?.sampling, 10, "the ConfigMap's sampling wins over skiffd's default");
  const status = skiffd.status().meshConfig;
  assert.equal(status.source, 'ConfigMap istio-system/istio');
  assert.deepEqual(status.warnings, []);
  assert.equal(status.rejected, undefined);
});

test('a malformed mesh value is reported with its key and line; the last good mesh config stays while other config is pushed', async () => {
  skiffdLog.length = 0;
  await source.apply([unvalidatedMeshConfigMap('outboundTrafficPolicy:\n  mode: SOMETIMES')]);
  const status = skiffd.status().meshConfig;
  assert.deepEqual(status.rejected?.errors, ['ConfigMap istio-system/istio data.mesh line 2: outboundTrafficPolicy.mode: must be one of "REGISTRY_ONLY", "ALLOW_ANY" (got "SOMETIMES")']);
  assert.equal(status.source, 'ConfigMap istio-system/istio', 'the last good one is still in force');
  assert.ok(skiffdLog.some((l) => /mesh config: ConfigMap istio-system\/istio data\.mesh line 2: outboundTrafficPolicy\.mode: must be one of/.test(l)), skiffdLog.join('\n'));
  assert.ok(skiffdLog.some((l) => /not applied \(an error\); the last good mesh config stays in force/.test(l)), skiffdLog.join('\n'));

  // Pushes go on: a new ServiceEntry reaches the sidecar, under the REGISTRY_ONLY still in force.
  await source.apply(resources(serviceEntry('second-ext', 'second.external')));
  await eventually(async () => (await viaSidecar(`http://second.external:${backend.port}/`)).status === 200, 5000, 'the second ServiceEntry in the sidecar');
  assert.equal((await viaSidecar(unknownHost())).status, 502);
  assert.equal((await configDump()).telemetry?.tracing?.sampling, 10);
});

test('back to ALLOW_ANY without a restart; an unknown key is warned about, not silently dropped', async () => {
  skiffdLog.length = 0;
  await source.apply(resources(meshConfigMap('outboundTrafficPolicy:\n  mode: ALLOW_ANY\nthreads: 4')));
  await eventually(async () => (await viaSidecar(unknownHost())).status === 200, 5000, 'ALLOW_ANY in the sidecar');
  const t = await tunnel(`127.0.0.1:${tcpPort}`, 'pong\n');
  assert.ok(t.text.endsWith('pong\n'), `echoed through the tunnel: ${JSON.stringify(t.text)}`);
  const status = skiffd.status().meshConfig;
  assert.equal(status.rejected, undefined);
  assert.equal(status.warnings.length, 1);
  assert.match(status.warnings[0] ?? '', /^ConfigMap istio-system\/istio data\.mesh line 3: threads: unknown field "threads"/);
  assert.ok(skiffdLog.some((l) => l.includes('unknown field "threads"')), skiffdLog.join('\n'));
  assert.equal((await configDump()).telemetry?.tracing?.sampling, 50, 'unset in the ConfigMap now: the default again');
});

test('deleting the ConfigMap brings back the defaults', async () => {
  await source.apply(resources(meshConfigMap('outboundTrafficPolicy:\n  mode: REGISTRY_ONLY')));
  await eventually(async () => (await viaSidecar(unknownHost())).status === 502, 5000, 'REGISTRY_ONLY in the sidecar');
  await source.delete([{ group: '', kind: 'ConfigMap', namespace: 'istio-system', name: 'istio' }]);
  await eventually(async () => (await viaSidecar(unknownHost())).status === 200, 5000, 'ALLOW_ANY (the default) in the sidecar');
  assert.equal(skiffd.status().meshConfig.source, 'defaults');
});
