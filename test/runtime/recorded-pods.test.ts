/**
 * `skiff get pods` while skiffd is down: the pods come from the runtime's state file, each
 * recorded process checked now (real processes: one pod whose app and proxy run on, one whose app
 * has exited), and the command says that skiffd is not running. With nothing recorded it says
 * there are no pods.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePodsFile } from '../../src/runtime/state-file.js';
import type { PodRecord } from '../../src/runtime/state-file.js';
import { runSkiff } from '../helpers/cli.js';

let dir = '';
const children: ChildProcess[] = [];

/** A process that runs until killed, standing for an app or a proxy the runtime started. */
function idle(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

async function exited(): Promise<number> {
  const child = idle();
  const pid = child.pid!;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
  return pid;
}

function record(name: string, pids: PodRecord['pids'], over: Partial<PodRecord> = {}): PodRecord {
  return {
    name,
    namespace: 'default',
    kind: 'workload',
    owner: 'Deployment/default/httpbin',
    deployment: 'httpbin',
    hash: 'h',
    labels: { app: 'httpbin' },
    serviceAccount: 'httpbin',
    containerPortNames: {},
    ports: { app: { 8080: 41001 }, mesh: { 8080: 41002 }, outbound: 41003, admin: 41004 },
    pids,
    status: 'Running',
    ready: true,
    restarts: 0,
    startedAt: new Date().toISOString(),
    logs: { app: '', proxy: '' },
    execEnv: {},
    tools: {},
    ...over,
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-recorded-pods-'));
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

test('skiff get pods without skiffd shows the recorded pods with their processes as they are now, and says skiffd is down', async () => {
  const [app, proxy, proxy2] = [idle(), idle(), idle()];
  const deadApp = await exited();
  writePodsFile(dir, [record('httpbin-1', { app: app.pid!, proxy: proxy.pid! }), record('httpbin-2', { app: deadApp, proxy: proxy2.pid! }, { restarts: 2 })]);

  const pods = await runSkiff(['get', 'pods', '--state-dir', dir]);
  assert.equal(pods.code, 0, pods.stderr);
  assert.equal(pods.stderr, `skiffd is not running: pods as the runtime last recorded them (${join(dir, 'runtime', 'pods.json')}), each process checked now. Start it with \`skiff up\`.\n`);
  assert.match(pods.stdout, /^httpbin-1\s+2\/2\s+Running\s+0\s+\S+\s+8080→41002\(app 41001\)$/m);
  assert.match(pods.stdout, /^httpbin-2\s+0\/2\s+Error\s+2\s+\S+\s+8080→41002\(app 41001\)$/m);

  const wide = await runSkiff(['get', 'pods', '-o', 'wide', '--state-dir', dir]);
  assert.equal(wide.code, 0, wide.stderr);
  assert.match(wide.stdout, new RegExp(`^httpbin-1\\s.*\\sapp=${app.pid},proxy=${proxy.pid}\\s`, 'm'), 'both processes run');
  assert.match(wide.stdout, new RegExp(`^httpbin-2\\s.*\\sproxy=${proxy2.pid}\\s`, 'm'), 'only the proxy runs');
});

test('with nothing recorded (a runtime stopped cleanly) it says there are no pods while skiffd is not running', async () => {
  writePodsFile(dir, []);
  const pods = await runSkiff(['get', 'pods', '--state-dir', dir]);
  assert.equal(pods.code, 0);
  assert.equal(pods.stdout, '');
  assert.match(pods.stderr, /^No resources found in default namespace \(skiffd is not running/);
});
