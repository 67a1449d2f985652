/**
 * `skiff proxy-status` and `skiff proxy-config` as a user runs them: the real CLI finds skiffd
 * through `<state-dir>/skiffd.json`, reads the status the push server keeps, and reads each
 * proxy's own admin endpoints.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPushServer } from '../../../src/controlplane/push/server.js';
import type { PushServer } from '../../../src/controlplane/push/server.js';
import { PROXY_STATUS_PATH, proxyStatusHandler } from '../../../src/controlplane/push/status-handler.js';
import type { ProxyStatusReport } from '../../../src/controlplane/push/status-handler.js';
import type { ConnectedProxy } from '../../../src/controlplane/push/types.js';
import { findProxy, parseEndpointHealth } from '../../../src/cli/proxy-tables.js';
import { ControlClient } from '../../../src/proxy/control-client.js';
import { SkiffProxy } from '../../../src/proxy/proxy.js';
import type { ProxySnapshot } from '../../../src/snapshot/index.js';
import { runSkiff } from '../../helpers/cli.js';
import { echo, eventually, startBackend } from '../../proxy/helpers.js';
import type { Backend } from '../../proxy/helpers.js';
import { TestProxy } from './proxies.js';
import { Disposer } from '../../helpers/disposer.js';

const POD = 'web-7d79d5bd5d-8zzqd';
const SVC = 'outbound|80||svc.default.svc.cluster.local';

function snapshotFor(p: ConnectedProxy, backendPort: number): ProxySnapshot {
  return {
    version: 'x',
    node: p.node,
    listeners: [
      { name: 'out', address: '127.0.0.1', port: 0, direction: 'outbound', protocol: 'http', http: { routeConfig: 'outbound' } },
      { name: 'db', address: '127.0.0.1', port: 0, direction: 'outbound', protocol: 'tcp', tcp: { routes: [{ destinations: [{ cluster: SVC, weight: 1 }] }] } },
    ],
    routes: [
      {
        name: 'outbound',
        virtualHosts: [
          {
            name: 'svc.default.svc.cluster.local:80',
            domains: ['svc', 'svc.default', 'svc.default.svc.cluster.local'],
            routes: [
              { name: 'api', match: [{ uri: { prefix: '/api' }, headers: { 'end-user': { exact: 'jason' } } }], action: { type: 'route', destinations: [{ cluster: SVC, weight: 100 }] } },
              { name: 'svc.default', match: [], action: { type: 'route', destinations: [{ cluster: SVC, weight: 100 }] } },
            ],
          },
        ],
      },
    ],
    clusters: [{ name: SVC, endpoints: [{ address: '127.0.0.1', port: backendPort }], lb: { policy: 'LEAST_REQUEST' }, metadata: { serviceHost: 'svc.default.svc.cluster.local', subset: '' } }],
  };
}

describe('skiff proxy-status and proxy-config', () => {
  let dir: string;
  let backend: Backend;
  let push: PushServer;
  let api: http.Server;
  const proxies: SkiffProxy[] = [];

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    dir = disposer.tempDir('skiff-ps-');
    backend = disposer.add(await startBackend(echo('svc')), (b) => b.close());
    push = createPushServer({ snapshotFor: (p) => snapshotFor(p, backend.port), debounceMs: 10 });
    disposer.add(push, (p) => p.close());
    await push.listen(0);
    const status = proxyStatusHandler(push);
    api = http.createServer((req, res) => {
      if (req.url === PROXY_STATUS_PATH) return status(req, res);
      res.writeHead(404).end();
    });
    disposer.add(api, (s) => new Promise<void>((resolve) => s.close(() => resolve())));
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    writeFileSync(join(dir, 'skiffd.json'), JSON.stringify({ apiUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`, pushUrl: push.url, pid: process.pid }));
    for (const [id, kind, name, ns] of [
      [`${POD}.default`, 'sidecar', POD, 'default'],
      ['istio-ingressgateway.istio-system', 'gateway', 'istio-ingressgateway', 'istio-system'],
    ] as const) {
      const proxy = disposer.add(await SkiffProxy.create({ adminPort: 0, healthPort: null }), (p) => p.close());
      const client = new ControlClient({
        url: push.url!,
        node: { id, kind, workload: { name, namespace: ns, labels: {}, serviceAccount: 'default' } },
        target: proxy,
        adminUrl: `http://127.0.0.1:${proxy.adminAddress()!.port}`,
      });
      disposer.add(client, (c) => c.close());
      client.start();
      proxies.push(proxy);
    }
    // A proxy whose listener cannot bind: its client NACKs every snapshot with the reason.
    disposer.add(await TestProxy.connect(push.url!, 'broken-1.default', { judge: () => ({ path: 'listeners[0].port', reason: 'cannot listen on 127.0.0.1:80: EACCES' }) }), (r) => r.close());
    await eventually(() => push.status().filter((s) => s.state === 'SYNCED').length === 2 && push.status().some((s) => s.state === 'NACKED'), 5000, 'the proxies to sync');
  }));

  after(() => disposer.drain());

  test('proxy-status: a row per proxy, the reason of a refusal below', async () => {
    const [r, j] = await Promise.all([runSkiff(['proxy-status', '--state-dir', dir]), runSkiff(['proxy-status', '-o', 'json', '--state-dir', dir])]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0], /^NAME\s+KIND\s+VERSION\s+STATUS\s+ADMIN\s+METRICS$/);
    const versionOf = (id: string): string => push.status().find((s) => s.id === id)!.ackedVersion!;
    assert.match(r.stdout, new RegExp(`^${POD}\\.default\\s+sidecar\\s+${versionOf(`${POD}.default`)}\\s+SYNCED\\s+http://127\\.0\\.0\\.1:\\d+\\s+<none>$`, 'm'));
    assert.match(r.stdout, /^istio-ingressgateway\.istio-system\s+gateway\s+\S+\s+SYNCED\s+http:\/\/127\.0\.0\.1:\d+/m);
    assert.match(r.stdout, /^broken-1\.default\s+sidecar\s+<none>\s+NACKED\s+<none>\s+<none>$/m);
    assert.match(r.stdout, /^broken-1\.default refused snapshot \S+: listeners\[0\]\.port: cannot listen on 127\.0\.0\.1:80: EACCES$/m);

    assert.equal(j.code, 0, j.stderr);
    const report = JSON.parse(j.stdout) as ProxyStatusReport;
    assert.deepEqual(
      report.proxies.map((p) => [p.id, p.state]),
      [
        ['broken-1.default', 'NACKED'],
        ['istio-ingressgateway.istio-system', 'SYNCED'],
        [`${POD}.default`, 'SYNCED'],
      ],
    );
  });

  test('proxy-config listeners, routes, clusters and endpoints read the running proxy', async () => {
    const [l, r, c, e, j] = await Promise.all([
      runSkiff(['proxy-config', 'listeners', POD, '--state-dir', dir]),
      runSkiff(['pc', 'routes', `${POD}.default`, '--state-dir', dir]),
      runSkiff(['proxy-config', 'clusters', 'deploy/web', '--state-dir', dir]),
      runSkiff(['proxy-config', 'endpoints', 'istio-ingressgateway', '-n', 'istio-system', '--state-dir', dir]),
      runSkiff(['proxy-config', 'clusters', POD, '-o', 'json', '--state-dir', dir]),
    ]);
    assert.equal(l.code, 0, l.stderr);
    const outPort = proxies[0].listenerAddress('out')!.port;
    assert.match(l.stdout, /^NAME\s+ADDRESS\s+PORT\s+DIRECTION\s+TYPE\s+DESTINATION$/m);
    assert.match(l.stdout, new RegExp(`^out\\s+127\\.0\\.0\\.1\\s+${outPort}\\s+outbound\\s+HTTP\\s+Route: outbound$`, 'm'), 'the bound port, not the 0 asked for');
    assert.match(l.stdout, /^db\s+127\.0\.0\.1\s+\d+\s+outbound\s+TCP\s+Cluster: outbound\|80\|\|svc\.default\.svc\.cluster\.local$/m);

    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^outbound\s+svc\.default\.svc\.cluster\.local:80\s+svc, svc\.default \+ 1 more\.\.\.\s+\/api\* end-user=jason\s+api$/m);
    assert.match(r.stdout, /^outbound\s+svc\.default\.svc\.cluster\.local:80\s+svc, svc\.default \+ 1 more\.\.\.\s+\/\*\s+svc\.default$/m);

    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /^SERVICE FQDN\s+PORT\s+SUBSET\s+DIRECTION\s+TYPE\s+LB\s+ENDPOINTS$/m);
    assert.match(c.stdout, /^svc\.default\.svc\.cluster\.local\s+80\s+-\s+outbound\s+EDS\s+LEAST_REQUEST\s+1$/m);

    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, new RegExp(`^127\\.0\\.0\\.1:${backend.port}\\s+HEALTHY\\s+OK\\s+outbound\\|80\\|\\|svc\\.default\\.svc\\.cluster\\.local$`, 'm'));

    const clusters = JSON.parse(j.stdout) as Array<{ name: string; endpoints: unknown[] }>;
    assert.equal(clusters[0].name, SVC);
  });

  test('clear errors: an unknown workload, an unknown type, no skiffd', async () => {
    const unknown = await runSkiff(['proxy-config', 'routes', 'nosuch', '--state-dir', dir]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no proxy for workload "nosuch" in namespace "default" is connected to skiffd \(connected: broken-1\.default, istio-ingressgateway\.istio-system, web-7d79d5bd5d-8zzqd\.default\)/);
    const badType = await runSkiff(['proxy-config', 'bootstrap', POD, '--state-dir', dir]);
    assert.notEqual(badType.code, 0);
    assert.match(badType.stderr, /unknown config type "bootstrap"/);
    // This proxy was started without a credential: it has no workload certificate to show.
    const noIdentity = await runSkiff(['proxy-config', 'secret', POD, '--state-dir', dir]);
    assert.notEqual(noIdentity.code, 0);
    assert.match(noIdentity.stderr, /runs without a workload identity .* so it holds no secrets/);
    const empty = mkdtempSync(join(tmpdir(), 'skiff-ps-empty-'));
    try {
      const none = await runSkiff(['proxy-status', '--state-dir', empty]);
      assert.equal(none.code, 2);
      assert.match(none.stderr, /skiffd is not running/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('proxy-config helpers', () => {
  const st = (id: string, name?: string, ns?: string): ProxyStatusReport['proxies'][number] => ({
    id,
    node: { id, kind: 'sidecar' },
    ...(name !== undefined ? { workload: { name, namespace: ns! } } : {}),
    connectedAt: 0,
    sentVersion: null,
    ackedVersion: null,
    state: 'STALE',
  });
  const all = [st('reviews-v1-abcde12345-x7k2p.default', 'reviews-v1-abcde12345-x7k2p', 'default'), st('reviews-v2-bbbbb12345-q9z2m.default'), st('reviews-v2-bbbbb12345-a1b2c.shop', 'reviews-v2-bbbbb12345-a1b2c', 'shop')];

  test('findProxy: pod, POD.NS, node id, deploy/NAME and a bare Deployment name', () => {
    assert.equal(findProxy(all, 'reviews-v1-abcde12345-x7k2p', 'default')?.id, 'reviews-v1-abcde12345-x7k2p.default');
    assert.equal(findProxy(all, 'reviews-v2-bbbbb12345-q9z2m.default', 'shop')?.id, 'reviews-v2-bbbbb12345-q9z2m.default', 'a full id ignores -n');
    assert.equal(findProxy(all, 'deploy/reviews-v2', 'shop')?.id, 'reviews-v2-bbbbb12345-a1b2c.shop');
    assert.equal(findProxy(all, 'reviews-v2', 'default')?.id, 'reviews-v2-bbbbb12345-q9z2m.default', 'the namespace from the id when the hello named no workload');
    assert.equal(findProxy(all, 'reviews', 'default'), undefined, 'a prefix of a Deployment name is no match');
    assert.equal(findProxy(all, 'reviews-v1-abcde12345-x7k2p', 'shop'), undefined);
  });

  test('parseEndpointHealth reads health flags, IPv6 hosts included', () => {
    const text = [
      'outbound|80||a.default.svc.cluster.local::127.0.0.1:8080::cx_active::0',
      'outbound|80||a.default.svc.cluster.local::127.0.0.1:8080::health_flags::healthy',
      'outbound|80||a.default.svc.cluster.local::[::1]:8081::health_flags::/failed_outlier_check',
      'outbound|80||a.default.svc.cluster.local::127.0.0.2:8080::health_flags::/failed_eds_health',
    ].join('\n');
    assert.deepEqual(parseEndpointHealth(text), [
      { cluster: 'outbound|80||a.default.svc.cluster.local', endpoint: '127.0.0.1:8080', status: 'HEALTHY', outlierCheck: 'OK' },
      { cluster: 'outbound|80||a.default.svc.cluster.local', endpoint: '[::1]:8081', status: 'HEALTHY', outlierCheck: 'FAILED' },
      { cluster: 'outbound|80||a.default.svc.cluster.local', endpoint: '127.0.0.2:8080', status: 'UNHEALTHY', outlierCheck: 'OK' },
    ]);
  });
});
