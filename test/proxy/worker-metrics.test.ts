/**
 * `skiff proxy --concurrency 2`: requests are served by both workers, and the metrics port
 * (served by the first) reports the whole proxy — every worker's requests summed — both as
 * Prometheus text and as the JSON dump skiffd reads; so does the admin port's `/stats`, each
 * figure combined by what it is (counts summed, config and process state once).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { skiffBin, stopProcess } from '../helpers/cli.js';
import { checkScrape } from '../helpers/promtool.js';
import { cluster, echo, eventually, forward, httpListener, request, routeConfig, snapshot, startBackend } from './helpers.js';
import type { Backend } from './helpers.js';
import { mergeMetricsDumps } from '../../src/telemetry/metrics/istio-metrics.js';
import { combineWorkerStats } from '../../src/proxy/admin/worker-stats.js';
import type { MetricsDump } from '../../src/telemetry/metrics/istio-metrics.js';
import { Disposer } from '../helpers/disposer.js';

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** `/stats` text as name → value. */
function statsOf(text: string): Map<string, number> {
  return new Map([...text.matchAll(/^(\S+): (-?\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
}

/** The sum of every `istio_requests_total` sample in Prometheus text. */
function requestsTotal(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/^istio_requests_total\{[^}]*\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}

describe('skiff proxy --concurrency 2: metrics of every worker', () => {
  let dir: string;
  let backend: Backend;
  let child: ChildProcess | null = null;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    dir = disposer.tempDir('skiff-workers-');
    // The proxy a test starts: killed first, before what it serves from.
    disposer.defer(() => (child === null ? undefined : stopProcess(child, { signal: 'SIGKILL' })));
    backend = disposer.add(await startBackend(echo('one')), (r) => r.close());
  }));

  after(() => disposer.drain());

  test('the metrics port counts the requests both workers served', async () => {
    const file = join(dir, 'snapshot.json');
    const snap = snapshot({
      listeners: [httpListener('out', 'r')],
      routes: [routeConfig('r', [{ name: 'all', domains: ['*'], routes: [forward('a', 'svc')] }])],
      clusters: [cluster('svc', [backend.port])],
    });
    writeFileSync(file, JSON.stringify(snap));
    const args = [skiffBin, 'proxy', '--snapshot', file, '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1'];
    args.push('--metrics-port', '0', '--metrics-address', '127.0.0.1', '--concurrency', '2', '--drain-ms', '100');
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let err = '';
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    await eventually(() => (err.match(/snapshot 1 applied/g) ?? []).length === 2 && /metrics on/.test(err) && /admin on/.test(err), 10_000, 'both workers, the metrics and admin ports');
    const port = Number(/out=127\.0\.0\.1:(\d+)/.exec(err)![1]);
    const metrics = /metrics on ([\d.]+):(\d+)/.exec(err)!;
    const base = `http://${metrics[1]}:${metrics[2]}`;

    // One connection per request: the primary hands connections to the workers in turn.
    const n = 10;
    for (let i = 0; i < n; i++) assert.equal((await request(port, '/', { headers: { host: 'x' } })).status, 200);

    let page = '';
    await eventually(async () => requestsTotal((page = await get(`${base}/stats/prometheus`))) === n, 5000, `istio_requests_total to sum to ${n}`);
    await checkScrape(page, 'the metrics port of a proxy with two workers');
    const dump = JSON.parse(await get(`${base}/stats/istio`)) as MetricsDump;
    assert.equal(
      dump.http.reduce((sum, s) => sum + s.requests, 0),
      n,
      'the JSON dump sums the workers too',
    );
    assert.equal(new Set(dump.http.map((s) => s.labels)).size, dump.http.length, 'one entry per label set');

    // The admin port's /stats: the requests of both workers, the config once.
    const admin = /admin on ([\d.]+):(\d+)/.exec(err)!;
    const stats = statsOf(await get(`http://${admin[1]}:${admin[2]}/stats`));
    assert.equal(stats.get('http.out.downstream_rq_total'), n, 'requests of both workers');
    assert.equal(stats.get('cluster.svc.upstream_rq_total'), n, 'upstream requests of both workers');
    assert.equal(stats.get('cluster.svc.membership_total'), 1, 'one endpoint, not one per worker');
    assert.equal(stats.get('server.concurrency'), 2);
    assert.equal(stats.get('cluster_manager.active_clusters'), 1);
    const filtered = await get(`http://${admin[1]}:${admin[2]}/stats?filter=^http\\.out\\.downstream_rq_total$`);
    assert.equal(filtered, `http.out.downstream_rq_total: ${n}\n`);

    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    child = null;
  });

  test('merging dumps adds counters and histogram buckets by label set', () => {
    const a: MetricsDump = { http: [{ labels: 'x="1"', requests: 2, h: [[[1, 1], 10, 2]] }], tcp: [{ labels: 't', opened: 1, closed: 0, sent: 5, received: 6 }] };
    const b: MetricsDump = {
      http: [
        { labels: 'x="1"', requests: 3, h: [[[0, 3], 30, 3]] },
        { labels: 'x="2"', requests: 1, h: [[[1, 0], 1, 1]] },
      ],
      tcp: [{ labels: 't', opened: 2, closed: 2, sent: 1, received: 1 }],
    };
    const m = mergeMetricsDumps([a, b]);
    assert.deepEqual(m.http, [
      { labels: 'x="1"', requests: 5, h: [[[1, 4], 40, 5]] },
      { labels: 'x="2"', requests: 1, h: [[[1, 0], 1, 1]] },
    ]);
    assert.deepEqual(m.tcp, [{ labels: 't', opened: 3, closed: 2, sent: 6, received: 7 }]);
    assert.deepEqual(a.http[0].h[0][0], [1, 1], 'the inputs are left as they were');
  });

  test('combining workers\' stats: counts summed, config and process state once, breakers open anywhere and closest to their limit', () => {
    const first = new Map([
      ['cluster.svc.upstream_rq_total', 4],
      ['cluster.svc.upstream_rq_active', 1],
      ['cluster.svc.membership_total', 2],
      ['cluster.svc.circuit_breakers.default.rq_open', 0],
      ['cluster.svc.circuit_breakers.default.remaining_rq', 90],
      ['cluster.svc.outlier_detection.ejections_active', 0],
      ['server.uptime', 7],
      ['listener_manager.total_listeners_active', 3],
    ]);
    const second = new Map([
      ['cluster.svc.upstream_rq_total', 6],
      ['cluster.svc.upstream_rq_active', 2],
      ['cluster.svc.membership_total', 2],
      ['cluster.svc.circuit_breakers.default.rq_open', 1],
      ['cluster.svc.circuit_breakers.default.remaining_rq', 0],
      ['cluster.svc.outlier_detection.ejections_active', 1],
      ['server.uptime', 7],
      ['listener_manager.total_listeners_active', 3],
      ['cluster.other.upstream_rq_total', 1],
    ]);
    assert.deepEqual(Object.fromEntries(combineWorkerStats(first, [second])), {
      'cluster.svc.upstream_rq_total': 10,
      'cluster.svc.upstream_rq_active': 3,
      'cluster.svc.membership_total': 2,
      'cluster.svc.circuit_breakers.default.rq_open': 1,
      'cluster.svc.circuit_breakers.default.remaining_rq': 0,
      'cluster.svc.outlier_detection.ejections_active': 1,
      'server.uptime': 7,
      'listener_manager.total_listeners_active': 3,
      'cluster.other.upstream_rq_total': 1,
    });
    assert.equal(first.get('cluster.svc.upstream_rq_total'), 4, 'the inputs are left as they were');
  });
});
