/**
 * `skiff up` and `skiff down` as a user runs them: in the background with `--detach` (config only,
 * and with workloads, sidecars and the ingress gateway), apply/get/delete going through the
 * running skiffd, and in the foreground stopped with Ctrl-C. Afterwards no process of the mesh
 * remains and its ports are free.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runSkiff, skiffBin } from '../helpers/cli.js';
import { isAlive } from '../../src/cli/skiffd-client.js';
import { allocatePorts, canBind } from '../../src/runtime/ports.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-up-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const httpbin = join(repoRoot, 'samples/httpbin/httpbin.yaml');
const httpbinGateway = join(repoRoot, 'samples/httpbin/httpbin-gateway.yaml');
const VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
`;

interface Info {
  apiUrl: string;
  pushUrl: string;
  pid: number;
}

const readInfo = (state: string): Info => JSON.parse(readFileSync(join(state, 'skiffd.json'), 'utf8')) as Info;

/** Every process id the runtime lists (apps, sidecars, gateway). */
function runtimePids(state: string): number[] {
  const file = JSON.parse(readFileSync(join(state, 'runtime', 'pods.json'), 'utf8')) as { pods: Array<{ pids: { app?: number; proxy?: number } }> };
  return file.pods.flatMap((p) => [p.pids.app, p.pids.proxy]).filter((p): p is number => p !== undefined);
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kills what a failed test may have left behind (never needed when the test passes). */
function killAll(pids: readonly number[]): void {
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

// The bound is on the three tests together, each starting skiffd and processes: room for a loaded machine.
describe('skiff up --detach / skiff down', { timeout: 300_000 }, () => {
  test('config only: apply, get and delete go through skiffd; up twice is refused; down stops it', async () => {
    const state = join(dir, 'config-only');
    const vsFile = join(dir, 'vs.yaml');
    await writeFile(vsFile, VS);
    const up = await runSkiff(['up', '--detach', '--no-runtime', '--api-port', '0', '--push-port', '0', '--dashboard-port', '0', '--state-dir', state, '-f', vsFile]);
    let pid = 0;
    try {
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stdout, /^virtualservice\.networking\.istio\.io\/reviews created$/m);
      assert.match(up.stdout, /skiffd is running in the background \(pid \d+\)/);
      const info = readInfo(state);
      pid = info.pid;
      assert.ok(isAlive(pid));
      assert.match(up.stdout, new RegExp(`API: +${info.apiUrl}`));

      // skiffd holds the state directory: these succeed only through its API.
      const applied = await runSkiff(['apply', '-f', '-', '--state-dir', state], { input: VS.replace('name: reviews', 'name: ratings').replaceAll('reviews', 'ratings') });
      assert.equal(applied.stdout, 'virtualservice.networking.istio.io/ratings created\n', applied.stderr);
      const listed = await runSkiff(['get', 'vs', '-o', 'name', '--state-dir', state]);
      assert.equal(listed.stdout, 'virtualservice.networking.istio.io/ratings\nvirtualservice.networking.istio.io/reviews\n');
      const deleted = await runSkiff(['delete', 'vs', 'ratings', '--state-dir', state]);
      assert.equal(deleted.stdout, 'virtualservice.networking.istio.io/ratings deleted\n');
      const pods = await runSkiff(['get', 'pods', '--state-dir', state]);
      assert.equal(pods.stderr, 'No resources found in default namespace.\n');

      const twice = await runSkiff(['up', '--detach', '--no-runtime', '--api-port', '0', '--push-port', '0', '--dashboard-port', '0', '--state-dir', state]);
      assert.notEqual(twice.code, 0);
      assert.match(twice.stderr, new RegExp(`skiffd is already running .*\\(pid ${pid}`));

      const down = await runSkiff(['down', '--state-dir', state]);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(down.stdout, `skiffd stopped (pid ${pid})\n`);
      assert.equal(isAlive(pid), false);
      assert.equal(existsSync(join(state, 'skiffd.json')), false);
      assert.equal(await canBind(Number(new URL(info.apiUrl).port)), true, 'the API port is free');

      // The store outlives skiffd: get reads the state directory directly now.
      const afterDown = await runSkiff(['get', 'vs', '-o', 'name', '--state-dir', state]);
      assert.equal(afterDown.stdout, 'virtualservice.networking.istio.io/reviews\n');
      const again = await runSkiff(['down', '--state-dir', state]);
      assert.equal(again.code, 0);
      assert.match(again.stderr, /skiffd is not running for .*; nothing to stop/);
    } finally {
      killAll([pid]);
    }
  });

  test('with workloads: returns once ready with the ingress URL; traffic flows through the gateway; down leaves no process', async () => {
    const state = join(dir, 'mesh');
    const [ingressPort] = await allocatePorts(1);
    const up = await runSkiff(
      ['up', '--detach', '--api-port', '0', '--push-port', '0', '--dashboard-port', '0', '--ingress-port', String(ingressPort), '--state-dir', state, '-f', httpbin, '-f', httpbinGateway],
      { timeoutMs: 90_000 },
    );
    let pids: number[] = [];
    try {
      assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
      assert.match(up.stdout, /^deployment\.apps\/httpbin created$/m);
      assert.match(up.stdout, new RegExp(`ingress: http://127\\.0\\.0\\.1:${ingressPort}`));
      pids = [readInfo(state).pid, ...runtimePids(state)];
      assert.ok(pids.length >= 4, `skiffd, httpbin and its sidecar, the gateway: ${pids.join(' ')}`);

      const res = await httpGet(`http://127.0.0.1:${ingressPort}/headers`);
      assert.equal(res.status, 200, res.body);

      const pods = await runSkiff(['get', 'pods', '--state-dir', state]);
      assert.match(pods.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+PORTS$/m);
      assert.match(pods.stdout, /^httpbin-\S+\s+2\/2\s+Running\s+0\s+\S+\s+8080→\d+/m);
      const deploy = await runSkiff(['get', 'deploy', '--state-dir', state]);
      assert.match(deploy.stdout, /^httpbin\s+1\/1\s+1\s+1\s/m);

      const down = await runSkiff(['down', '--state-dir', state], { timeoutMs: 60_000 });
      assert.equal(down.code, 0, down.stderr);
      assert.deepEqual(pids.filter(isAlive), [], 'no process of the mesh remains');
      assert.equal(await canBind(ingressPort), true, 'the ingress port is free');
    } finally {
      killAll(pids);
    }
  });

  test('a killed skiffd leaves its workloads running on their last config; down then stops them', async () => {
    const state = join(dir, 'killed');
    const [ingressPort] = await allocatePorts(1);
    const up = await runSkiff(
      ['up', '--detach', '--api-port', '0', '--push-port', '0', '--dashboard-port', '0', '--ingress-port', String(ingressPort), '--state-dir', state, '-f', httpbin, '-f', httpbinGateway],
      { timeoutMs: 90_000 },
    );
    let pids: number[] = [];
    try {
      assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
      const skiffdPid = readInfo(state).pid;
      pids = runtimePids(state);
      process.kill(skiffdPid, 'SIGKILL');
      await waitFor(() => !isAlive(skiffdPid), 'skiffd to die');
      assert.ok(pids.every(isAlive), 'the workloads outlive skiffd');
      assert.equal((await httpGet(`http://127.0.0.1:${ingressPort}/headers`)).status, 200, 'traffic flows on the last snapshot');

      const down = await runSkiff(['down', '--state-dir', state], { timeoutMs: 60_000 });
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, /^stopped \d+ processes left running by a skiffd that ended abruptly$/m);
      assert.deepEqual(pids.filter(isAlive), []);
    } finally {
      killAll(pids);
    }
  });
});

