/**
 * In-mesh gRPC through the client's sidecar: a real `@grpc/grpc-js` client run with `skiff exec`
 * in the curl workload honours its `http_proxy` and opens `CONNECT grpc-echo:7070` to its sidecar,
 * which serves the calls inside one by one, as Envoy serves calls captured by iptables: they
 * spread over both grpc-echo replicas on one channel, a VirtualService abort with
 * `grpcStatus: UNAVAILABLE` fails each call at once with code 14, and each call is an
 * `istio_requests_total` sample with its `grpc_response_status`.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { checkScrape } from '../helpers/promtool.js';
import { startMesh } from './harness.js';
import type { Mesh } from './harness.js';

const GRPC_ECHO = `apiVersion: v1
kind: Service
metadata:
  name: grpc-echo
  labels:
    app: grpc-echo
spec:
  ports:
  - name: grpc
    port: 7070
    targetPort: 17070
  selector:
    app: grpc-echo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: grpc-echo
spec:
  replicas: 2
  selector:
    matchLabels:
      app: grpc-echo
  template:
    metadata:
      labels:
        app: grpc-echo
        version: v1
      annotations:
        skiff.dev/command: "node dist/test/e2e/fixtures/grpc-echo-server.js"
    spec:
      containers:
      - name: grpc-echo
        image: skiff.test/grpc-echo:latest
        ports:
        - containerPort: 17070
`;

const ABORT_ALL = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: grpc-echo
spec:
  hosts:
  - grpc-echo
  http:
  - fault:
      abort:
        grpcStatus: UNAVAILABLE
        percentage:
          value: 100
    route:
    - destination:
        host: grpc-echo
`;

/** Each call's deadline: a call the sidecar holds ends DEADLINE_EXCEEDED (4), never hangs the test. */
const DEADLINE_MS = 10_000;

interface CallResult {
  code: number;
  hostname?: string;
  details?: string;
  /** How long the call took, shown as a diagnostic only. */
  ms: number;
}

interface ProxyInfo {
  node: { workload?: { name?: string; labels: Record<string, string> } };
  metricsUrl?: string;
}

describe('in-mesh gRPC through the sidecar (grpc-js, HTTP_PROXY)', { timeout: 240_000 }, () => {
  let mesh: Mesh;

  /** `skiff exec deploy/curl -- node grpc-client.js grpc-echo:7070 N DEADLINE`: one line per call. */
  const calls = async (t: TestContext, n: number): Promise<CallResult[]> => {
    const client = join(repoRoot, 'dist/test/e2e/fixtures/grpc-client.js');
    const res = await mesh.exec('deploy/curl', 'default', ['node', client, 'grpc-echo:7070', String(n), String(DEADLINE_MS)]);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trim().split('\n');
    assert.equal(lines.length, n, res.stdout);
    const results = lines.map((l) => JSON.parse(l) as CallResult);
    t.diagnostic(`calls: ${results.map((r) => `${r.code}${r.hostname === undefined ? '' : `@${r.hostname}`} in ${r.ms} ms`).join(', ')}`);
    return results;
  };

  /** The `istio_requests_total` samples of the curl sidecar towards grpc-echo, by grpc status. */
  const requestsByGrpcStatus = async (): Promise<Map<string, number>> => {
    const res = await fetch(`${mesh.apiUrl}/api/v1/proxies`, { headers: mesh.apiHeaders() });
    const { proxies } = (await res.json()) as { proxies: ProxyInfo[] };
    const curl = proxies.find((p) => p.node.workload?.labels.app === 'curl');
    assert.ok(curl?.metricsUrl, 'the curl sidecar has a metrics URL');
    const text = await (await fetch(curl.metricsUrl)).text();
    await checkScrape(text, curl.metricsUrl);
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^istio_requests_total\{(.*)\} (\S+)$/.exec(line);
      if (m === null || !m[1].includes('destination_service_name="grpc-echo"') || !m[1].includes('reporter="source"')) continue;
      assert.match(m[1], /request_protocol="grpc"/, line);
      const status = /grpc_response_status="([^"]*)"/.exec(m[1])?.[1] ?? '';
      out.set(status, (out.get(status) ?? 0) + Number(m[2]));
    }
    return out;
  };

  before(async () => {
    mesh = await startMesh({ files: [join(repoRoot, 'samples', 'curl', 'curl.yaml')] });
    await mesh.apply(GRPC_ECHO);
    await mesh.waitReady();
  });
  after(async () => {
    await mesh?.stop();
  });

  test('calls on one channel are balanced per call over both replicas', async (t) => {
    const results = await calls(t, 10);
    assert.deepEqual(
      results.filter((r) => r.code !== 0),
      [],
    );
    const replicas = new Set(results.map((r) => r.hostname));
    assert.equal(replicas.size, 2, `both replicas answer: ${[...replicas].join(', ')}`);
  });

  test('a VirtualService abort with grpcStatus UNAVAILABLE fails each call with code 14, and calls work again once it is gone', async (t) => {
    await mesh.apply(ABORT_ALL);
    await mesh.settle();
    const aborted = await calls(t, 3);
    assert.deepEqual(
      aborted.map((r) => r.code),
      [14, 14, 14],
      JSON.stringify(aborted),
    );
    await mesh.delete(ABORT_ALL);
    await mesh.settle();
    const ok = await calls(t, 2);
    assert.deepEqual(
      ok.map((r) => r.code),
      [0, 0],
      JSON.stringify(ok),
    );
  });

  test('istio_requests_total counts each call with its grpc_response_status', async () => {
    // The calls of the tests before: 10 + 2 answered OK, 3 aborted UNAVAILABLE.
    const byStatus = await requestsByGrpcStatus();
    assert.equal(byStatus.get('0'), 12, JSON.stringify([...byStatus]));
    assert.equal(byStatus.get('14'), 3, JSON.stringify([...byStatus]));
  });
});
