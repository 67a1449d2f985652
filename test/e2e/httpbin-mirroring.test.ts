/**
 * Istio's "Mirroring" task on the local mesh: httpbin v1 and v2 behind one Service, all traffic
 * routed to v1, then mirrored 100 % to v2. The page promises that the client only ever sees v1's
 * answers, that v1's access log shows each request, and that v2's shows it only once mirroring is
 * on; the copies carry the `-shadow` authority (seen in v2's sidecar access log). Run with the
 * page's own manifests and Istio's curl sample, and with samples/httpbin and samples/curl.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { istioSample, skipWithoutIstioSamples } from '../helpers/shared.js';
import { eventually, startMesh } from './harness.js';
import type { Mesh, MeshOptions } from './harness.js';

/** The page's two Deployments (Python httpbin with gunicorn's access log) and Service, as written there. */
function pageDeployment(version: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: httpbin-${version}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: httpbin
      version: ${version}
  template:
    metadata:
      labels:
        app: httpbin
        version: ${version}
    spec:
      containers:
      - image: docker.io/kennethreitz/httpbin
        imagePullPolicy: IfNotPresent
        name: httpbin
        command: ["gunicorn", "--access-logfile", "-", "-b", "0.0.0.0:80", "httpbin:app"]
        ports:
        - containerPort: 80
`;
}

const PAGE_SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: httpbin
  labels:
    app: httpbin
spec:
  ports:
  - name: http
    port: 8000
    targetPort: 80
  selector:
    app: httpbin
`;

const ALL_TO_V1 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts:
  - httpbin
  http:
  - route:
    - destination:
        host: httpbin
        subset: v1
      weight: 100
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: httpbin
spec:
  host: httpbin
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
`;

const MIRROR_TO_V2 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts:
  - httpbin
  http:
  - route:
    - destination:
        host: httpbin
        subset: v1
      weight: 100
    mirror:
      host: httpbin
      subset: v2
    mirrorPercentage:
      value: 100.0
`;

/** Envoy access logging for the whole mesh (as the demo profile's `accessLogFile: /dev/stdout`). */
const ACCESS_LOGS = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: mesh-default
  namespace: istio-system
spec:
  accessLogging:
  - providers:
    - name: envoy
`;

interface Variant {
  label: string;
  skip: string | false;
  mesh: (dir: string) => Promise<MeshOptions>;
}

const VARIANTS: readonly Variant[] = [
  {
    label: "the page's manifests and Istio's curl sample",
    skip: skipWithoutIstioSamples,
    mesh: async (dir) => {
      const file = join(dir, 'httpbin-v1-v2.yaml');
      await writeFile(file, [pageDeployment('v1'), pageDeployment('v2'), PAGE_SERVICE].join('---\n'));
      return { files: [file, istioSample('curl', 'curl.yaml')], images: join(repoRoot, 'samples', 'images.yaml') };
    },
  },
  {
    label: 'samples/httpbin and samples/curl',
    skip: false,
    mesh: () => Promise.resolve({ files: [join(repoRoot, 'samples', 'httpbin', 'httpbin-v1-v2.yaml'), join(repoRoot, 'samples', 'curl', 'curl.yaml')] }),
  },
];

const HEADERS_LINE = /"GET \/headers HTTP\/1\.1" 200 /;

function count(log: string, pattern: RegExp): number {
  return log.split('\n').filter((l) => pattern.test(l)).length;
}

for (const variant of VARIANTS) {
  describe(`mirroring (${variant.label})`, { skip: variant.skip, timeout: 180_000 }, () => {
    let mesh: Mesh | undefined;
    let tmp: string | undefined;
    const started = (): Mesh => mesh ?? assert.fail('the mesh did not start');
    const appLog = (version: string): Promise<string> => started().logs(`deploy/httpbin-${version}`, 'default');
    /**
     * `upstream_rq_total` of the v2 subset's cluster on curl's sidecar (its admin `/stats`). A
     * mirror is counted there when it starts, beside the request it copies: once curl has its
     * answer, the count says whether a copy went out.
     */
    const v2RequestsFromCurl = async (): Promise<number> => {
      const pod = started().pods().find((p) => p.name.startsWith('curl-'));
      assert.ok(pod?.ports.admin !== undefined, 'the curl pod has a sidecar with an admin port');
      const text = await new Promise<string>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: pod.ports.admin, path: '/stats', agent: false }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (d: string) => (body += d));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
      const m = /^cluster\.outbound\|8000\|v2\|httpbin\.default\.svc\.cluster\.local\.upstream_rq_total: (\d+)$/m.exec(text);
      return m === null ? 0 : Number(m[1]);
    };
    const curlHeaders = async (): Promise<string> => {
      const res = await started().exec('deploy/curl', 'default', ['curl', '-sS', 'http://httpbin:8000/headers']);
      assert.equal(res.code, 0, res.stderr);
      return res.stdout;
    };

    before(async () => {
      if (variant.skip !== false) return;
      tmp = await mkdtemp(join(tmpdir(), 'skiff-mirroring-'));
      mesh = await startMesh(await variant.mesh(tmp));
      await mesh.apply(ALL_TO_V1);
    });
    after(async () => {
      await mesh?.stop();
      if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
    });

    test('all traffic to v1: curl gets the headers JSON; v1 logs the request, v2 does not', async () => {
      const v1Before = count(await appLog('v1'), HEADERS_LINE);
      const v2Before = count(await appLog('v2'), HEADERS_LINE);
      const copiesBefore = await v2RequestsFromCurl();
      const body = JSON.parse(await curlHeaders()) as { headers: Record<string, unknown> };
      assert.equal(body.headers.Host, 'httpbin:8000', 'the Python httpbin shows header values as strings');
      await eventually(async () => count(await appLog('v1'), HEADERS_LINE) === v1Before + 1, "v1's log line for GET /headers");
      // A copy would have been counted on curl's sidecar when it left, before curl had its answer.
      assert.equal(await v2RequestsFromCurl(), copiesBefore, 'curl\'s sidecar sent nothing to v2');
      assert.equal(count(await appLog('v2'), HEADERS_LINE), v2Before, "v2's log has no new GET /headers");
    });

    test('mirrored to v2: the client still gets v1, both logs show the request, the copy is for httpbin-shadow', async () => {
      await started().apply(ACCESS_LOGS);
      await started().apply(MIRROR_TO_V2);
      const v1Before = count(await appLog('v1'), HEADERS_LINE);
      const v2Before = count(await appLog('v2'), HEADERS_LINE);
      const copiesBefore = await v2RequestsFromCurl();
      const body = JSON.parse(await curlHeaders()) as { headers: Record<string, string> };
      assert.equal(await v2RequestsFromCurl(), copiesBefore + 1, "the copy was counted on curl's sidecar by the time curl had its answer");
      // The answer is v1's: the copy's response is dropped, and only the copy carries the -shadow host.
      assert.equal(body.headers.Host, 'httpbin:8000');
      await eventually(async () => count(await appLog('v1'), HEADERS_LINE) === v1Before + 1, "v1's log line for GET /headers");
      await eventually(async () => count(await appLog('v2'), HEADERS_LINE) === v2Before + 1, "v2's log line for the mirrored GET /headers");

      const requestId = body.headers['X-Request-Id'];
      assert.ok(requestId !== undefined && requestId !== '', JSON.stringify(body));
      const proxyLine = async (version: string): Promise<string | undefined> =>
        (await started().logs(`deploy/httpbin-${version}`, 'default', { proxy: true })).split('\n').find((l) => l.includes(`"${requestId}"`));
      await eventually(async () => (await proxyLine('v2')) !== undefined, "v2's sidecar access log line for the copy");
      const v2Line = (await proxyLine('v2'))!;
      assert.match(v2Line, /"GET \/headers HTTP\/1\.1" 200 /);
      assert.match(v2Line, / "httpbin-shadow:8000" /, v2Line);
      const v1Line = await proxyLine('v1');
      assert.ok(v1Line !== undefined, "v1's sidecar logged the same request");
      assert.match(v1Line, / "httpbin:8000" /, v1Line);
    });
  });
}
