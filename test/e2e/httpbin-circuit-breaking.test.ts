/**
 * Istio's "Circuit Breaking" task on the local mesh: httpbin behind a DestinationRule allowing one
 * connection and one pending request, loaded by the fortio client from inside the mesh. The page
 * promises a first call that succeeds, load runs whose code distributions hold 200s and 503s
 * (the 503s certain at three concurrent calls), and the client sidecar's
 * `upstream_rq_pending_overflow` counting the 503s. Run with Istio's own
 * manifests (through the image map) and with samples/httpbin and samples/fortio.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { istioSample, skipWithoutIstioSamples } from '../helpers/shared.js';
import { startMesh } from './harness.js';
import type { Mesh, MeshOptions } from './harness.js';

interface Variant {
  label: string;
  skip: string | false;
  mesh: MeshOptions;
}

const VARIANTS: readonly Variant[] = [
  {
    label: "Istio's samples",
    skip: skipWithoutIstioSamples,
    mesh: { files: [istioSample('httpbin', 'httpbin.yaml'), istioSample('httpbin', 'sample-client', 'fortio-deploy.yaml')], images: join(repoRoot, 'samples', 'images.yaml') },
  },
  {
    label: 'samples/httpbin and samples/fortio',
    skip: false,
    mesh: { files: [join(repoRoot, 'samples', 'httpbin', 'httpbin.yaml'), join(repoRoot, 'samples', 'fortio', 'fortio-deploy.yaml')] },
  },
];

/** The DestinationRule of the page, as it is written there. */
const CIRCUIT_BREAKER = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: httpbin
spec:
  host: httpbin
  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: 1
      http:
        http1MaxPendingRequests: 1
        maxRequestsPerConnection: 1
    outlierDetection:
      consecutive5xxErrors: 1
      interval: 1s
      baseEjectionTime: 3m
      maxEjectionPercent: 100
