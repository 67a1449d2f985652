/**
 * Client-side weighted round robin (backendUtilization): ORCA reports parsed as Envoy reads the
 * `endpoint-load-metrics` header, Envoy's weight formula, and the periods (update, expiration,
 * blackout) on a manual clock; endpoints that never report keep equal shares. Then two real
 * backends behind a real proxy, reporting different utilization: the lighter one gets
 * proportionally more requests.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCluster } from '../../../src/proxy/upstream/cluster.js';
import { createManualClock } from '../../../src/proxy/upstream/clock.js';
import { seededRandom } from '../../../src/proxy/upstream/random.js';
import { parseOrcaHeader } from '../../../src/proxy/upstream/lb/orca.js';
import { ClusterConfigError, withDefaults } from '../../../src/snapshot/index.js';
import type { ClusterConfigInput } from '../../../src/snapshot/index.js';
import type { Endpoint } from '../../../src/proxy/upstream/types.js';
import { forward, httpListener, request, routeConfig, snapshot, startProxy } from '../helpers.js';

const NAME = 'outbound|80||svc.default.svc.cluster.local';

function wrrCluster(extra: Partial<ClusterConfigInput['lb']> = {}, hosts = 2): ClusterConfigInput {
  return {
    name: NAME,
    endpoints: Array.from({ length: hosts }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 80 })),
    lb: { policy: 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN', blackoutPeriodMs: 0, weightUpdatePeriodMs: 1000, ...extra } as ClusterConfigInput['lb'],
  };
}

/** Picks `n` times; how many each host got, by its address. */
function shares(pick: () => Endpoint | undefined, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const h = pick()!;
    out[h.address] = (out[h.address] ?? 0) + 1;
  }
  return out;
}

describe('ORCA load reports', () => {
  test('TEXT and JSON forms, named metrics; anything else is no report', () => {
    assert.deepEqual(parseOrcaHeader('TEXT cpu_utilization=0.3, application_utilization=0.5, rps_fractional=12.5, eps=1, named_metrics.foo=0.4'), {
      cpuUtilization: 0.3,
      applicationUtilization: 0.5,
      rpsFractional: 12.5,
      eps: 1,
      namedMetrics: new Map([['foo', 0.4]]),
    });
    assert.deepEqual(parseOrcaHeader('JSON {"cpu_utilization": 0.7, "rps_fractional": 3, "named_metrics": {"q": 0.9}}'), {
      cpuUtilization: 0.7,
      applicationUtilization: 0,
      rpsFractional: 3,
      eps: 0,
      namedMetrics: new Map([['q', 0.9]]),
    });
    for (const bad of ['cpu_utilization=0.3', 'TEXT cpu_utilization', 'TEXT cpu_utilization=high', 'TEXT cpu_utilization=-1', 'JSON {', 'JSON [1]', 'BIN AAAA']) assert.equal(parseOrcaHeader(bad), undefined, bad);
  });
});

