/**
 * Losing a process under load: 200 requests a second through the ingress gateway to httpbin with
 * two replicas. When one replica's app process is killed, the runtime takes the replica out of
 * httpbin's endpoints at once (as the kubelet marks the pod not ready) and restarts the app; the
 * replica comes back once its readiness passes, and no more than a handful of requests fail in
 * between (the figure is reported). When skiffd is killed, the proxies go on with their last
 * config and no request fails; `skiff up` again adopts the pods.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAlive } from '../../src/cli/skiffd-client.js';
import { repoRoot, runSkiff } from '../helpers/cli.js';
import { delay, eventually, startMesh } from './harness.js';
import type { Mesh } from './harness.js';
import { SteadyLoad, failures, sentBetween } from './steady-load.js';
import type { LoadRecord } from './steady-load.js';

const RPS = 200;
/** Answers wanted before and after an event, so each phase is seen under load. */
const SAMPLE = 200;
/** Keep-alive connections of the load, each with one request out at a time. */
const CONNECTIONS = 8;
/**
 * The most requests sent to a killed app after it died that may fail: the few that reach its
 * sidecar in the moment before the gateway hears it is gone. (Before its exit withdrew it at once,
 * the gateway kept sending it a tenth of a second's worth, the push's quiet period: about ten at
 * this rate.) Those it held when it died fail too, as under Istio; they are at most one per
 * connection of the load.
 */
const SENT_AFTER_DEATH = 4;

interface PodRow {
  name: string;
  ready: boolean;
  restarts: number;
  pids: { app?: number; proxy?: number };
}

function pods(stateDir: string): PodRow[] {
  const file = JSON.parse(readFileSync(join(stateDir, 'runtime', 'pods.json'), 'utf8')) as { pods: PodRow[] };
  return file.pods;
}

const httpbinPods = (stateDir: string): PodRow[] => pods(stateDir).filter((p) => p.name.startsWith('httpbin-'));
const skiffdPid = (stateDir: string): number => (JSON.parse(readFileSync(join(stateDir, 'skiffd.json'), 'utf8')) as { pid: number }).pid;
const failed = (records: readonly LoadRecord[]): LoadRecord[] => records.filter((r) => r.status !== 200 || r.problem !== undefined);

/** httpbin's `/status/200` answers an empty 200: nothing in the body to check. */
const emptyOk = (): { problem?: string } => ({});

let mesh: Mesh | undefined;
let work = '';

describe('a process killed under 200 requests a second through the gateway', { timeout: 300_000 }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-replica-loss-'));
    const httpbin = readFileSync(join(repoRoot, 'samples', 'httpbin', 'httpbin.yaml'), 'utf8');
    assert.match(httpbin, /replicas: 1\n/);
    const twoReplicas = join(work, 'httpbin.yaml');
    await writeFile(twoReplicas, httpbin.replace('replicas: 1\n', 'replicas: 2\n'));
    mesh = await startMesh({ files: [twoReplicas, join(repoRoot, 'samples', 'httpbin', 'httpbin-gateway.yaml')] });
    assert.equal(httpbinPods(mesh.stateDir).length, 2);
  });
  after(async () => {
    await mesh?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('one replica\'s app killed: it leaves the endpoints at once and comes back when ready; a handful of requests fail at most', async (t) => {
    const m = mesh!;
    const load = new SteadyLoad({ url: `${m.ingressUrl}/status/200`, rps: RPS, connections: CONNECTIONS, proxy: null, outcome: emptyOk });
    try {
      const start = Date.now();
      await eventually(() => sentBetween(load.records, start).length >= SAMPLE, 'answers before the kill');
      assert.deepEqual(failures('before the kill', load.records), []);
      const [victim] = httpbinPods(m.stateDir);
      assert.ok(victim?.pids.app !== undefined && victim.ready, JSON.stringify(victim));
      process.kill(victim.pids.app, 'SIGKILL');
      const killedAt = Date.now();
      // The runtime restarts the app; the replica is ready again once its readiness passes.
      await eventually(() => httpbinPods(m.stateDir).some((p) => p.name === victim.name && p.restarts > victim.restarts && p.ready), `${victim.name} to be restarted and ready`, 60_000);
      await m.waitReady();
      const backAt = Date.now();
      await eventually(() => sentBetween(load.records, backAt).length >= SAMPLE, 'answers after the replica came back');
      const records = await load.stop();

      // Counted over the whole run: a request sent just before the kill may still be at the app.
      const lost = failed(records);
      const inFlight = lost.filter((r) => /connection termination/.test(r.problem ?? '')).length;
      t.diagnostic(
        `${RPS} req/s through the gateway, one of two httpbin apps killed: ${lost.length} of ${records.length} requests failed ` +
          `(${inFlight} in flight at the app when it died, ${lost.length - inFlight} sent to it after), ${sentBetween(records, killedAt, backAt).length} sent while it was away`,
      );
      for (const line of failures('gateway', lost, 20)) t.diagnostic(line);
      const detail = `${lost.length} requests failed:\n${failures('gateway', lost, 20).join('\n')}`;
      assert.ok(inFlight <= CONNECTIONS, `more requests in flight at the app than connections of the load: ${detail}`);
      assert.ok(lost.length - inFlight <= SENT_AFTER_DEATH, `requests still sent to the dead app: ${detail}`);
    } finally {
      await load.stop().catch(() => undefined);
    }
  });

  test('skiffd killed: the proxies serve their last config and no request fails; skiff up again adopts the pods', async (t) => {
    const m = mesh!;
    const load = new SteadyLoad({ url: `${m.ingressUrl}/status/200`, rps: RPS, connections: CONNECTIONS, proxy: null, outcome: emptyOk });
    try {
      const start = Date.now();
      await eventually(() => sentBetween(load.records, start).length >= SAMPLE, 'answers before the kill');
      const killed = skiffdPid(m.stateDir);
      process.kill(killed, 'SIGKILL');
      await eventually(() => !isAlive(killed), 'skiffd to die');
      const killedAt = Date.now();
      await eventually(() => sentBetween(load.records, killedAt).length >= SAMPLE, 'answers while skiffd is dead');
      // Dead for a while yet: the proxies' reconnect attempts go on failing meanwhile.
      await delay(1000);
      const ingressPort = new URL(m.ingressUrl).port;
      const up = await runSkiff(['up', '--detach', '--api-port', '0', '--push-port', '0', '--dashboard-port', '0', '--ingress-port', ingressPort, '--timeout', '60', '--state-dir', m.stateDir], { timeoutMs: 90_000 });
      assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
      const backAt = Date.now();
      await eventually(() => sentBetween(load.records, backAt).length >= SAMPLE, 'answers after skiffd came back');
      const records = await load.stop();
      t.diagnostic(`${RPS} req/s through the gateway, skiffd killed: ${failed(records).length} of ${records.length} requests failed (${sentBetween(records, killedAt, backAt).length} sent while skiffd was away)`);
      assert.deepEqual(failures('gateway', records, 20), []);
    } finally {
      await load.stop().catch(() => undefined);
    }
  });
});