`;

const PENDING_STATS = [
  'circuit_breakers.default.remaining_pending',
  'circuit_breakers.default.rq_pending_open',
  'circuit_breakers.high.rq_pending_open',
  'upstream_rq_pending_active',
  'upstream_rq_pending_failure_eject',
  'upstream_rq_pending_overflow',
  'upstream_rq_pending_total',
];
const CLUSTER_PREFIX = 'cluster.outbound|8000||httpbin.default.svc.cluster.local.';

/** fortio's `Code 200 : 17 (85.0 %)` lines → code → count. */
function codeDistribution(output: string): Map<number, number> {
  const codes = new Map<number, number>();
  for (const m of output.matchAll(/^Code (-?\d+) : (\d+) \(\d+\.\d %\)$/gm)) codes.set(Number(m[1]), Number(m[2]));
  return codes;
}

/** What `pilot-agent request GET stats | grep httpbin | grep pending` shows: the client sidecar's admin `/stats`, filtered. */
async function pendingStats(mesh: Mesh): Promise<Map<string, number>> {
  const pod = mesh.pods().find((p) => p.name.startsWith('fortio-deploy-'));
  assert.ok(pod?.ports.admin !== undefined, 'the fortio pod has a sidecar with an admin port');
  const text = await new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: pod.ports.admin, path: '/stats', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
  const stats = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.includes('httpbin') || !line.includes('pending')) continue;
    const m = /^(\S+): (\d+)$/.exec(line);
    if (m !== null) stats.set(m[1], Number(m[2]));
  }
  return stats;
}

for (const variant of VARIANTS) {
  describe(`circuit breaking (${variant.label})`, { skip: variant.skip, timeout: 180_000 }, () => {
    let mesh: Mesh | undefined;
    const started = (): Mesh => mesh ?? assert.fail('the mesh did not start');
    before(async () => {
      if (variant.skip !== false) return;
      mesh = await startMesh(variant.mesh);
      await mesh.apply(CIRCUIT_BREAKER);
    });
    after(async () => {
      await mesh?.stop();
    });

    test('a single call with fortio curl goes through: HTTP/1.1 200 OK from envoy', async () => {
      const res = await started().exec('deploy/fortio-deploy', 'default', ['/usr/bin/fortio', 'curl', '-quiet', 'http://httpbin:8000/get']);
      assert.equal(res.code, 0, res.stderr);
      const [first] = res.stdout.split('\r\n');
      assert.equal(first, 'HTTP/1.1 200 OK');
      assert.match(res.stdout, /^server: envoy\r$/m);
      assert.match(res.stdout, /^x-envoy-upstream-service-time: \d+\r$/m);
      assert.match(res.stdout, /"url": "http:\/\/httpbin:8000\/get"/);
    });

    /** Runs the page's `fortio load` and checks what every load run shows: 200s, 503s only as pending overflows. */
    async function load(threads: number, calls: number): Promise<Map<number, number>> {
      const before = (await pendingStats(started())).get(`${CLUSTER_PREFIX}upstream_rq_pending_overflow`) ?? 0;
      const res = await started().exec('deploy/fortio-deploy', 'default', ['fortio', 'load', '-c', String(threads), '-qps', '0', '-n', String(calls), '-loglevel', 'Warning', 'http://httpbin:8000/get']);
      assert.equal(res.code, 0, res.stderr);
      const perThread = calls / threads;
      assert.match(res.stdout, new RegExp(`^Starting at max qps with ${threads} thread\\(s\\) for exactly ${calls} calls \\(${perThread} per thread \\+ 0\\)$`, 'm'));
      const codes = codeDistribution(res.stdout);
      for (const code of codes.keys()) assert.ok(code === 200 || code === 503, `a distribution of 200s and 503s only:\n${res.stdout}`);
      const rejected = codes.get(503) ?? 0;
      assert.ok((codes.get(200) ?? 0) > 0, `some calls go through:\n${res.stdout}`);
      assert.equal((codes.get(200) ?? 0) + rejected, calls, res.stdout);
      // fortio warns about each non-2xx answer at -loglevel Warning.
      assert.equal(res.stderr.split('\n').filter((l) => l === '[W] Non ok http code 503').length, rejected, res.stderr);

      const stats = await pendingStats(started());
      assert.deepEqual([...stats.keys()].sort(), PENDING_STATS.map((s) => `${CLUSTER_PREFIX}${s}`).sort(), 'the lines of `grep httpbin | grep pending`');
      assert.equal(stats.get(`${CLUSTER_PREFIX}upstream_rq_pending_overflow`)! - before, rejected, 'every 503 is a pending overflow in the client sidecar');
      assert.equal(stats.get(`${CLUSTER_PREFIX}upstream_rq_pending_active`), 0);
      return codes;
    }

    // The page's first run (-c 2) shows a few 503s in a cluster, where a new upstream connection
    // costs a network round trip; here it is a loopback connect that usually completes before the
    // client's next call, so that run may let every call through (docs/performance.md).
    test('fortio load -c 2 -n 20: 200s, and any 503 is a pending overflow counted by the client sidecar', async () => {
      await load(2, 20);
    });

    test('fortio load -c 3 -n 30 trips the breaker: 503s beside the 200s, each counted as a pending overflow', async () => {
      const codes = await load(3, 30);
      assert.ok((codes.get(503) ?? 0) > 0, 'three concurrent calls overflow one connection and one pending request');
    });

    test('without the DestinationRule the same load gets 200 for every call', async () => {
      await started().delete(CIRCUIT_BREAKER);
      try {
        const res = await started().exec('deploy/fortio-deploy', 'default', ['fortio', 'load', '-c', '2', '-qps', '0', '-n', '20', '-loglevel', 'Warning', 'http://httpbin:8000/get']);
        assert.equal(res.code, 0, res.stderr);
        assert.deepEqual([...codeDistribution(res.stdout)], [[200, 20]], res.stdout);
      } finally {
        await started().apply(CIRCUIT_BREAKER);
      }
    });
  });
}
