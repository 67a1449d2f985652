/**
 * Connections that send FIN and nothing else, many more of them than the proxy has file
 * descriptors: the real `skiff proxy` process runs with a descriptor limit of 256 (set by a shell
 * wrapper), 600 such connections come and go, and the proxy must close each one, serve a normal
 * request afterwards, and be back to the sockets it had before.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skiffBin, stopProcess } from '../helpers/cli.js';
import { cluster, echo, eventually, forward, httpListener, request, routeConfig, snapshot, startBackend } from './helpers.js';
import type { Backend } from './helpers.js';
import { WireClient } from './wire/raw-peers.js';
import { Disposer } from '../helpers/disposer.js';

const FD_LIMIT = 256;
const CONNECTIONS = 600;
const AT_ONCE = 50;

/** Sockets the process holds open, read from /proc. */
function openSockets(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed while listing
    }
  }
  return n;
}

describe('FIN-only connections under a low descriptor limit', () => {
  let dir: string;
  let backend: Backend;
  let child: ChildProcess;
  let port: number;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    dir = disposer.tempDir('skiff-half-close-');
    backend = disposer.add(await startBackend(echo('app')), (r) => r.close());
    const file = join(dir, 'snapshot.json');
    writeFileSync(
      file,
      JSON.stringify(
        snapshot({
          listeners: [httpListener('out', 'r')],
          routes: [routeConfig('r', [{ name: 'all', domains: ['*'], routes: [forward('a', 'svc')] }])],
          clusters: [cluster('svc', [backend.port])],
        }),
      ),
    );
    // `exec` keeps the pid: the shell becomes the proxy, with the lowered limit.
    child = spawn('sh', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, process.execPath, skiffBin, 'proxy', '--snapshot', file, '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    disposer.add(child, (c) => stopProcess(c, { signal: 'SIGKILL' }));
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await eventually(() => /listeners: out=127\.0\.0\.1:\d+/.test(stderr), 15_000, 'the proxy to start');
    port = Number(/out=127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
  }));

  after(() => disposer.drain());

  test(`${CONNECTIONS} connections that only send FIN are all closed; the proxy serves on`, { timeout: 120_000 }, async () => {
    assert.equal((await request(port, '/', { headers: { host: 'svc' } })).status, 200);
    const baseline = openSockets(child.pid!);
    for (let done = 0; done < CONNECTIONS; done += AT_ONCE) {
      await Promise.all(
        Array.from({ length: AT_ONCE }, async () => {
          const client = await WireClient.connect(port);
          try {
            client.end();
            assert.equal((await client.readUntilClose()).length, 0, 'closed without an answer');
          } finally {
            client.close();
          }
        }),
      );
    }
    const res = await request(port, '/', { headers: { host: 'svc' } });
    assert.equal(res.status, 200, 'a normal request after the FIN-only connections');
    await eventually(() => openSockets(child.pid!) <= baseline, 15_000, `the proxy's sockets to go back to ${baseline}`);
  });
});
