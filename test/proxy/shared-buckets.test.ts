/**
 * `skiff proxy --concurrency 2` with a local rate limit: the two workers share the primary's
 * token buckets, so a limit of four per minute admits exactly four requests whichever worker
 * serves them (each request on its own connection, which the primary hands to the workers in
 * turn: with a bucket each, eight would pass), and the rest are answered 429 local_rate_limited.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skiffBin, stopProcess } from '../helpers/cli.js';
import { cluster, eventually, forward, httpListener, request, routeConfig, snapshot, startBackend } from './helpers.js';
import type { Backend } from './helpers.js';
import { Disposer } from '../helpers/disposer.js';

describe('skiff proxy --concurrency 2: one token bucket for both workers', () => {
  let dir: string;
  let backend: Backend;
  let child: ChildProcess | null = null;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    dir = disposer.tempDir('skiff-buckets-');
    // The proxy a test starts: killed first, before what it serves from.
    disposer.defer(() => (child === null ? undefined : stopProcess(child, { signal: 'SIGKILL' })));
    backend = disposer.add(await startBackend((_req, res) => res.end('ok')), (r) => r.close());
  }));

  after(() => disposer.drain());

  test('four tokens a minute admit four requests in all, then 429 local_rate_limited', async () => {
    const file = join(dir, 'snapshot.json');
    const snap = snapshot({
      listeners: [
        httpListener('out', 'r', {
          http: {
            routeConfig: 'r',
            rateLimits: [{ type: 'local', local: { statPrefix: 'rl', tokenBucket: { maxTokens: 4, tokensPerFill: 4, fillIntervalMs: 60_000 }, enabledPercent: 100, enforcedPercent: 100 } }],
          },
        }),
      ],
      routes: [routeConfig('r', [{ name: 'all', domains: ['*'], routes: [forward('a', 'svc')] }])],
      clusters: [cluster('svc', [backend.port])],
    });
    writeFileSync(file, JSON.stringify(snap));
    const args = [skiffBin, 'proxy', '--snapshot', file, '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1', '--metrics-port', '0', '--metrics-address', '127.0.0.1', '--concurrency', '2', '--drain-ms', '100'];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    await eventually(() => (err.match(/snapshot 1 applied/g) ?? []).length === 2, 10_000, 'both workers');
    const port = Number(/out=127\.0\.0\.1:(\d+)/.exec(err)![1]);
    const statuses: number[] = [];
    const bodies: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await request(port, '/', { headers: { host: 'x' } });
      statuses.push(r.status);
      if (r.status !== 200) bodies.push(r.body);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429, 429, 429, 429, 429]);
    assert.deepEqual(new Set(bodies), new Set(['local_rate_limited']));
  });
});
