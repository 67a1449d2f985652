/**
 * skiffd with a real `skiff proxy --control-plane` process: an applied VirtualService reaches the
 * proxy's config_dump within a second, a deletion takes it back, the proxy keeps its snapshot
 * while skiffd is away, and a restarted skiffd restores the applied config and re-syncs the proxy.
 * A second skiffd on the same state directory is refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { startSkiffd } from '../../src/controlplane/skiffd.js';
import type { Skiffd } from '../../src/controlplane/skiffd.js';
import type { ProxyStatus } from '../../src/controlplane/push/types.js';
import { apiRequest } from '../../src/cli/skiffd-client.js';
import type { Service, WorkloadInstance } from '../../src/registry/types.js';
import { skiffBin, stopProcess } from '../helpers/cli.js';
import { deadPort, eventually } from '../proxy/helpers.js';
import { Disposer } from '../helpers/disposer.js';

const PROXY_ID = 'curl-1.default';
let dir = '';
let skiffd: Skiffd | undefined;
let proxy: ChildProcess | undefined;
let proxyLog = '';
let outboundPort = 0;

const reviews: Service = {
  name: 'reviews',
  namespace: 'default',
  hostname: 'reviews.default.svc.cluster.local',
  ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' }],
  selector: { app: 'reviews' },
};

function workload(): WorkloadInstance {
  return {
    name: 'curl-1',
    namespace: 'default',
    labels: { app: 'curl' },
    serviceAccount: 'default',
    address: '127.0.0.1',
    ready: true,
    meshPorts: {},
    appPorts: {},
    sidecar: { outboundPort, adminPort: 0, proxyId: PROXY_ID },
  };
}

/** What the local runtime would register: the service and the sidecar's workload instance. */
function register(d: Skiffd): void {
  d.registry.upsertService(reviews);
  d.registry.upsertWorkload(workload());
}

const VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - name: marker-route
    fault:
      abort:
        httpStatus: 418
        percentage:
          value: 100
    route:
    - destination:
        host: reviews
`;

function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    }).on('error', reject);
  });
}

function statusOf(d: Skiffd): ProxyStatus | undefined {
  return d.push.status().find((p) => p.id === PROXY_ID);
}

/** The proxy's snapshot: its version, and its content without the version (which also counts pushes). */
async function configDump(adminUrl: string): Promise<{ version: string; text: string; content: string }> {
  const text = await fetchText(`${adminUrl}/config_dump`);
  const { version, ...content } = JSON.parse(text) as { version: string };
  return { version, text, content: JSON.stringify(content) };
}

const disposer = new Disposer();
before(disposer.setup(async () => {
  dir = disposer.tempDir('skiff-skiffd-');
  outboundPort = await deadPort();
  skiffd = await startSkiffd({ stateDir: dir, apiPort: 0, pushPort: 0, dashboardPort: false });
  // Whichever skiffd runs at the end: a test restarts it.
  disposer.defer(() => skiffd?.stop());
  register(skiffd);
  proxy = spawn(
    process.execPath,
    [skiffBin, 'proxy', '--control-plane', skiffd.pushUrl, '--id', PROXY_ID, '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1', '--drain-ms', '100'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  disposer.add(proxy, (p) => stopProcess(p, { signal: 'SIGKILL' }));
  proxy.stderr!.setEncoding('utf8').on('data', (d: string) => (proxyLog += d));
}));

after(() => disposer.drain());

test('an applied VirtualService reaches the proxy within a second; deleting it restores the earlier snapshot', async () => {
  const d = skiffd!;
  await eventually(() => statusOf(d)?.state === 'SYNCED' && statusOf(d)?.adminUrl !== undefined, 15_000, `proxy synced (log: ${proxyLog})`);
  const adminUrl = statusOf(d)!.adminUrl!;
  const initial = await configDump(adminUrl);
  assert.equal(initial.text.includes('marker-route'), false);

  await apiRequest(d, 'POST', '/api/v1/apply', { files: [{ name: 'vs.yaml', text: VS }] });
  // The acceptance bound of the control plane: a change reaches every affected proxy within a second.
  await eventually(async () => (await configDump(adminUrl)).text.includes('marker-route'), 1000, 'the VirtualService in the proxy config_dump');
  await eventually(() => statusOf(d)?.state === 'SYNCED', 5000, 'ACK of the new snapshot');

  await apiRequest(d, 'POST', '/api/v1/delete', { files: [{ name: 'vs.yaml', text: VS }] });
  await eventually(async () => (await configDump(adminUrl)).content === initial.content, 1000, 'the snapshot before the VirtualService');
  // Both changes went out as deltas: the proxy rebuilt from them exactly the snapshots above.
  assert.ok(d.push.counters.deltas >= 2, `changes sent as deltas (${d.push.counters.deltas})`);
});

test('while skiffd is away the proxy keeps its snapshot; a restarted skiffd restores the store and re-syncs the proxy', async () => {
  const first = skiffd!;
  await apiRequest(first, 'POST', '/api/v1/apply', { files: [{ name: 'vs.yaml', text: VS }] });
  const adminUrl = statusOf(first)!.adminUrl!;
  await eventually(async () => (await configDump(adminUrl)).text.includes('marker-route'), 5000, 'the VirtualService in the proxy');
  const served = await configDump(adminUrl);
  const pushPort = Number(new URL(first.pushUrl).port);
  const apiPort = Number(new URL(first.apiUrl).port);
  const resourceVersion = first.config.resourceVersion;
  await first.stop();

  assert.equal((await configDump(adminUrl)).version, served.version, 'the proxy serves on without skiffd');

  // Same state directory and ports: what a restart after a crash looks like to the proxy (the
  // API's URL is in its snapshot, as the trace collector's address).
  const second = await startSkiffd({ stateDir: dir, apiPort, pushPort, dashboardPort: false });
  skiffd = second;
  register(second);
  assert.equal(second.config.resourceVersion, resourceVersion);
  assert.deepEqual(second.config.list({ kind: 'VirtualService' }).map((r) => r.metadata.name), ['reviews']);
  await eventually(() => statusOf(second)?.state === 'SYNCED', 15_000, `proxy re-synced (log: ${proxyLog})`);
  const again = await configDump(adminUrl);
  assert.equal(again.content, served.content, 'the same config yields the same snapshot');
});

test('a second skiffd on the same state directory is refused while the first runs', async () => {
  await assert.rejects(startSkiffd({ stateDir: dir, apiPort: 0, pushPort: 0, dashboardPort: false }), /state directory .* (in use by process|already locked)/);
});
