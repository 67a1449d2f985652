/**
 * Istio's JWT and dry-run authorization tasks on Istio's own httpbin and curl samples in namespace
 * foo, step by step on the pages' YAML, the key set fetched from a `jwksUri` as the pages do (a
 * local server stands in for raw.githubusercontent.com and serves Istio's `jwks.json`):
 *
 * - a `jwksUri` that cannot be fetched: every token gets 401 `Jwks remote fetch is failed`, and
 *   `skiff proxy-status` and `skiff analyze` (SKF0010, at the line of the field) say which URI,
 *   on which proxy, and why; once the server answers, the proxy's retry fetches the set and both
 *   say so;
 * - "Authorization with JWT": the RequestAuthentication alone (no token 200, `invalidToken` 401,
 *   demo.jwt and groups-scope.jwt 200), `require-jwt` (403 without a token) and its `groups`
 *   claim condition (only groups-scope.jwt passes);
 * - "End user authentication"'s expiring token, minted with Istio's `key.pem`: 200 within the 60 s
 *   of clock skew past `exp`, 401 `Jwt is expired` beyond it; and its per-path DENY at the ingress
 *   gateway (`/headers` without a token 403, `/ip` 200);
 * - "Dry Run": `deny-path-headers` with `istio.io/dry-run: "true"` lets 20 requests to /headers
 *   through, httpbin's sidecar logs `rbac shadow denied, matched policy
 *   ns[foo]-policy[deny-path-headers]-rule[0]` and its metrics carry `authz_dry_run_result="denied"`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { repoRoot } from '../helpers/cli.js';
import { istioSample, skipWithoutIstioSamples } from '../helpers/shared.js';
import { eventually, startMesh } from './harness.js';
import type { Mesh } from './harness.js';
import { Disposer } from '../helpers/disposer.js';

const ISSUER = 'testing@secure.istio.io';
/** Where the pages fetch the key set from, served locally under the same path. */
const JWKS_PATH = '/istio/istio/release-1.27/security/tools/jwt/samples/jwks.json';
const FETCH_FAILED = 'Jwks remote fetch is failed';

const requestAuthentication = (jwksUri: string): string => `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: "jwt-example"
  namespace: foo
spec:
  selector:
    matchLabels:
      app: httpbin
  jwtRules:
  - issuer: "testing@secure.istio.io"
    jwksUri: "${jwksUri}"
`;
/** The line of `jwksUri` in `requestAuthentication`'s text. */
const JWKS_URI_LINE = 12;

const REQUIRE_JWT = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: require-jwt
  namespace: foo
spec:
  selector:
    matchLabels:
      app: httpbin
  action: ALLOW
  rules:
  - from:
    - source:
       requestPrincipals: ["testing@secure.istio.io/testing@secure.istio.io"]
`;

const REQUIRE_JWT_GROUP1 = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: require-jwt
  namespace: foo
spec:
  selector:
    matchLabels:
      app: httpbin
  action: ALLOW
  rules:
  - from:
    - source:
       requestPrincipals: ["testing@secure.istio.io/testing@secure.istio.io"]
    when:
    - key: request.auth.claims[groups]
      values: ["group1"]
`;

const HTTPBIN_GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: httpbin-gateway
  namespace: foo
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
  namespace: foo
spec:
  hosts:
  - "*"
  gateways:
  - httpbin-gateway
  http:
  - route:
    - destination:
        port:
          number: 8000
        host: httpbin.foo.svc.cluster.local
`;

const gatewayRequestAuthentication = (jwksUri: string): string => `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: "jwt-example"
  namespace: istio-system
spec:
  selector:
    matchLabels:
      istio: ingressgateway
  jwtRules:
  - issuer: "testing@secure.istio.io"
    jwksUri: "${jwksUri}"
`;

const FRONTEND_INGRESS_HEADERS = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: "frontend-ingress"
  namespace: istio-system
spec:
  selector:
    matchLabels:
      istio: ingressgateway
  action: DENY
  rules:
  - from:
    - source:
        notRequestPrincipals: ["*"]
    to:
    - operation:
        paths: ["/headers"]
`;

