/**
 * Config changes are live and safe: Bookinfo's reviews v1 and v2 under a steady load, through
 * the ingress gateway (gateway → productpage → reviews → ratings) and from inside the mesh
 * (`skiff exec deploy/fortio-deploy` → its sidecar → reviews), while VirtualServices and
 * DestinationRules are applied, replaced and deleted and reviews-v2 is rolled out again. The
 * routing follows every change for each request sent once all proxies acknowledged it (kept-alive
 * connections included), and not one request fails on the way.
 * Prints how long each change took from the store to the last proxy's ACK.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startExecLoad } from './exec-load.js';
import { eventually, startMesh } from './harness.js';
import type { Mesh } from './harness.js';
import { propagationMs, watchPropagation } from './propagation.js';
import { CLIENT_WORKLOAD, GATEWAY_REVIEWS_PATH, MESH_REVIEWS_URL, bookinfoDir, reviewsMeshFiles, reviewsTo, rolloutRestart } from './reviews-mesh.js';
import { SteadyLoad, failures, sentBetween, versionCounts } from './steady-load.js';

const RPS = 50;
/** Answers each path must give after a change before its routing is judged. */
const SAMPLE = 40;

/** The reviews DestinationRule with a load-balancing policy and the given subsets (name → version label). */
const reviewsRule = (subsets: Record<string, string>): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      simple: LEAST_REQUEST
  subsets:
${Object.entries(subsets)
  .map(([name, version]) => `  - name: ${name}\n    labels:\n      version: ${version}\n`)
  .join('')}`;

interface Step {
  what: string;
  change: (mesh: Mesh) => Promise<unknown>;
  /** Which versions serve once every proxy has the change. */
  expect: 'v1' | 'v2' | 'both';
  /** Whether store → last ACK is a figure worth printing (not when pods start in between). */
  timed?: false;
}

/** Waits until every workload is rolled out and ready (skiffd's readiness, as `skiff up --detach` waits for it). */
async function rolledOut(mesh: Mesh): Promise<void> {
  const res = await fetch(`${mesh.apiUrl}/api/v1/ready?timeoutMs=60000`, { headers: mesh.apiHeaders() });
  assert.equal(res.status, 200, await res.text());
  await mesh.settle();
}

const steps = (appFile: string): Step[] => [
  { what: 'apply virtual-service-all-v1.yaml (reviews → v1)', change: (m) => m.apply(join(bookinfoDir, 'networking/virtual-service-all-v1.yaml')), expect: 'v1' },
  { what: 'replace VirtualService reviews (→ v2)', change: (m) => m.apply(reviewsTo('v2')), expect: 'v2' },
  { what: 'delete VirtualService reviews', change: (m) => m.delete(reviewsTo('v2')), expect: 'both' },
  {
    what: 'rollout restart of Deployment reviews-v2 (its pod replaced)',
    change: async (m) => {
      const v2Pods = (): string[] => m.pods().filter((p) => p.name.startsWith('reviews-v2-')).map((p) => p.name);
      const [before] = v2Pods();
      await m.apply(rolloutRestart(appFile, 'reviews-v2'));
      await rolledOut(m);
      const after = v2Pods();
      assert.equal(after.length, 1, `one reviews-v2 pod: ${after.join(' ')}`);
      assert.notEqual(after[0], before, 'the pod was replaced');
    },
    expect: 'both',
    timed: false,
  },
  { what: 'change DestinationRule reviews (LEAST_REQUEST, new subset canary)', change: (m) => m.apply(reviewsRule({ v1: 'v1', v2: 'v2', canary: 'v2' })), expect: 'both' },
  { what: 'apply VirtualService reviews → canary (the subset applied before)', change: (m) => m.apply(reviewsTo('canary')), expect: 'v2' },
  {
    what: 'apply DestinationRule (subset stable added, canary removed) and VirtualService reviews → stable in one file',
    change: (m) => m.apply(`${reviewsRule({ v1: 'v1', v2: 'v2', stable: 'v1' })}---\n${reviewsTo('stable')}`),
    expect: 'v1',
  },
];

let mesh: Mesh | undefined;
let work = '';
let appFile = '';

describe('live config changes under steady load', { timeout: 300_000 }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-live-config-'));
    const files = await reviewsMeshFiles(work);
    appFile = files[0];
    mesh = await startMesh({ files });
  });
  after(async () => {
    await mesh?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test('VirtualService apply, replace and delete, a rollout, DestinationRule changes: routing follows each, no request fails', async (t) => {
    const m = mesh!;
    const gateway = new SteadyLoad({ url: `${m.ingressUrl}${GATEWAY_REVIEWS_PATH}`, rps: RPS, proxy: null });
    const inside = startExecLoad(m.stateDir, CLIENT_WORKLOAD, MESH_REVIEWS_URL, RPS);
    const paths = { 'ingress gateway': gateway.records, 'fortio sidecar': inside.records };
    const figures: string[] = [];
    let stopped = false;
    const stopLoads = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      await Promise.all([gateway.stop(), inside.stop()]);
    };
    try {
      const enough = (from: number): boolean => Object.values(paths).every((records) => sentBetween(records, from).length >= SAMPLE);
      const start = Date.now();
      await eventually(() => enough(start), 'both loads to get answers');
      for (const [path, records] of Object.entries(paths)) {
        assert.deepEqual(Object.keys(versionCounts(records)).sort(), ['v1', 'v2'], `${path}: both versions serve before any routing`);
      }

      for (const step of steps(appFile)) {
        const watch = await watchPropagation(m);
        await step.change(m);
        const settledAt = Date.now();
        const seen = await watch.stop();
        const ms = propagationMs(seen);
        if (step.timed !== false) figures.push(`${step.what}: store → last ACK ${ms === undefined ? 'not seen' : `${ms} ms`} (${seen.proxies.length} proxies)`);
        await eventually(() => enough(settledAt), `${SAMPLE} answers on each path after: ${step.what}`);
        for (const [path, records] of Object.entries(paths)) {
          const counts = versionCounts(sentBetween(records, settledAt));
          const served = Object.keys(counts).sort();
          const why = `${path} after "${step.what}": ${JSON.stringify(counts)}\n${failures(path, records).join('\n')}`;
          assert.deepEqual(served, step.expect === 'both' ? ['v1', 'v2'] : [step.expect], why);
        }
      }
      await stopLoads();

      const total = Object.values(paths).reduce((n, records) => n + records.length, 0);
      figures.push(`requests: ${Object.entries(paths).map(([path, records]) => `${records.length} through the ${path}`).join(', ')}`);
      for (const f of figures) t.diagnostic(f);
      const problems = Object.entries(paths).flatMap(([path, records]) => failures(path, records));
      assert.deepEqual(problems, [], `of ${total} requests, these failed`);
    } finally {
      await stopLoads().catch(() => undefined);
    }
  });
});
