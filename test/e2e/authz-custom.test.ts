/**
 * Istio's "External Authorization" task (CUSTOM action) on the local mesh, step by step with
 * Istio's own httpbin, curl and ext-authz samples in namespace foo: the mesh config's two
 * extension providers (`sample-ext-authz-grpc` on the sample's port 9000, `sample-ext-authz-http`
 * on 8000), the page's AuthorizationPolicy on `/headers`, and from the curl pod:
 * `x-ext-authz: deny` → 403 with the sample's body, `allow` → 200 (over gRPC with
 * `X-Ext-Authz-Check-Result: allowed` reaching httpbin), `/ip` → 200 without a check — over gRPC
 * and then over HTTP. The sample logs what it decided; the denial is flagged UAEX in httpbin's
 * access log. With the provider stopped, a checked request gets 403 (or `statusOnError`), unless
 * `failOpen`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { istioSample, skipWithoutIstioSamples } from '../helpers/shared.js';
import { eventually, startMesh } from './harness.js';
import type { Mesh } from './harness.js';

const DENY_BODY = 'denied by ext_authz for not found header `x-ext-authz: allow` in the request';

const NAMESPACE = `apiVersion: v1
kind: Namespace
metadata: { name: foo }
`;

/** The page's mesh config (its two providers), with access logs on as in the demo profile; `grpc` adds fields to the gRPC provider. */
function meshConfig(grpc: Record<string, string | boolean> = {}): string {
  const extra = Object.entries(grpc).map(([k, v]) => `\n          ${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |-
    accessLogFile: /dev/stdout
    extensionProviders:
    - name: "sample-ext-authz-grpc"
      envoyExtAuthzGrpc:
          service: "ext-authz.foo.svc.cluster.local"
          port: "9000"${extra.join('')}
    - name: "sample-ext-authz-http"
      envoyExtAuthzHttp:
          service: "ext-authz.foo.svc.cluster.local"
          port: "8000"
          includeRequestHeadersInCheck: ["x-ext-authz"]
`;
}

/** The page's policy, naming one of the two providers. */
const policy = (provider: string): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ext-authz
  namespace: foo
spec:
  selector:
    matchLabels:
      app: httpbin
  action: CUSTOM
  provider:
    name: ${provider}
  rules:
  - to:
    - operation:
        paths: ["/headers"]
`;

/** The ext-authz Deployment of Istio's manifest (to stop and start the provider). */
function extAuthzDeployment(): string {
  const docs = readFileSync(istioSample('extauthz', 'ext-authz.yaml'), 'utf8').split(/^---$/m);
  const deployment = docs.find((d) => /^kind: Deployment$/m.test(d));
  assert.ok(deployment !== undefined, 'ext-authz.yaml has a Deployment');
  return deployment.replace(/^metadata:\n/m, 'metadata:\n  namespace: foo\n');
}

describe('external authorization (CUSTOM) with the ext-authz sample over gRPC and HTTP', { skip: skipWithoutIstioSamples, timeout: 600_000 }, () => {
  let mesh: Mesh;

  before(async () => {
    mesh = await startMesh({ files: [], images: join(repoRoot, 'samples', 'images.yaml') });
    await mesh.apply(NAMESPACE);
    for (const file of [istioSample('httpbin', 'httpbin.yaml'), istioSample('curl', 'curl.yaml'), istioSample('extauthz', 'ext-authz.yaml')]) {
      const out = await mesh.skiff(['apply', '-f', file, '-n', 'foo']);
      assert.equal(out.code, 0, out.stderr);
    }
    await mesh.waitReady(180_000);
    await mesh.apply(meshConfig());
  });

  after(async () => {
    await mesh?.stop();
  });

  /** The page's probe from the curl pod in foo. */
  async function curl(path: string, args: string[] = []): Promise<string> {
    const out = await mesh.exec('deploy/curl', 'foo', ['curl', `http://httpbin.foo:8000${path}`, '-s', ...args]);
    assert.equal(out.code, 0, out.stderr);
    return out.stdout;
  }
  const status = async (path: string, header?: string): Promise<string> => (await curl(path, [...(header === undefined ? [] : ['-H', header]), '-o', '/dev/null', '-w', '%{http_code}'])).trim();
  const sampleLog = (): Promise<string> => mesh.logs('deploy/ext-authz', 'foo');

  /**
   * The page's three requests with the policy naming `provider`; `logTag` is what the sample logs
   * for a check, `forwarded` the `X-Ext-Authz-Check-Result` httpbin sees on the allowed request.
   */
  async function pageSteps(provider: string, logTag: string, forwarded: string[] | undefined): Promise<void> {
    await mesh.apply(policy(provider));
    const checksBefore = (await sampleLog()).split(logTag).length;
    assert.equal(await curl('/headers', ['-H', 'x-ext-authz: deny']), DENY_BODY);
    const allowed = JSON.parse(await curl('/headers', ['-H', 'x-ext-authz: allow'])) as { headers: Record<string, string | string[] | undefined> };
    const result = allowed.headers['X-Ext-Authz-Check-Result'];
    assert.deepEqual(result === undefined ? undefined : [result].flat(), forwarded);
    assert.equal(await status('/ip'), '200');
    await eventually(async () => (await sampleLog()).split(logTag).length === checksBefore + 2, `two checks logged as ${logTag}`);
    assert.equal((await sampleLog()).split(logTag).length, checksBefore + 2, '/ip is not checked');
  }

  test('gRPC provider: deny → 403 with the sample\'s body, allow → 200 with the result header, /ip → 200 unchecked', async () => {
    // The OkHttpResponse's headers are added to the forwarded request.
    await pageSteps('sample-ext-authz-grpc', '[gRPCv3]', ['allowed']);
    const log = await sampleLog();
    assert.match(log, /\[gRPCv3\]\[denied\]: httpbin\.foo:8000\/headers, attributes: /);
    assert.match(log, /\[gRPCv3\]\[allowed\]: httpbin\.foo:8000\/headers, attributes: .*principal:"spiffe:\/\/cluster\.local\/ns\/foo\/sa\/curl"/, 'the check saw the client\'s identity');
    await eventually(async () => /"GET \/headers HTTP\/1\.1" 403 UAEX ext_authz_denied/.test(await mesh.logs('deploy/httpbin', 'foo', { proxy: true })), 'the denial flagged UAEX in httpbin\'s access log');
  });

  test('HTTP provider: the same steps; without headersToUpstreamOnAllow the service\'s headers stay off the forwarded request', async () => {
    await pageSteps('sample-ext-authz-http', '[HTTP]', undefined);
    assert.match(await sampleLog(), /\[HTTP\]\[denied\]: GET /);
  });

  test('the provider stopped: 403, or statusOnError, unless failOpen', async () => {
    await mesh.apply(policy('sample-ext-authz-grpc'));
    await mesh.delete(extAuthzDeployment());
    assert.equal(await status('/headers', 'x-ext-authz: allow'), '403');
    assert.equal(await status('/ip'), '200', 'a path the policy does not cover needs no provider');
    await mesh.apply(meshConfig({ statusOnError: '503' }));
    assert.equal(await status('/headers', 'x-ext-authz: allow'), '503');
    await mesh.apply(meshConfig({ failOpen: true }));
    assert.equal(await status('/headers', 'x-ext-authz: deny'), '200', 'failOpen lets the request through unchecked');
    await mesh.apply(meshConfig());
    await mesh.apply(extAuthzDeployment());
    await mesh.waitReady(120_000);
    await eventually(async () => (await status('/headers', 'x-ext-authz: deny')) === '403', 'the provider back, denials again');
    assert.equal(await curl('/headers', ['-H', 'x-ext-authz: deny']), DENY_BODY);
  });
});