describe('weights from reports', () => {
  test('weight = qps / (utilization + eps/qps × penalty): a host at 20 % gets four times the share of one at 80 %', () => {
    const deps = { clock: createManualClock(), random: seededRandom(3) };
    const c = createCluster(wrrCluster(), deps);
    const [a, b] = c.endpoints;
    c.reportLoad(a, 'TEXT cpu_utilization=0.2, rps_fractional=100');
    c.reportLoad(b, 'TEXT cpu_utilization=0.8, rps_fractional=100');
    assert.deepEqual(shares(() => c.pick(), 1000), { '10.0.0.1': 800, '10.0.0.2': 200 });
    // Errors count against the host: 50 eps at qps 100 with penalty 1 adds 0.5 to its utilization.
    c.reportLoad(a, 'TEXT cpu_utilization=0.2, rps_fractional=100, eps=50');
    deps.clock.advance(1000);
    // a: 100 / 0.7, b: 100 / 0.8 → 8 : 7.
    assert.deepEqual(shares(() => c.pick(), 1500), { '10.0.0.1': 800, '10.0.0.2': 700 });
  });

  test('application_utilization before the named metrics before cpu_utilization; a report without qps or utilization is ignored', () => {
    const deps = { clock: createManualClock(), random: seededRandom(3) };
    const c = createCluster(wrrCluster({ metricNamesForComputingUtilization: ['queue', 'mem'] }, 3), deps);
    const [a, b, d] = c.endpoints;
    c.reportLoad(a, 'TEXT application_utilization=0.25, cpu_utilization=0.9, rps_fractional=10');
    c.reportLoad(b, 'TEXT named_metrics.queue=0.2, named_metrics.mem=0.5, cpu_utilization=0.9, rps_fractional=10');
    c.reportLoad(d, 'TEXT cpu_utilization=1, rps_fractional=10');
    // 10/0.25 = 40, 10/0.5 = 20, 10/1 = 10.
    assert.deepEqual(shares(() => c.pick(), 700), { '10.0.0.1': 400, '10.0.0.2': 200, '10.0.0.3': 100 });
    c.reportLoad(d, 'TEXT cpu_utilization=0, rps_fractional=10');
    c.reportLoad(d, 'TEXT cpu_utilization=0.5, rps_fractional=0');
    c.reportLoad(d, 'not an orca report');
    deps.clock.advance(1000);
    assert.deepEqual(shares(() => c.pick(), 700), { '10.0.0.1': 400, '10.0.0.2': 200, '10.0.0.3': 100 }, 'the earlier report stands');
  });

  test('a host that never reports gets the median of the others\' weights; with no reports at all every host is equal', () => {
    const deps = { clock: createManualClock(), random: seededRandom(5) };
    const c = createCluster(wrrCluster({}, 4), deps);
    assert.deepEqual(shares(() => c.pick(), 400), { '10.0.0.1': 100, '10.0.0.2': 100, '10.0.0.3': 100, '10.0.0.4': 100 });
    const [a, b, d] = c.endpoints;
    c.reportLoad(a, 'TEXT cpu_utilization=0.1, rps_fractional=10'); // 100
    c.reportLoad(b, 'TEXT cpu_utilization=0.2, rps_fractional=10'); // 50
    c.reportLoad(d, 'TEXT cpu_utilization=0.5, rps_fractional=10'); // 20
    deps.clock.advance(1000);
    // The fourth, silent, weighs the median: 50.
    assert.deepEqual(shares(() => c.pick(), 2200), { '10.0.0.1': 1000, '10.0.0.2': 500, '10.0.0.3': 200, '10.0.0.4': 500 });
  });

  test('weights change only every weightUpdatePeriod, count only after the blackout, and lapse after the expiration period', () => {
    const deps = { clock: createManualClock(), random: seededRandom(7) };
    const c = createCluster(wrrCluster({ weightUpdatePeriodMs: 5000, blackoutPeriodMs: 10_000, weightExpirationPeriodMs: 60_000 }), deps);
    const [a, b] = c.endpoints;
    const report = (): void => {
      c.reportLoad(a, 'TEXT cpu_utilization=0.25, rps_fractional=100');
      c.reportLoad(b, 'TEXT cpu_utilization=0.75, rps_fractional=100');
    };
    report();
    assert.deepEqual(shares(() => c.pick(), 100), { '10.0.0.1': 50, '10.0.0.2': 50 }, 'in blackout: equal');
    deps.clock.advance(10_000);
    report();
    assert.deepEqual(shares(() => c.pick(), 100), { '10.0.0.1': 75, '10.0.0.2': 25 }, 'after the blackout, at the next update: 3 : 1');
    // Between updates a new report does not move the weights yet.
    c.reportLoad(b, 'TEXT cpu_utilization=0.25, rps_fractional=100');
    assert.deepEqual(shares(() => c.pick(), 100), { '10.0.0.1': 75, '10.0.0.2': 25 });
    deps.clock.advance(5000);
    assert.deepEqual(shares(() => c.pick(), 100), { '10.0.0.1': 50, '10.0.0.2': 50 }, 'the next update takes it');
    // Silence past the expiration period: back to equal, and a new report waits out the blackout again.
    c.reportLoad(b, 'TEXT cpu_utilization=0.75, rps_fractional=100');
    deps.clock.advance(60_000);
    assert.deepEqual(shares(() => c.pick(), 100), { '10.0.0.1': 50, '10.0.0.2': 50 }, 'expired');
    report();
    deps.clock.advance(5000);
    assert.deepEqual(shares(() => c.pick(), 100), { '10.0.0.1': 50, '10.0.0.2': 50 }, 'blackout again after expiry');
  });

  test('the snapshot\'s settings are checked and completed with Envoy\'s defaults', () => {
    const resolved = withDefaults({ name: NAME, lb: { policy: 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN', weightUpdatePeriodMs: 10 } });
    assert.deepEqual(resolved.lb, {
      policy: 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN',
      weightUpdatePeriodMs: 100,
      weightExpirationPeriodMs: 180_000,
      blackoutPeriodMs: 10_000,
      errorUtilizationPenalty: 1,
      metricNamesForComputingUtilization: [],
    });
    assert.throws(() => withDefaults({ name: NAME, lb: { policy: 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN', errorUtilizationPenalty: -1 } }), (err: unknown) => err instanceof ClusterConfigError && /lb\.errorUtilizationPenalty: must be a number >= 0/.test(err.message));
    assert.throws(() => withDefaults({ name: NAME, lb: { policy: 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN', metricNamesForComputingUtilization: [''] } }), /lb\.metricNamesForComputingUtilization: must be a list of metric names/);
  });
});

/** A backend that answers every request with its load report. */
async function reportingBackend(report: string): Promise<{ port: number; hits: number; close(): Promise<void> }> {
  const state = { hits: 0 };
  const server = http.createServer((req, res) => {
    state.hits++;
    res.writeHead(200, { 'endpoint-load-metrics': report, 'content-type': 'text/plain' });
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get hits() {
      return state.hits;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

test('two real backends: the one reporting 25 % utilization gets three times the requests of the one at 75 %', async () => {
  const light = await reportingBackend('TEXT cpu_utilization=0.25, rps_fractional=40');
  const heavy = await reportingBackend('TEXT cpu_utilization=0.75, rps_fractional=40');
  const proxy = await startProxy(
    snapshot({
      listeners: [httpListener('out', 'out')],
      routes: [routeConfig('out', [{ name: 'svc', domains: ['*'], routes: [forward('all', NAME)] }])],
      clusters: [
        {
          name: NAME,
          endpoints: [light.port, heavy.port].map((port) => ({ address: '127.0.0.1', port })),
          lb: { policy: 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN', blackoutPeriodMs: 0, weightUpdatePeriodMs: 1000 },
        },
      ],
    }),
  );
  try {
    const send = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) assert.equal((await request(proxy.port('out'), '/', { headers: { host: 'svc' } })).status, 200);
    };
    // Until both have reported, round robin; the weights are taken at the next update.
    await send(4);
    assert.deepEqual([light.hits, heavy.hits], [2, 2]);
    await new Promise((r) => setTimeout(r, 1100));
    const [l0, h0] = [light.hits, heavy.hits];
    await send(200);
    const [l, h] = [light.hits - l0, heavy.hits - h0];
    // Weights 40/0.25 = 160 and 40/0.75 ≈ 53: three to one (the update period may fall once within the run).
    assert.ok(l >= 145 && l <= 155 && h === 200 - l, `light ${l}, heavy ${h}`);
  } finally {
    await proxy.close();
    await light.close();
    await heavy.close();
  }
});
