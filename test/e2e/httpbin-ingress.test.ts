/**
 * Istio's "Ingress Gateways" task on the local mesh, with httpbin: a Gateway for
 * httpbin.example.com on port 80 and a VirtualService exposing `/status` and `/delay`. The page
 * promises `curl -s -I -HHost:httpbin.example.com .../status/200` → `HTTP/1.1 200 OK` from
 * `istio-envoy`, a 404 for a path the VirtualService does not expose and for another Host, and,
 * with the `*` hosts variant, `/headers` echoing the browser's headers. Also egress under ALLOW_ANY:
 * curl inside the mesh reaches a server outside it through its sidecar's PassthroughCluster.
 * Run with Istio's own manifests (through the image map) and with samples/httpbin and samples/curl.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { istioSample, skipWithoutIstioSamples } from '../helpers/shared.js';
import { startMesh } from './harness.js';
import type { Mesh, MeshOptions } from './harness.js';
import { REQUIRE_TOOLS_VAR, toolsRequired } from '../helpers/tools.js';

interface Variant {
  label: string;
  skip: string | false;
  mesh: MeshOptions;
  /** The canned `httpbin-gateway.yaml` (all of httpbin for any Host). */
  cannedGateway: string;
}

const VARIANTS: readonly Variant[] = [
  {
    label: "Istio's samples",
    skip: skipWithoutIstioSamples,
    mesh: { files: [istioSample('httpbin', 'httpbin.yaml'), istioSample('curl', 'curl.yaml')], images: join(repoRoot, 'samples', 'images.yaml') },
    cannedGateway: istioSample('httpbin', 'httpbin-gateway.yaml'),
  },
  {
    label: 'samples/httpbin and samples/curl',
    skip: false,
    mesh: { files: [join(repoRoot, 'samples', 'httpbin', 'httpbin.yaml'), join(repoRoot, 'samples', 'curl', 'curl.yaml')] },
    cannedGateway: join(repoRoot, 'samples', 'httpbin', 'httpbin-gateway.yaml'),
  },
];

/** The page's Gateway and VirtualService, as written there. */
const HTTPBIN_GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: httpbin-gateway
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
    - "httpbin.example.com"
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts:
  - "httpbin.example.com"
  gateways:
  - httpbin-gateway
  http:
  - match:
    - uri:
        prefix: /status
    - uri:
        prefix: /delay
    route:
    - destination:
        port:
          number: 8000
        host: httpbin
`;

/** The page's "Accessing ingress services using a browser" variant: `*` hosts, `/headers` exposed. */
const BROWSER_GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: httpbin-gateway
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
    - "*"
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts:
  - "*"
  gateways:
  - httpbin-gateway
  http:
  - match:
    - uri:
        prefix: /headers
    route:
    - destination:
        port:
          number: 8000
        host: httpbin
`;

/** A loopback address other than 127.0.0.1 (Linux routes all of 127/8 to lo). */
const OUTSIDE_ADDRESS = '127.0.0.2';

