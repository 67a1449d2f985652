/**
 * `skiff proxy --control-plane URL --id ID` as a process: it says hello with its admin URL,
 * applies what the push server sends, serves it, and shuts down cleanly; with `--concurrency 2`
 * the primary relays snapshots to both workers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createPushServer } from '../../src/controlplane/push/server.js';
import type { PushServer } from '../../src/controlplane/push/server.js';
import { skiffBin, stopProcess } from '../helpers/cli.js';
import { cluster, echo, eventually, forward, httpListener, request, routeConfig, snapshot, startBackend } from './helpers.js';
import type { Backend } from './helpers.js';
import { Disposer } from '../helpers/disposer.js';

describe('skiff proxy --control-plane', () => {
  let backend: Backend;
  let server: PushServer;
  let broken = false;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    backend = disposer.add(await startBackend(echo('pushed')), (r) => r.close());
    server = createPushServer({
      debounceMs: 20,
      snapshotFor: (p) =>
        snapshot({
          node: { id: p.id, kind: p.node.kind, ...(p.node.workload ? { workload: p.node.workload } : {}) },
          listeners: [httpListener('out', broken ? 'nope' : 'r')],
          routes: [routeConfig('r', [{ name: 'all', domains: ['*'], routes: [forward('a', 'svc')] }])],
          clusters: [cluster('svc', [backend.port])],
        }),
    });
    disposer.add(server, (s) => s.close());
    await server.listen(0);
  }));

  after(() => disposer.drain());

  const run = (args: string[]): { proc: ChildProcess; out: () => string } => {
    const proc = spawn(process.execPath, [skiffBin, 'proxy', '--control-plane', server.url!, '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1', '--drain-ms', '100', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    disposer.add(proc, (p) => stopProcess(p, { signal: 'SIGKILL' }));
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    return { proc, out: () => stderr };
  };

  const stop = async (proc: ChildProcess): Promise<number | null> => {
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    return exited;
  };

  test('connects, applies, serves, refuses a bad snapshot, and stops on SIGTERM', async () => {
    const { proc, out } = run(['--id', 'web-1.shop', '--workload', 'web-1', '-n', 'shop', '--label', 'app=web', '--label', 'version=v1']);
    await eventually(() => server.status().some((s) => s.id === 'web-1.shop' && s.state === 'SYNCED'), 10_000, 'the proxy to sync');
    await eventually(() => /listeners: out=127\.0\.0\.1:\d+/.test(out()), 5000, 'the apply log line');
    const st = server.status().find((s) => s.id === 'web-1.shop')!;
    assert.deepEqual(st.node.workload, { name: 'web-1', namespace: 'shop', labels: { app: 'web', version: 'v1' }, serviceAccount: 'default' });
    assert.match(st.adminUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);
    const port = Number(/out=127\.0\.0\.1:(\d+)/.exec(out())![1]);
    assert.equal((await request(port, '/', { headers: { host: 'svc' } })).headers['x-backend'], 'pushed');
    const dump = await request(Number(new URL(st.adminUrl!).port), '/config_dump');
    assert.equal((JSON.parse(dump.body) as { version: string }).version, st.ackedVersion, 'the admin endpoint shows the acknowledged version');

    broken = true;
    server.pushAll('broken');
    await eventually(() => server.status().find((s) => s.id === 'web-1.shop')?.state === 'NACKED', 5000, 'the NACK');
    assert.match(out(), /snapshot \S+ rejected: listeners\[0\]\.http\.routeConfig: no route config named "nope" in routes; serving snapshot/);
    assert.equal((await request(port, '/', { headers: { host: 'svc' } })).headers['x-backend'], 'pushed');
    broken = false;
    server.pushAll('fixed');
    await eventually(() => server.status().find((s) => s.id === 'web-1.shop')?.state === 'SYNCED', 5000, 'SYNCED again');

    assert.equal(await stop(proc), 0);
    await eventually(() => !server.status().some((s) => s.id === 'web-1.shop'), 5000, 'the disconnect');
  });

  test('--concurrency 2: the primary relays snapshots to both workers', async () => {
    const { proc, out } = run(['--id', 'gw.istio-system', '--kind', 'gateway', '--concurrency', '2']);
    await eventually(() => server.status().some((s) => s.id === 'gw.istio-system' && s.state === 'SYNCED'), 15_000, 'the proxy to sync');
    const st = server.status().find((s) => s.id === 'gw.istio-system')!;
    assert.equal(st.node.kind, 'gateway');
    assert.match(st.adminUrl!, /^http:\/\/127\.0\.0\.1:\d+$/, 'the admin URL of the first worker');
    await eventually(() => /snapshot \S+ applied/.test(out()), 5000, 'the apply log line');
    // Both workers share one listener (node:cluster); the first worker's admin names its port.
    const listeners = await request(Number(new URL(st.adminUrl!).port), '/listeners');
    const port = Number(/^out::127\.0\.0\.1:(\d+)$/m.exec(listeners.body)![1]);
    for (let i = 0; i < 4; i++) assert.equal((await request(port, '/', { headers: { host: 'svc' } })).headers['x-backend'], 'pushed');
    broken = true;
    server.pushAll('broken');
    await eventually(() => server.status().find((s) => s.id === 'gw.istio-system')?.state === 'NACKED', 5000, 'the NACK from the workers');
    assert.equal(server.status().find((s) => s.id === 'gw.istio-system')!.lastNack?.path, 'listeners[0].http.routeConfig');
    broken = false;
    server.pushAll('fixed');
    await eventually(() => server.status().find((s) => s.id === 'gw.istio-system')?.state === 'SYNCED', 5000, 'SYNCED again');
    assert.equal(await stop(proc), 0);
  });

  test('refuses to start without a source or an id', async () => {
    const { proc, out } = run([]);
    const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
    assert.equal(code, 2);
    assert.match(out(), /--control-plane needs --id ID/);
  });
});