test('skiff up in the foreground, then Ctrl-C: everything stops and no process remains', { timeout: 120_000 }, async () => {
  const state = join(dir, 'foreground');
  const [ingressPort] = await allocatePorts(1);
  // Its own process group, as a shell runs a foreground job: Ctrl-C signals the whole group.
  const child = spawn(process.execPath, [skiffBin, 'up', '--api-port', '0', '--push-port', '0', '--dashboard-port', '0', '--ingress-port', String(ingressPort), '--state-dir', state, '-f', httpbin], {
    cwd: repoRoot,
    detached: true,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let pids: number[] = [];
  try {
    await waitFor(() => /pods? ready/.test(out) || child.exitCode !== null, 'the pods to be ready', 60_000);
    assert.match(out, /✔ 2 pods ready; ingress gateway at http:\/\/127\.0\.0\.1:\d+/, out);
    assert.match(out, /deployment\.apps\/httpbin created/);
    pids = [child.pid!, ...runtimePids(state)];
    assert.equal(readInfo(state).pid, child.pid);

    process.kill(-child.pid!, 'SIGINT');
    assert.equal(await exited, 0, out);
    assert.deepEqual(pids.filter(isAlive), [], `no process of the mesh remains\n${out}`);
    assert.equal(existsSync(join(state, 'skiffd.json')), false);
    assert.equal(await canBind(ingressPort), true, 'the ingress port is free');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    killAll(pids);
  }
});

test('skiff up --port-offset moves every fixed port: a second mesh runs beside the first', { timeout: 180_000 }, async () => {
  // Offsets whose ports all lie below the range the runtime draws pod ports from (21000 up).
  const fixed = [8080, 8443, 15010, 15080, 20001];
  let offset = 0;
  for (let tries = 0; tries < 50 && offset === 0; tries++) {
    const candidate = 100 + Math.floor(Math.random() * 800);
    const free = await Promise.all([candidate, candidate + 1].flatMap((o) => fixed.map((p) => canBind(p + o))));
    if (free.every(Boolean)) offset = candidate;
  }
  assert.notEqual(offset, 0, 'found two offsets whose ports are free');
  const meshes = [
    { state: join(dir, 'first'), offset },
    { state: join(dir, 'second'), offset: offset + 1 },
  ];
  let pids: number[] = [];
  try {
    for (const m of meshes) {
      const up = await runSkiff(['up', '--detach', '--port-offset', String(m.offset), '--state-dir', m.state, '-f', httpbin, '-f', httpbinGateway], { timeoutMs: 90_000 });
      assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
      assert.match(up.stdout, new RegExp(`ingress: http://127\\.0\\.0\\.1:${8080 + m.offset}\\b`));
      assert.match(up.stdout, new RegExp(`dashboard: http://127\\.0\\.0\\.1:${20001 + m.offset}\\b`));
      const info = readInfo(m.state);
      assert.equal(info.apiUrl, `http://127.0.0.1:${15080 + m.offset}`);
      assert.equal(info.pushUrl, `http://127.0.0.1:${15010 + m.offset}`);
      pids = [...pids, info.pid, ...runtimePids(m.state)];
    }
    for (const m of meshes) {
      const res = await httpGet(`http://127.0.0.1:${8080 + m.offset}/status/418`);
      assert.equal(res.status, 418, `mesh at offset ${m.offset} serves through its own gateway`);
      const pods = await runSkiff(['get', 'pods', '--state-dir', m.state]);
      assert.equal(pods.stdout.match(/^httpbin-/gm)?.length, 1, 'each mesh runs its own httpbin');
    }
    for (const m of meshes) assert.equal((await runSkiff(['down', '--state-dir', m.state], { timeoutMs: 60_000 })).code, 0);
    assert.deepEqual(pids.filter(isAlive), [], 'no process of either mesh remains');
  } finally {
    killAll(pids);
  }
});