interface CurlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The curl of the user's own machine (the curl sample), outside the mesh, without any proxy settings. */
function hostCurl(args: string[]): Promise<CurlResult> {
  const env = { ...process.env };
  for (const k of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy']) delete env[k];
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repoRoot, 'dist', 'samples', 'curl', 'src', 'main.js'), ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `HTTP/1.1 200 OK\r\nname: value...` → status line and lower-cased headers. */
function parseHead(text: string): { statusLine: string; headers: Map<string, string> } {
  const [statusLine, ...lines] = text.split('\r\n\r\n')[0].split('\r\n');
  const headers = new Map<string, string>();
  for (const l of lines) {
    const colon = l.indexOf(':');
    if (colon > 0) headers.set(l.slice(0, colon).toLowerCase(), l.slice(colon + 1).trim());
  }
  return { statusLine, headers };
}

for (const variant of VARIANTS) {
  describe(`ingress gateway with httpbin (${variant.label})`, { skip: variant.skip, timeout: 180_000 }, () => {
    let mesh: Mesh | undefined;
    const started = (): Mesh => mesh ?? assert.fail('the mesh did not start');
    const curlI = (path: string, host: string): Promise<CurlResult> => hostCurl(['-s', '-I', `-HHost:${host}`, `${started().ingressUrl}${path}`]);

    before(async () => {
      if (variant.skip !== false) return;
      mesh = await startMesh(variant.mesh);
      const out = await mesh.apply(HTTPBIN_GATEWAY);
      assert.match(out, /^gateway\.networking\.istio\.io\/httpbin-gateway created$/m);
      assert.match(out, /^virtualservice\.networking\.istio\.io\/httpbin created$/m);
    });
    after(async () => {
      await mesh?.stop();
    });

    test('curl -s -I -HHost:httpbin.example.com /status/200 → HTTP/1.1 200 OK from istio-envoy', async () => {
      const res = await curlI('/status/200', 'httpbin.example.com');
      assert.equal(res.code, 0, res.stderr);
      const head = parseHead(res.stdout);
      assert.equal(head.statusLine, 'HTTP/1.1 200 OK');
      assert.equal(head.headers.get('server'), 'istio-envoy');
      assert.match(head.headers.get('x-envoy-upstream-service-time') ?? '', /^\d+$/);
    });

    test('the Host header may carry the port; /status/418 answers what httpbin answers', async () => {
      const url = new URL(started().ingressUrl);
      const res = await curlI('/status/418', `httpbin.example.com:${url.port}`);
      assert.match(parseHead(res.stdout).statusLine, /^HTTP\/1\.1 418 /);
    });

    test('a path the VirtualService does not expose (/headers) → HTTP/1.1 404 Not Found', async () => {
      const res = await curlI('/headers', 'httpbin.example.com');
      const head = parseHead(res.stdout);
      assert.equal(head.statusLine, 'HTTP/1.1 404 Not Found');
      assert.equal(head.headers.get('server'), 'istio-envoy');
      const body = await started().get('/headers', { headers: { host: 'httpbin.example.com' } });
      assert.equal(body.status, 404);
      assert.equal(body.body, '', 'no route: an empty body');
    });

    test('another Host → 404', async () => {
      const res = await curlI('/status/200', 'other.example.com');
      assert.equal(parseHead(res.stdout).statusLine, 'HTTP/1.1 404 Not Found');
    });

    test('with hosts "*" and /headers exposed, /headers shows the request headers (go-httpbin arrays)', async () => {
      await started().apply(BROWSER_GATEWAY);
      try {
        const res = await started().get('/headers', { headers: { 'user-agent': 'Mozilla/5.0 (acceptance test)', 'x-custom': 'hello' } });
        assert.equal(res.status, 200, res.body);
        const body = JSON.parse(res.body) as { headers: Record<string, unknown> };
        assert.deepEqual(body.headers['User-Agent'], ['Mozilla/5.0 (acceptance test)']);
        assert.deepEqual(body.headers['X-Custom'], ['hello']);
        assert.equal((await started().get('/status/200')).status, 404, 'only /headers is exposed now');
      } finally {
        await started().apply(HTTPBIN_GATEWAY);
      }
    });

    test('the canned httpbin-gateway.yaml exposes every path for any Host', async () => {
      await started().delete(HTTPBIN_GATEWAY);
      try {
        await started().apply(variant.cannedGateway);
        const res = await started().get('/get?show_env=1', { headers: { host: 'anything.example' } });
        assert.equal(res.status, 200, res.body);
        assert.match(res.body, /"url": "http:\/\/anything\.example\/get\?show_env=1"/);
      } finally {
        await started().delete(variant.cannedGateway);
        await started().apply(HTTPBIN_GATEWAY);
      }
    });

    // Loopback (127.0.0.1) is exempt from the sidecar as in a pod (NO_PROXY); a server on another
    // address stands for a host outside the mesh, reached through the sidecar's PassthroughCluster.
    test('egress under ALLOW_ANY: curl in the mesh reaches a server outside it through its sidecar', async (t) => {
      const seen: http.IncomingHttpHeaders[] = [];
      const outside = http.createServer((req, res) => {
        seen.push(req.headers);
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`outside the mesh: ${req.method} ${req.url}\n`);
      });
      const bound = await new Promise<boolean>((resolve) => {
        outside.once('error', () => resolve(false));
        outside.listen(0, OUTSIDE_ADDRESS, () => resolve(true));
      });
      if (!bound) {
        const why = `cannot listen on ${OUTSIDE_ADDRESS} here (only 127.0.0.1 is a loopback address on this system)`;
        if (toolsRequired()) assert.fail(`${why}; ${REQUIRE_TOOLS_VAR} is set, so this fails instead of skipping`);
        t.skip(why);
        return;
      }
      const port = (outside.address() as AddressInfo).port;
      try {
        const res = await started().exec('deploy/curl', 'default', ['curl', '-sS', '-i', `http://${OUTSIDE_ADDRESS}:${port}/`]);
        assert.equal(res.code, 0, res.stderr);
        const head = parseHead(res.stdout);
        assert.equal(head.statusLine, 'HTTP/1.1 200 OK');
        assert.ok(res.stdout.endsWith('outside the mesh: GET /\n'), res.stdout);
        // The sidecar forwarded it: its timing header on the way back, its request id on the way out.
        assert.match(head.headers.get('x-envoy-upstream-service-time') ?? '', /^\d+$/, res.stdout);
        assert.equal(seen.length, 1);
        assert.match(String(seen[0]['x-request-id']), /^[0-9a-f-]{36}$/);
        assert.equal(seen[0].host, `${OUTSIDE_ADDRESS}:${port}`);
      } finally {
        outside.closeAllConnections();
        await new Promise<void>((r) => outside.close(() => r()));
      }
    });
  });
}
