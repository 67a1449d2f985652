/**
 * `skiff proxy` as a user runs it: the real executable with a snapshot file, serving traffic,
 * reloading on SIGHUP, refusing a bad file while serving on, and draining on SIGTERM.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skiffBin, stopProcess } from '../helpers/cli.js';
import { cluster, echo, eventually, forward, httpListener, request, routeConfig, snapshot, startBackend } from './helpers.js';
import type { Backend } from './helpers.js';
import { Disposer } from '../helpers/disposer.js';

describe('skiff proxy', () => {
  let dir: string;
  let file: string;
  let b1: Backend;
  let b2: Backend;
  let child: ChildProcess | null = null;
  let stderr = '';

  const write = (version: string, port: number): void =>
    writeFileSync(
      file,
      JSON.stringify(
        snapshot({
          version,
          listeners: [httpListener('out', 'r')],
          routes: [routeConfig('r', [{ name: 'all', domains: ['*'], routes: [forward('a', 'svc')] }])],
          clusters: [cluster('svc', [port])],
        }),
      ),
    );

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    dir = disposer.tempDir('skiff-proxy-');
    // The proxy a test starts: killed first, before what it serves from.
    disposer.defer(() => (child === null ? undefined : stopProcess(child, { signal: 'SIGKILL' })));
    file = join(dir, 'snapshot.json');
    b1 = disposer.add(await startBackend(echo('one')), (r) => r.close());
    b2 = disposer.add(await startBackend(echo('two')), (r) => r.close());
  }));

  after(() => disposer.drain());

  test('serves, reloads on SIGHUP, refuses a bad file, drains on SIGTERM', async () => {
    write('1', b1.port);
    const proc = spawn(process.execPath, [skiffBin, 'proxy', '--snapshot', file, '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1', '--drain-ms', '100'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await eventually(() => /listeners: out=127\.0\.0\.1:\d+/.test(stderr) && /health on/.test(stderr), 10_000, 'the proxy to start');
    const port = Number(/out=127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    const adminPort = Number(/admin on 127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    assert.equal((await request(port, '/', { headers: { host: 'x' } })).headers['x-backend'], 'one');
    assert.equal((await request(adminPort, '/ready')).body, 'LIVE\n');

    write('2', b2.port);
    proc.kill('SIGHUP');
    await eventually(() => stderr.includes('snapshot 2 applied'), 5000, 'the reload');
    assert.equal((await request(port, '/', { headers: { host: 'x' } })).headers['x-backend'], 'two');

    writeFileSync(file, '{"version": "3", "node": {"id": "x", "kind": "sidecar"}, "listeners": [{"name": "out"}]}');
    proc.kill('SIGHUP');
    await eventually(() => stderr.includes('snapshot rejected'), 5000, 'the refusal');
    assert.match(stderr, /snapshot rejected: listeners\[0\]\.address: must be a non-empty string/);
    assert.equal((await request(port, '/', { headers: { host: 'x' } })).headers['x-backend'], 'two', 'still serving the previous snapshot');

    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    child = null;
  });

  test('--concurrency 2: two workers share the listener; SIGTERM stops both', async () => {
    write('1', b1.port);
    const proc = spawn(process.execPath, [skiffBin, 'proxy', '--snapshot', file, '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1', '--concurrency', '2', '--drain-ms', '100'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    await eventually(() => (err.match(/snapshot 1 applied/g) ?? []).length === 2, 10_000, 'both workers to start');
    const ports = new Set([...err.matchAll(/out=127\.0\.0\.1:(\d+)/g)].map((m) => m[1]));
    assert.equal(ports.size, 1, 'the workers listen on one shared port');
    const port = Number([...ports][0]);
    for (let i = 0; i < 6; i++) assert.equal((await request(port, '/', { headers: { host: 'x' } })).headers['x-backend'], 'one');
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    child = null;
  });

  test('a missing snapshot file is an error naming the file', async () => {
    const proc = spawn(process.execPath, [skiffBin, 'proxy', '--snapshot', join(dir, 'nope.json'), '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
    assert.notEqual(code, 0);
    assert.match(err, /nope\.json: ENOENT/);
  });
});
