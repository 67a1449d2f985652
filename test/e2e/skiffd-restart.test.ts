/**
 * A skiffd restart is harmless: with steady traffic through the ingress gateway and from inside
 * the mesh, SIGKILL skiffd (its pid from `<state-dir>/skiffd.json`): the proxies keep serving
 * their last snapshot and every request still succeeds. Then run `skiff up --detach` again on
 * the same state dir, as a user would (with `--push-port 0` and `--api-port 0`, as the first
 * run: the dead skiffd's ports are taken again): it adopts the running pods (the same processes),
 * restores the applied config from the store, and every proxy re-syncs to the same config before
 * it reports ready; a change applied afterwards reaches every proxy again.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isAlive } from '../../src/cli/skiffd-client.js';
import { runSkiff } from '../helpers/cli.js';
import { startExecLoad } from './exec-load.js';
import { delay, eventually, startMesh } from './harness.js';
import type { Mesh } from './harness.js';
import { CLIENT_WORKLOAD, GATEWAY_REVIEWS_PATH, MESH_REVIEWS_URL, bookinfoDir, reviewsMeshFiles, reviewsTo } from './reviews-mesh.js';
import { SteadyLoad, failures, sentBetween, versionCounts } from './steady-load.js';

const RPS = 50;
const SAMPLE = 40;
/** How long skiffd stays dead: long enough for the proxies' reconnect backoff to reach its 2 s cap. */
const OUTAGE_MS = 3000;

interface ProxyRow {
  name: string;
  version: string;
  status: string;
}

/** `skiff proxy-status` as rows; the version's content hash is what follows the generation. */
function parseProxyStatus(stdout: string): ProxyRow[] {
  const [header, ...lines] = stdout.trim().split('\n');
  assert.match(header ?? '', /^NAME\s+KIND\s+VERSION\s+STATUS/, stdout);
  return lines.map((l) => {
    const [name, , version, status] = l.split(/\s+/);
    return { name, version, status };
  });
}

const contentHash = (version: string): string => version.slice(version.indexOf('-') + 1);

function podPids(stateDir: string): Record<string, { app?: number; proxy?: number }> {
  const file = JSON.parse(readFileSync(join(stateDir, 'runtime', 'pods.json'), 'utf8')) as { pods: Array<{ name: string; pids: { app?: number; proxy?: number } }> };
  return Object.fromEntries(file.pods.map((p) => [p.name, p.pids]));
}

const skiffdPid = (stateDir: string): number => (JSON.parse(readFileSync(join(stateDir, 'skiffd.json'), 'utf8')) as { pid: number }).pid;

let mesh: Mesh | undefined;
let work = '';

describe('skiffd killed and restarted under steady load', { timeout: 300_000 }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-restart-'));
    const files = [...(await reviewsMeshFiles(work)), join(bookinfoDir, 'networking/virtual-service-all-v1.yaml')];
    mesh = await startMesh({ files });
  });
  after(async () => {
    await mesh?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('traffic flows on the last snapshot while skiffd is dead; skiff up again adopts the pods, restores the config and re-syncs every proxy', async (t) => {
    const m = mesh!;
    const gateway = new SteadyLoad({ url: `${m.ingressUrl}${GATEWAY_REVIEWS_PATH}`, rps: RPS, proxy: null });
    const inside = startExecLoad(m.stateDir, CLIENT_WORKLOAD, MESH_REVIEWS_URL, RPS);
    const paths = { 'ingress gateway': gateway.records, 'fortio sidecar': inside.records };
    const enough = (from: number, to = Infinity): boolean => Object.values(paths).every((records) => sentBetween(records, from, to).length >= SAMPLE);
    const onlyVersion = (version: string, from: number, to = Infinity): void => {
      for (const [path, records] of Object.entries(paths)) {
        const counts = versionCounts(sentBetween(records, from, to));
        assert.deepEqual(Object.keys(counts), [version], `${path}: ${JSON.stringify(counts)}\n${failures(path, records).join('\n')}`);
      }
    };
    let stopped = false;
    const stopLoads = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      await Promise.all([gateway.stop(), inside.stop()]);
    };
    try {
      const start = Date.now();
      await eventually(() => enough(start), 'both loads to get answers');
      onlyVersion('v1', start);
      const configBefore = await m.skiff(['get', 'virtualservices', '-o', 'name']);
      const proxiesBefore = parseProxyStatus((await m.skiff(['proxy-status'])).stdout);
      const pidsBefore = podPids(m.stateDir);

      const killed = skiffdPid(m.stateDir);
      process.kill(killed, 'SIGKILL');
      await eventually(() => !isAlive(killed), 'skiffd to die');
      const killedAt = Date.now();
      await delay(OUTAGE_MS);
      const restartAt = Date.now();
      assert.ok(enough(killedAt, restartAt), 'requests kept being answered while skiffd was dead');
      onlyVersion('v1', killedAt, restartAt);

      const ingressPort = new URL(m.ingressUrl).port;
      const up = await runSkiff(['up', '--detach', '--api-port', '0', '--push-port', '0', '--dashboard-port', '0', '--ingress-port', ingressPort, '--timeout', '60', '--state-dir', m.stateDir], { timeoutMs: 90_000 });
      const readyAt = Date.now();
      assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
      const restarted = skiffdPid(m.stateDir);
      assert.match(up.stdout, new RegExp(`skiffd is running in the background \\(pid ${restarted}\\)`));
      assert.notEqual(restarted, killed);
      assert.match(up.stdout, new RegExp(`API: +${m.apiUrl}\n`), 'the dead skiffd\'s API port is taken again');
      assert.deepEqual(podPids(m.stateDir), pidsBefore, 'every pod (apps, sidecars, gateway) is adopted, none restarted');

      assert.equal((await m.skiff(['get', 'virtualservices', '-o', 'name'])).stdout, configBefore.stdout, 'the applied config is restored');
      const proxiesAfter = parseProxyStatus((await m.skiff(['proxy-status'])).stdout);
      assert.deepEqual(
        proxiesAfter.map((p) => `${p.name} ${p.status} ${contentHash(p.version)}`),
        proxiesBefore.map((p) => `${p.name} SYNCED ${contentHash(p.version)}`),
        'once skiff up returns, every proxy is connected again and SYNCED to the same config',
      );

      // The restarted skiffd drives the proxies: a change reaches both paths.
      await m.apply(reviewsTo('v2'));
      const changedAt = Date.now();
      await eventually(() => enough(changedAt), 'answers after the change');
      onlyVersion('v2', changedAt);
      await stopLoads();

      t.diagnostic(`skiffd dead for ${restartAt - killedAt} ms: ${Object.entries(paths).map(([p, r]) => `${sentBetween(r, killedAt, restartAt).length} requests through the ${p}`).join(', ')}`);
      t.diagnostic(`skiff up (restart) → every proxy SYNCED: ${readyAt - restartAt} ms`);
      const problems = Object.entries(paths).flatMap(([path, records]) => failures(path, records));
      const total = Object.values(paths).reduce((n, r) => n + r.length, 0);
      assert.deepEqual(problems, [], `of ${total} requests, these failed`);
    } finally {
      await stopLoads().catch(() => undefined);
    }
  });
});
