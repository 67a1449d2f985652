/**
 * A replica whose sidecar cannot listen on a port it was given: another process binds the
 * replica's mesh port between the runtime drawing it and the sidecar binding it, so the sidecar
 * refuses its first snapshot (EADDRINUSE). The runtime, told of the refusal by skiffd, replaces
 * the replica on freshly drawn ports, and the workload becomes ready and serves through its new
 * sidecar. Real skiffd, runtime, processes and sockets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSkiffd } from '../../src/controlplane/skiffd.js';
import { createLocalRuntime } from '../../src/runtime/index.js';
import { get, repoRoot } from './helpers.js';

/** Binds `port` on 127.0.0.1 as some other program would. */
function occupy(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => s.destroy());
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

test("a replica whose sidecar finds its port taken is replaced on fresh ports and becomes ready", { timeout: 120_000 }, async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'skiff-port-taken-'));
  const lines: string[] = [];
  const skiffd = await startSkiffd({
    stateDir,
    apiPort: 0,
    pushPort: 0,
    dashboardPort: false,
    debounceMs: 20,
    log: (line) => lines.push(line),
    runtime: (ctx) => createLocalRuntime({ ...ctx, repoRoot, gateway: false, deregisterDelayMs: 0, log: (line) => lines.push(line) }),
  });
  let squatter: net.Server | undefined;
  try {
    const runtime = skiffd.runtime!;
    // Watches for the replica's ports as soon as the runtime has drawn them, and takes its mesh
    // port before the sidecar (a process still starting) gets to bind it.
    const taken = new Promise<{ pod: string; port: number }>((resolve, reject) => {
      const look = (): void => {
        const pod = runtime.pods().find((p) => p.deployment === 'httpbin');
        const port = pod?.ports.mesh[8080];
        if (pod === undefined || port === undefined) return void setImmediate(look);
        occupy(port).then((server) => {
          squatter = server;
          resolve({ pod: pod.name, port });
        }, reject);
      };
      look();
    });
    const applied = await skiffd.apply([{ name: 'httpbin.yaml', text: await readFile(join(repoRoot, 'samples', 'httpbin', 'httpbin.yaml'), 'utf8') }]);
    assert.ok(applied.ok, JSON.stringify(applied));
    const { pod: first, port } = await taken;

    await skiffd.waitReady(60_000);
    const pods = runtime.pods().filter((p) => p.deployment === 'httpbin' && p.status !== 'Terminating');
    assert.equal(pods.length, 1, JSON.stringify(pods));
    const replacement = pods[0];
    assert.notEqual(replacement.name, first, 'a new replica');
    assert.notEqual(replacement.ports.mesh[8080], port, 'on another port');
    assert.ok(replacement.ready);
    assert.ok(
      lines.some((l) => l.startsWith(`pod default/${first}: its proxy cannot listen (`) && l.includes('EADDRINUSE') && l.endsWith('replacing the pod on fresh ports')),
      lines.join('\n'),
    );
    // Served through the new replica's sidecar.
    const answer = await get(`http://127.0.0.1:${replacement.ports.mesh[8080]}/status/200`);
    assert.equal(answer.status, 200);
    assert.equal(skiffd.status().pods.ready, skiffd.status().pods.total);
  } finally {
    await skiffd.stop();
    squatter?.close();
    await rm(stateDir, { recursive: true, force: true });
  }
});
