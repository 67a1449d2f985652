/**
 * Istio's authorization tasks on the local mesh with samples/httpbin behind the ingress gateway,
 * step by step on the pages' YAML: explicit deny (GET denied, POST allowed; the `x-token: admin`
 * exception; DENY overriding ALLOW), ingress IP allow and deny lists at the gateway, and, with
 * Istio's JWT samples, end-user JWT at the gateway (no token 200, `Bearer deadbeef` 401, demo.jwt
 * 200, a token required: 403 without one). `skiff authz explain` names the policy that denies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';
import { hasIstioSamples, istioSample } from '../helpers/shared.js';
import { startMesh } from './harness.js';
import type { Mesh } from './harness.js';

const GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: httpbin-gateway
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts: ["*"]
  gateways: [httpbin-gateway]
  http:
  - route:
    - destination:
        port: {number: 8000}
        host: httpbin
`;

const DENY_GET = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-method-get
spec:
  selector:
    matchLabels:
      app: httpbin
  action: DENY
  rules:
  - to:
    - operation:
        methods: ["GET"]
`;

const DENY_GET_UNLESS_ADMIN = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-method-get
spec:
  selector:
    matchLabels:
      app: httpbin
  action: DENY
  rules:
  - to:
    - operation:
        methods: ["GET"]
    when:
    - key: request.headers[x-token]
      notValues: ["admin"]
`;

const ALLOW_PATH_IP = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-path-ip
spec:
  selector:
    matchLabels:
      app: httpbin
  action: ALLOW
  rules:
  - to:
    - operation:
        paths: ["/ip"]
`;

const ingressPolicy = (action: string, ips: string[]): string => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ingress-policy
  namespace: istio-system
spec:
  selector:
    matchLabels:
      app: istio-ingressgateway
  action: ${action}
  rules:
  - from:
    - source:
        ipBlocks: [${ips.map((ip) => `"${ip}"`).join(', ')}]
`;

describe('authorization on httpbin through the ingress gateway', () => {
  let mesh: Mesh;

  before(async () => {
    mesh = await startMesh({ files: [join(repoRoot, 'samples', 'httpbin', 'httpbin.yaml')] });
    await mesh.apply(GATEWAY);
    assert.equal((await mesh.get('/ip')).status, 200);
  });

  after(async () => {
    await mesh?.stop();
  });

  test('explicit deny: GET is denied with RBAC: access denied, POST is allowed', async () => {
    await mesh.apply(DENY_GET);
    const get = await mesh.get('/get');
    assert.equal(get.status, 403);
    assert.equal(get.body, 'RBAC: access denied');
    assert.equal((await mesh.post('/post', { a: '1' })).status, 200);
    const explain = await mesh.skiff(['authz', 'explain', 'deploy/httpbin', '--path', '/get']);
    assert.equal(explain.code, 0, explain.stderr);
    assert.match(explain.stdout, /^DENY: denied by ns\[default\]-policy\[deny-method-get\]-rule\[0\]\n/);
    const check = await mesh.skiff(['authz', 'check', 'deploy/httpbin']);
    assert.match(check.stdout, /DENY\s+deny-method-get\.default\s+1/);
  });

  test('the x-token: admin exception, and DENY overriding ALLOW', async () => {
    await mesh.apply(DENY_GET_UNLESS_ADMIN);
    assert.equal((await mesh.get('/get', { headers: { 'x-token': 'admin' } })).status, 200);
    assert.equal((await mesh.get('/get', { headers: { 'x-token': 'guest' } })).status, 403);
    await mesh.apply(ALLOW_PATH_IP);
    assert.equal((await mesh.get('/ip', { headers: { 'x-token': 'guest' } })).status, 403);
    assert.equal((await mesh.get('/ip', { headers: { 'x-token': 'admin' } })).status, 200);
    assert.equal((await mesh.get('/get', { headers: { 'x-token': 'admin' } })).status, 403);
    const explain = await mesh.skiff(['authz', 'explain', 'deploy/httpbin', '--path', '/get', '-H', 'x-token:admin']);
    assert.match(explain.stdout, /rbac_access_denied_matched_policy\[none\]/);
    await mesh.delete(`${DENY_GET_UNLESS_ADMIN}---\n${ALLOW_PATH_IP}`);
    assert.equal((await mesh.get('/get')).status, 200);
  });

  test('ingress IP allow and deny lists at the gateway', async () => {
    await mesh.apply(ingressPolicy('ALLOW', ['1.2.3.4', '5.6.7.0/24']));
    assert.equal((await mesh.get('/headers')).status, 403);
    await mesh.apply(ingressPolicy('ALLOW', ['1.2.3.4', '5.6.7.0/24', '127.0.0.1']));
    assert.equal((await mesh.get('/headers')).status, 200);
    await mesh.apply(ingressPolicy('DENY', ['127.0.0.1']));
    assert.equal((await mesh.get('/headers')).status, 403);
    await mesh.delete(ingressPolicy('DENY', ['127.0.0.1']));
    assert.equal((await mesh.get('/headers')).status, 200);
  });

  test('end-user JWT at the gateway with Istio\'s samples', { skip: hasIstioSamples ? false : 'needs ../shared/istio-samples' }, async () => {
    const jwks = readFileSync(istioSample('jwt', 'jwks.json'), 'utf8').replace(/\s+/g, ' ');
    const demo = readFileSync(istioSample('jwt', 'demo.jwt'), 'utf8').trim();
    await mesh.apply(`apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: jwt-example
  namespace: istio-system
spec:
  selector:
    matchLabels:
      istio: ingressgateway
  jwtRules:
  - issuer: "testing@secure.istio.io"
    jwks: '${jwks}'
`);
    assert.equal((await mesh.get('/headers')).status, 200);
    const bad = await mesh.get('/headers', { headers: { authorization: 'Bearer deadbeef' } });
    assert.equal(bad.status, 401);
    assert.equal(bad.body, 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections');
    assert.equal((await mesh.get('/headers', { headers: { authorization: `Bearer ${demo}` } })).status, 200);
    await mesh.apply(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: frontend-ingress
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
`);
    assert.equal((await mesh.get('/headers')).status, 403);
    assert.equal((await mesh.get('/headers', { headers: { authorization: `Bearer ${demo}` } })).status, 200);
  });
});