const DENY_PATH_HEADERS_DRY_RUN = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-path-headers
  namespace: foo
  annotations:
    "istio.io/dry-run": "true"
spec:
  selector:
    matchLabels:
      app: httpbin
  action: DENY
  rules:
  - to:
    - operation:
        paths: ["/headers"]
`;

const SHADOW_DENIED = 'rbac shadow denied, matched policy ns[foo]-policy[deny-path-headers]-rule[0]';

interface ProxyStatusJson {
  proxies: { id: string; node: { workload?: { namespace: string; labels: Record<string, string> } }; metricsUrl?: string; jwks?: { uri: string; state: string; keys: number; error: string; failures: number; nextFetchAt: number }[] }[];
}

describe('JWT and dry-run authorization on httpbin in foo', { skip: skipWithoutIstioSamples, timeout: 900_000 }, () => {
  let mesh: Mesh;
  let jwksServer: http.Server;
  let jwksUri: string;
  /** What the key-set server answers: 404 until a step makes it serve the set. */
  let serving = false;
  let jwksText: string;
  let demo: string;
  let groups: string;
  let dir: string;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    jwksText = readFileSync(istioSample('jwt', 'jwks.json'), 'utf8');
    demo = readFileSync(istioSample('jwt', 'demo.jwt'), 'utf8').trim();
    groups = readFileSync(istioSample('jwt', 'groups-scope.jwt'), 'utf8').trim();
    jwksServer = http.createServer((req, res) => {
      if (serving && req.url === JWKS_PATH) res.writeHead(200, { 'content-type': 'application/json' }).end(jwksText);
      else res.writeHead(404, { 'content-type': 'text/plain' }).end('404: Not Found');
    });
    disposer.add(jwksServer, (s) => s.close());
    jwksServer.listen(0, '127.0.0.1');
    await once(jwksServer, 'listening');
    jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}${JWKS_PATH}`;
    dir = disposer.tempDir('skiff-jwt-');
    mesh = disposer.add(await startMesh({ files: [], images: join(repoRoot, 'samples', 'images.yaml') }), (m) => m.stop());
    await mesh.apply('apiVersion: v1\nkind: Namespace\nmetadata: { name: foo }\n');
    for (const file of [istioSample('httpbin', 'httpbin.yaml'), istioSample('curl', 'curl.yaml')]) {
      const out = await mesh.skiff(['apply', '-f', file, '-n', 'foo']);
      assert.equal(out.code, 0, out.stderr);
    }
    await mesh.waitReady(180_000);
  }));

  after(() => disposer.drain());

  /** The pages' probe from curl in foo: `curl http://httpbin.foo:8000<path> -sS -o /dev/null [-H "Authorization: Bearer $TOKEN"] -w "%{http_code}"`. */
  async function code(path: string, token?: string): Promise<string> {
    const auth = token === undefined ? [] : ['-H', `Authorization: Bearer ${token}`];
    const out = await mesh.exec('deploy/curl', 'foo', ['curl', `http://httpbin.foo:8000${path}`, '-sS', '-o', '/dev/null', ...auth, '-w', '%{http_code}']);
    assert.equal(out.code, 0, out.stderr);
    return out.stdout.trim();
  }

  /** The body curl prints for a request with `token`. */
  async function body(path: string, token: string): Promise<string> {
    const out = await mesh.exec('deploy/curl', 'foo', ['curl', `http://httpbin.foo:8000${path}`, '-sS', '-H', `Authorization: Bearer ${token}`]);
    assert.equal(out.code, 0, out.stderr);
    return out.stdout;
  }

  /** The four columns of the page's table: no token, `invalidToken`, demo.jwt, groups-scope.jwt. */
  async function row(): Promise<string[]> {
    return [await code('/headers'), await code('/headers', 'invalidToken'), await code('/headers', demo), await code('/headers', groups)];
  }

  async function proxyStatus(): Promise<ProxyStatusJson> {
    const out = await mesh.skiff(['proxy-status', '-o', 'json']);
    assert.equal(out.code, 0, out.stderr);
    return JSON.parse(out.stdout) as ProxyStatusJson;
  }

  const httpbinProxy = (s: ProxyStatusJson): ProxyStatusJson['proxies'][number] | undefined =>
    s.proxies.find((p) => p.node.workload?.namespace === 'foo' && p.node.workload.labels.app === 'httpbin');

  test('a jwksUri that cannot be fetched: tokens get 401, proxy-status and analyze say which URI, where and why; fetched once it answers', async () => {
    const raFile = join(dir, 'jwt-example.yaml');
    writeFileSync(raFile, requestAuthentication(jwksUri));
    await mesh.apply(raFile);
    assert.equal(await code('/headers'), '200', 'a request without a token passes');
    assert.equal(await body('/headers', demo), FETCH_FAILED);

    let status = await proxyStatus();
    await eventually(async () => {
      status = await proxyStatus();
      return httpbinProxy(status)?.jwks?.[0]?.state === 'failed';
    }, "httpbin's proxy to report the failed fetch");
    const [state] = httpbinProxy(status)?.jwks ?? [];
    assert.equal(state.uri, jwksUri);
    assert.equal(state.error, 'HTTP 404');
    assert.equal(state.keys, 0);
    assert.ok(state.failures >= 1 && state.nextFetchAt > 0, 'failures counted, a retry planned');

    const table = await mesh.skiff(['proxy-status']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+KIND\s+VERSION\s+STATUS\s+ADMIN\s+METRICS\s+JWKS$/m);
    assert.match(table.stdout, /^httpbin-\S+\.foo\s+sidecar\s+.*\s1 failed$/m);
    assert.match(table.stdout, /^curl-\S+\.foo\s+sidecar\s+.*\s-$/m);
    const line = table.stdout.split('\n').find((l) => l.includes('cannot fetch JWKS')) ?? '';
    assert.match(line, new RegExp(`^httpbin-\\S+\\.foo cannot fetch JWKS ${jwksUri.replace(/[.?]/g, '\\$&')}: HTTP 404 \\(\\d+ fetch(es)? failed, next try in \\d+[smh]\\); tokens are refused with "Jwks remote fetch is failed"$`));

    const analysis = await mesh.skiff(['analyze', '-n', 'foo', '-f', raFile]);
    const warning = analysis.stdout.split('\n').find((l) => l.includes('[SKF0010]')) ?? '';
    assert.equal(
      warning.replace(/httpbin-\S+\.foo/, 'httpbin-POD.foo').replace(/\(\d+ fetch(es)? failed in a row\)/, '(N failed in a row)'),
      `Warning [SKF0010] (RequestAuthentication foo/jwt-example ${raFile}:${JWKS_URI_LINE}) The JWKS at "${jwksUri}" (jwtRules[0]) cannot be fetched by 1 proxy (httpbin-POD.foo): HTTP 404 (N failed in a row); tokens of issuer "testing@secure.istio.io" are refused with 401 "Jwks remote fetch is failed"`,
      analysis.stdout,
    );

    // The server answers now: the proxy's next retry fetches the set, and both views say so.
    serving = true;
    await eventually(async () => httpbinProxy(await proxyStatus())?.jwks?.[0]?.state === 'ready', 'the retry to fetch the set', 120_000);
    const fetched = httpbinProxy(await proxyStatus())?.jwks?.[0];
    assert.deepEqual({ keys: fetched?.keys, error: fetched?.error, failures: fetched?.failures }, { keys: 1, error: '', failures: 0 });
    assert.match((await mesh.skiff(['proxy-status'])).stdout, /^httpbin-\S+\.foo\s+sidecar\s+.*\s1 ready$/m);
    assert.doesNotMatch((await mesh.skiff(['analyze', '-n', 'foo', '-f', raFile])).stdout, /SKF0010/);
    assert.equal(await code('/headers', demo), '200');
  });

  test('Authorization with JWT: the RequestAuthentication alone, require-jwt, then the groups claim', async () => {
    serving = true;
    await mesh.apply(requestAuthentication(jwksUri));
    assert.deepEqual(await row(), ['200', '401', '200', '200']);
    assert.equal(await body('/headers', 'invalidToken'), 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections');
    await mesh.apply(REQUIRE_JWT);
    assert.deepEqual(await row(), ['403', '401', '200', '200']);
    await mesh.apply(REQUIRE_JWT_GROUP1);
    assert.deepEqual(await row(), ['403', '401', '403', '200']);
    const explain = await mesh.skiff(['authz', 'explain', 'deploy/httpbin', '-n', 'foo', '--path', '/headers', '--request-principal', `${ISSUER}/${ISSUER}`]);
    assert.match(explain.stdout, /^DENY: .*rbac_access_denied_matched_policy\[none\]/);
    const allowed = await mesh.skiff(['authz', 'explain', 'deploy/httpbin', '-n', 'foo', '--path', '/headers', '--request-principal', `${ISSUER}/${ISSUER}`, '--claim', 'groups=group1']);
    assert.match(allowed.stdout, /^ALLOW: allowed by ns\[foo\]-policy\[require-jwt\]-rule\[0\]/);
    await mesh.delete(REQUIRE_JWT_GROUP1);
  });

  test("an expiring token minted with Istio's key.pem: accepted within the 60 s of clock skew past exp, Jwt is expired beyond", async () => {
    const key = createPrivateKey(readFileSync(istioSample('jwt', 'key.pem')));
    const kid = (JSON.parse(jwksText) as { keys: { kid: string }[] }).keys[0].kid;
    // gen-jwt.py --expire 5, seen 35 s and 95 s later: the page's 200s before its 401s.
    const expiredAgo = (seconds: number): Promise<string> =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuer(ISSUER)
        .setSubject(ISSUER)
        .setIssuedAt(Math.floor(Date.now() / 1000) - seconds - 5)
        .setExpirationTime(Math.floor(Date.now() / 1000) - seconds)
        .sign(key);
    assert.equal(await code('/headers', await expiredAgo(30)), '200');
    const late = await expiredAgo(90);
    assert.equal(await code('/headers', late), '401');
    assert.equal(await body('/headers', late), 'Jwt is expired');
  });

  test('per-path token requirement at the ingress gateway: /headers without a token 403, /ip 200', async () => {
    await mesh.apply(HTTPBIN_GATEWAY);
    await mesh.apply(gatewayRequestAuthentication(jwksUri));
    assert.equal((await mesh.get('/headers')).status, 200);
    assert.equal((await mesh.get('/headers', { headers: { authorization: 'Bearer deadbeef' } })).status, 401);
    await mesh.apply(FRONTEND_INGRESS_HEADERS);
    const denied = await mesh.get('/headers');
    assert.equal(denied.status, 403);
    assert.equal(denied.body, 'RBAC: access denied');
    assert.equal((await mesh.get('/ip')).status, 200);
    assert.equal((await mesh.get('/headers', { headers: { authorization: `Bearer ${demo}` } })).status, 200);
    await mesh.delete(`${FRONTEND_INGRESS_HEADERS}---\n${gatewayRequestAuthentication(jwksUri)}`);
  });

  test('dry-run: deny-path-headers is evaluated, logged and counted, never enforced', async () => {
    await mesh.apply(DENY_PATH_HEADERS_DRY_RUN);
    const codes: string[] = [];
    for (let i = 0; i < 20; i++) codes.push(await code('/headers'));
    assert.deepEqual(codes, Array<string>(20).fill('200'));
    const log = await mesh.logs('deploy/httpbin', 'foo', { proxy: true });
    assert.ok(log.split('\n').some((l) => l.endsWith(SHADOW_DENIED)), `httpbin's sidecar logs "${SHADOW_DENIED}"`);
    const metricsUrl = httpbinProxy(await proxyStatus())?.metricsUrl;
    assert.ok(metricsUrl !== undefined, "httpbin's sidecar serves metrics");
    const metrics = await (await fetch(metricsUrl)).text();
    const denied = metrics
      .split('\n')
      .filter((l) => l.startsWith('istio_requests_total{') && l.includes('reporter="destination"') && l.includes('authz_dry_run_action="deny",authz_dry_run_result="denied"'))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    assert.ok(denied >= 20, `istio_requests_total counts the 20 requests with authz_dry_run_result="denied" (got ${denied})`);
  });
});
