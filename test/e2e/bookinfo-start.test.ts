/**
 * `npm start`: the package's start script runs Bookinfo on the local mesh in the foreground and
 * prints the page to open. Run here with the script's own command and files, on free ports and a
 * temporary state directory so that it never takes a running mesh's ports; then Ctrl-C.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../src/cli/skiffd-client.js';
import { allocatePorts } from '../../src/runtime/ports.js';
import { repoRoot } from '../helpers/cli.js';
import { eventually } from './harness.js';
import { seenOnPage } from './bookinfo.js';

/** The app and proxy pids the runtime recorded, if it got that far. */
function podPids(state: string): number[] {
  try {
    const pods = JSON.parse(readFileSync(join(state, 'runtime', 'pods.json'), 'utf8')) as { pods: Array<{ pids: { app?: number; proxy?: number } }> };
    return pods.pods.flatMap((p) => [p.pids.app, p.pids.proxy]).filter((p): p is number => p !== undefined);
  } catch {
    return [];
  }
}

const startScript = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start;

test('npm start runs Bookinfo behind the ingress gateway in the foreground and prints the page to open; Ctrl-C stops it', { timeout: 240_000 }, async () => {
  const argv = startScript.split(/\s+/);
  assert.deepEqual(argv.slice(0, 3), ['node', 'bin/skiff.js', 'up'], `the start script runs skiff up in the foreground: ${startScript}`);
  assert.ok(!argv.includes('--detach') && !argv.includes('-d'));
  for (const file of ['samples/bookinfo/bookinfo.yaml', 'samples/bookinfo/networking/bookinfo-gateway.yaml']) assert.ok(argv.includes(file), file);

  const state = await mkdtemp(join(tmpdir(), 'skiff-start-'));
  const [ingressPort] = await allocatePorts(1);
  const extra = ['--state-dir', state, '--api-port', '0', '--push-port', '0', '--dashboard-port', '0', '--ingress-port', String(ingressPort)];
  // Its own process group, as a shell runs a foreground job: Ctrl-C signals the whole group.
  const child = spawn(process.execPath, [...argv.slice(1), ...extra], { cwd: repoRoot, detached: true, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let pids: number[] = [];
  try {
    // Generous: on a loaded 2-core CI machine seven apps and eight proxies take a while to start.
    await eventually(() => /pods ready|not ready after/.test(out) || child.exitCode !== null, 'skiff up to report readiness', 180_000).catch((err: unknown) =>
      assert.fail(`${String(err)}; skiff up printed:\n${out}`),
    );
    const productpage = `http://127.0.0.1:${ingressPort}/productpage`;
    assert.match(out, new RegExp(`✔ 7 pods ready; ingress gateway at http://127\\.0\\.0\\.1:${ingressPort}`), out);
    await eventually(() => /^ {2}dashboard: /m.test(out), 'the dashboard line');
    assert.match(out, new RegExp(`^ {2}open: +${productpage.replaceAll('.', '\\.')}$`, 'm'), out);
    assert.match(out, /^ {2}dashboard: +http:\/\/127\.0\.0\.1:\d+$/m);

    const res = await fetch(productpage);
    const body = await res.text();
    assert.match(seenOnPage({ status: res.status, headers: {}, body }), /^v[123]$/);
    pids = [child.pid!, ...podPids(state)];

    process.kill(-child.pid!, 'SIGINT');
    assert.equal(await exited, 0, out);
    assert.deepEqual(pids.filter(isAlive), [], 'no process of the mesh remains');
  } finally {
    // After a failure, Ctrl-C first so skiff up stops its pods; then whatever is left is killed,
    // including pods it started that this test never got to read.
    if (child.exitCode === null) {
      try {
        process.kill(-child.pid!, 'SIGINT');
      } catch {
        // The group is already gone.
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    }
    if (child.exitCode === null) child.kill('SIGKILL');
    for (const pid of [...pids, ...podPids(state)]) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(state, { recursive: true, force: true });
  }
});
