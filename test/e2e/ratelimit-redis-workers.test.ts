/**
 * A global limit holds across a gateway's workers and the rate-limit service's replicas because
 * the counts live in one Redis: `skiff proxy --concurrency 2` (two worker processes sharing the
 * listener, connections handed out round-robin) calls two replicas of the sample service, both
 * counting in one real redis-server; together they admit exactly the configured number per window
 * and answer 429 to the rest.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { skiffBin, stopProcess } from '../helpers/cli.js';
import { tool } from '../helpers/tools.js';
import { cluster, echo, eventually, forward, httpListener, routeConfig, snapshot, startBackend } from '../proxy/helpers.js';
import type { Backend } from '../proxy/helpers.js';
import { distRoot } from '../samples/helpers.js';
import { Disposer } from '../helpers/disposer.js';

const redisTool = tool('redis-server');
const LIMIT = 5;
const RLS = 'outbound|8081||ratelimit.default.svc.cluster.local';

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** GET on a connection of its own, so the workers share the requests. */
function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

describe('a global limit across two gateway workers and two service replicas, counted in one redis-server', { skip: redisTool.skip, timeout: 120_000 }, () => {
  let dir: string;
  let backend: Backend;
  let gatewayPort = 0;
  let workerLog = '';
  let serviceLog = '';
  const statusesOf = (paths: string[]): Promise<number[]> => Promise.all(paths.map((p) => get(gatewayPort, p).catch(() => 0)));

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    dir = disposer.tempDir('skiff-rl-workers-');
    backend = disposer.add(await startBackend(echo('productpage')), (r) => r.close());
    const redisPort = await freePort();
    disposer.add(spawn(redisTool.require(), ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }), (c) => stopProcess(c, { signal: 'SIGKILL' }));

    // Two replicas of the rate-limit service, both counting in that Redis.
    const config = join(dir, 'data', 'ratelimit', 'config');
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, 'config.yaml'), `domain: ratelimit\ndescriptors:\n  - key: PATH\n    value: "/productpage"\n    rate_limit: {unit: minute, requests_per_unit: ${LIMIT}}\n`);
    const grpcPorts: number[] = [];
    for (let i = 0; i < 2; i++) {
      const [httpPort, grpcPort, debugPort] = [await freePort(), await freePort(), await freePort()];
      grpcPorts.push(grpcPort);
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, SKIFF_POD_ROOT: dir, RUNTIME_ROOT: '/data', RUNTIME_SUBDIRECTORY: 'ratelimit', HOST: '127.0.0.1', PORT: String(httpPort), PORTS: `${httpPort},${grpcPort},${debugPort}`, REDIS_URL: `127.0.0.1:${redisPort}` };
      const service = spawn(process.execPath, [join(distRoot, 'samples', 'ratelimit', 'src', 'main.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      service.stderr.setEncoding('utf8').on('data', (d: string) => (serviceLog += d));
      disposer.add(service, (c) => stopProcess(c, { signal: 'SIGKILL' }));
    }

    // The gateway: two workers, a global filter whose rate_limits send the path as PATH.
    gatewayPort = await freePort();
    const file = join(dir, 'snapshot.json');
    writeFileSync(
      file,
      JSON.stringify(
        snapshot({
          version: '1',
          node: { id: 'istio-ingressgateway', kind: 'gateway' },
          listeners: [
            httpListener('gw', 'http.8080', {
              port: gatewayPort,
              http: { routeConfig: 'http.8080', rateLimits: [{ type: 'global', global: { domain: 'ratelimit', cluster: RLS, timeoutMs: 2000, failureModeDeny: true, xRateLimitHeaders: false } }] },
            }),
          ],
          routes: [routeConfig('http.8080', [{ name: '*:8080', domains: ['*'], routes: [forward('default', 'productpage', { rateLimits: { policies: [{ actions: [{ type: 'requestHeaders', headerName: ':path', descriptorKey: 'PATH' }] }] } })] }])],
          clusters: [cluster('productpage', [backend.port]), cluster(RLS, grpcPorts, { protocol: 'http2' })],
        }),
      ),
    );
    const gateway = spawn(process.execPath, [skiffBin, 'proxy', '--snapshot', file, '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1', '--metrics-port', '0', '--concurrency', '2', '--drain-ms', '100'], { stdio: ['ignore', 'ignore', 'pipe'] });
    disposer.add(gateway, (c) => stopProcess(c, { signal: 'SIGKILL' }));
    gateway.stderr.setEncoding('utf8').on('data', (d: string) => (workerLog += d));
    await eventually(() => (workerLog.match(/snapshot 1 applied/g) ?? []).length === 2, 30_000, 'both gateway workers').catch((err: Error) => assert.fail(`${err.message}\n${workerLog}`));
    // Both replicas answer (and reach Redis) before the counted requests: a path without a limit.
    let seen: number[] = [];
    await eventually(async () => (seen = await statusesOf(['/ready-1', '/ready-2', '/ready-3', '/ready-4'])).every((s) => s === 200), 30_000, 'the service replicas').catch((err: Error) => {
      assert.fail(`${err.message}: statuses ${seen.join(' ')}\n--- gateway ---\n${workerLog}\n--- services ---\n${serviceLog}`);
    });
  }));

  after(() => disposer.drain());

  test(`${LIMIT} a minute: of 16 concurrent requests over both workers, exactly ${LIMIT} pass`, async () => {
    // Counting happens in fixed minute windows: stay clear of a window's end.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 200));
    const statuses = await Promise.all(Array.from({ length: 16 }, () => get(gatewayPort, '/productpage')));
    const passed = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    assert.deepEqual({ passed, limited }, { passed: LIMIT, limited: 16 - LIMIT }, `statuses: ${statuses.join(' ')}`);
  });
});
