/**
 * The admin endpoints of a real proxy, as Envoy's admin API shapes them: what each answers
 * before and after a snapshot and after traffic, and `/logging` listing and setting the
 * process's loggers (which decide the lines the proxy writes).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminGet, cluster, echo, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from '../helpers.js';
import type { Backend, TestProxy } from '../helpers.js';
import { gatedLog, LogLevels, proxyLogLevels } from '../../../src/proxy/admin/log-levels.js';
import { Disposer } from '../../helpers/disposer.js';

const CLUSTER = 'outbound|80||svc.default.svc.cluster.local';

describe('the admin endpoints of a proxy', () => {
  let backend: Backend;
  let p: TestProxy;
  let adminPort = 0;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    // The test sets the process's log levels: put back what the other files expect.
    disposer.defer(() => proxyLogLevels.setAll('info'));
    backend = disposer.add(await startBackend(echo('svc')), (r) => r.close());
    p = disposer.add(await startProxy(null), (r) => r.close());
    adminPort = p.proxy.adminAddress()!.port;
  }));

  after(() => disposer.drain());

  test('before a snapshot: /ready and /healthz/ready answer 503, /config_dump {}', async () => {
    const ready = await adminGet(p, '/ready');
    assert.deepEqual([ready.status, ready.body], [503, 'PRE_INITIALIZING\n']);
    const health = await request(p.proxy.healthAddress()!.port, '/healthz/ready');
    assert.equal(health.status, 503);
    assert.equal((await adminGet(p, '/config_dump')).body, '{}\n');
  });

  test('after a snapshot and a request: each endpoint tells what the proxy runs', async () => {
    const snap = snapshot({
      version: 'v7',
      listeners: [httpListener('out', 'out')],
      routes: [routeConfig('out', [{ name: 'svc', domains: ['*'], routes: [forward('all', CLUSTER)] }])],
      clusters: [cluster(CLUSTER, [backend.port])],
    });
    await p.proxy.applySnapshot(snap);
    const res = await request(p.port('out'), '/hello', { headers: { host: 'svc' } });
    assert.equal(res.status, 200);

    assert.deepEqual(await adminGet(p, '/ready').then((r) => [r.status, r.body]), [200, 'LIVE\n']);
    assert.equal((await request(p.proxy.healthAddress()!.port, '/healthz/ready')).status, 200);
    const dump = JSON.parse((await adminGet(p, '/config_dump')).body) as { version: string; clusters: { name: string }[] };
    assert.equal(dump.version, 'v7');
    assert.deepEqual(dump.clusters.map((c) => c.name), [CLUSTER]);

    const listeners = await adminGet(p, '/listeners');
    assert.equal(listeners.body, `out::127.0.0.1:${p.port('out')}\n`);

    const clusters = (await adminGet(p, '/clusters')).body;
    const host = `${CLUSTER}::127.0.0.1:${backend.port}`;
    assert.match(clusters, new RegExp(`^${escape(host)}::health_flags::healthy$`, 'm'));
    assert.match(clusters, new RegExp(`^${escape(host)}::rq_success::1$`, 'm'));

    const stats = (await adminGet(p, '/stats')).body;
    assert.match(stats, new RegExp(`^cluster\\.${escape(CLUSTER)}\\.upstream_rq_200: 1$`, 'm'));
    assert.match(stats, /^http\.out\.downstream_rq_2xx: 1$/m);
    assert.match(stats, /^server\.live: 1$/m);
    const filtered = (await adminGet(p, '/stats?filter=^server\\.')).body.split('\n').filter((l) => l !== '');
    assert.ok(filtered.length > 0 && filtered.every((l) => l.startsWith('server.')), filtered.join('\n'));

    const info = JSON.parse((await adminGet(p, '/server_info')).body) as { state: string; node: { id: string } };
    assert.deepEqual([info.state, info.node.id], ['LIVE', 'sidecar~test']);

    // A proxy started without a workload identity holds no secrets.
    assert.deepEqual(JSON.parse((await adminGet(p, '/certs')).body), { identity: false, secrets: [] });

    const missing = await adminGet(p, '/nothing');
    assert.equal(missing.status, 404);
    assert.match(missing.body, /^invalid path\. admin commands are:\n\/certs\n\/clusters\n\/config_dump\n\/listeners\n\/logging\n\/ready\n\/server_info\n\/stats\n$/);
  });

  test('/logging lists the loggers; a POST sets one, several or all; a bad one changes nothing', async () => {
    assert.equal((await adminGet(p, '/logging')).body, 'active loggers:\n  config: info\n  main: info\n');
    const one = await request(adminPort, '/logging?config=debug', { method: 'POST' });
    assert.deepEqual([one.status, one.body], [200, 'active loggers:\n  config: debug\n  main: info\n']);
    const paths = await request(adminPort, '/logging?paths=config:error,main:trace', { method: 'POST' });
    assert.equal(paths.body, 'active loggers:\n  config: error\n  main: trace\n');
    const all = await request(adminPort, '/logging?level=off', { method: 'POST' });
    assert.equal(all.body, 'active loggers:\n  config: off\n  main: off\n');
    const badLevel = await request(adminPort, '/logging?level=loud', { method: 'POST' });
    assert.equal(badLevel.status, 400);
    assert.match(badLevel.body, /^unknown log level "loud" for every logger \(levels: trace, debug, info, warning, error, critical, off\)\nactive loggers:\n {2}config: off\n {2}main: off\n$/);
    const badLogger = await request(adminPort, '/logging?paths=main:info,http:debug', { method: 'POST' });
    assert.equal(badLogger.status, 400);
    assert.match(badLogger.body, /^unknown logger "http" \(loggers: config, main\)\n/);
    assert.match(badLogger.body, /main: off/, 'nothing was changed, not even the valid part');
    const get = await adminGet(p, '/logging?level=info');
    assert.equal(get.status, 405, 'changing takes a POST');
    proxyLogLevels.setAll('info');
  });
});

test('a logger writes the lines at or above its level', () => {
  const levels = new LogLevels();
  const lines: string[] = [];
  const info = gatedLog((l) => lines.push(l), 'config', 'info', levels);
  const warning = gatedLog((l) => lines.push(l), 'config', 'warning', levels);
  const main = gatedLog((l) => lines.push(l), 'main', 'info', levels);
  info('a');
  levels.set('config', 'warning');
  info('b');
  warning('c');
  main('d');
  levels.setAll('off');
  warning('e');
  main('f');
  levels.set('main', 'debug');
  main('g');
  assert.deepEqual(lines, ['a', 'c', 'd', 'g']);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
