/**
 * A runtime whose host process was killed leaves its apps running (traffic keeps flowing); the
 * next runtime on the same state dir adopts those that still match the desired state and stops
 * the others, so nothing is duplicated and nothing is left behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { PodStatus } from '../../src/runtime/index.js';
import { envAppDeployment, eventually, get, isAlive, manifests, repoRoot, withRuntime } from './helpers.js';

const ports = '        ports: [{containerPort: 8080}]';

/** Starts the runtime host, resolves with its pods once ready. */
function startHost(stateDir: string, file: string): Promise<{ pid: number; pods: PodStatus[] }> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist/test/runtime/fixtures/runtime-host.js'), stateDir, file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the runtime host did not report its pods: ${out}`));
    }, 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!out.includes('\n')) return;
      clearTimeout(timer);
      resolve({ pid: child.pid!, pods: JSON.parse(out) as PodStatus[] });
    });
    child.once('exit', (code) => reject(new Error(`the runtime host exited (${code}) before reporting: ${out}`)));
  });
}

test('a killed runtime host leaves its apps serving; the next runtime adopts the matching ones and replaces the rest', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-adopt-'));
  const stateDir = join(dir, 'state');
  const file = join(dir, 'apps.yaml');
  writeFileSync(file, `${envAppDeployment('steady', { container: ports })}\n---\n${envAppDeployment('changing', { container: ports })}`);
  let leftover: number[] = [];
  try {
    const host = await startHost(stateDir, file);
    leftover = host.pods.map((p) => p.pids.app!);
    process.kill(host.pid, 'SIGKILL');
    await eventually(() => !isAlive(host.pid), 'the host is gone');

    const steady = host.pods.find((p) => p.deployment === 'steady')!;
    const changing = host.pods.find((p) => p.deployment === 'changing')!;
    assert.equal((await get(`http://127.0.0.1:${steady.ports.app[8080]}/env`)).status, 200, 'apps keep serving without their runtime');

    await withRuntime({ stateDir }, async ({ runtime, registry, lines }) => {
      const next = `${envAppDeployment('steady', { container: ports })}\n---\n${envAppDeployment('changing', { container: `${ports}\n        env: [{name: V, value: "2"}]` })}`;
      await runtime.sync(manifests(next));
      await runtime.waitReady(20_000);
      const pods = runtime.pods();
      const adopted = pods.find((p) => p.deployment === 'steady')!;
      assert.equal(adopted.name, steady.name, 'the matching pod is adopted, not duplicated');
      assert.equal(adopted.pids.app, steady.pids.app);
      assert.deepEqual(adopted.ports, steady.ports);
      assert.equal(registry.getWorkload('default', steady.name)?.ready, true);
      assert.ok(lines.some((l) => l.includes(`${steady.name}: adopted`)));

      const replaced = pods.find((p) => p.deployment === 'changing')!;
      assert.notEqual(replaced.name, changing.name);
      assert.equal(isAlive(changing.pids.app!), false, 'the outdated leftover is stopped');
      assert.equal(pods.length, 2);

      await runtime.stop();
      assert.equal(isAlive(steady.pids.app!), false, 'an adopted process stops with its new runtime');
    });
  } finally {
    for (const pid of leftover) if (isAlive(pid)) process.kill(-pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
