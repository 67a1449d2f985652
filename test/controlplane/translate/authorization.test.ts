/**
 * AuthorizationPolicies selected per proxy as Istio selects them, into the snapshot's
 * `authorization` section: the workload's namespace and the root namespace, selectors, gateway
 * `targetRefs`, dry-run, CUSTOM providers resolved from the mesh config (or the policy turned into
 * a DENY when they cannot be), and the port each listener stands for — only when policies apply,
 * so snapshots without any are unchanged.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MeshOptions } from '../../../src/controlplane/translate/index.js';
import { translate } from '../../../src/controlplane/translate/index.js';
import type { ProxySnapshot } from '../../../src/snapshot/index.js';
import { loadCase, loadYaml } from './cases.js';

function translated(caseName: string, policies: string, mesh: Partial<MeshOptions> = {}, warnings: string[] = []): ProxySnapshot {
  const c = loadCase(caseName);
  const config = policies === '' ? c.config : [...c.config, ...loadYaml('policies.yaml', policies)];
  return translate({ config, registry: c.registry, proxy: c.proxy, mesh: { ...c.mesh, ...mesh }, warn: (m) => warnings.push(m) });
}

/** The policies in force, sorted (the snapshot keeps Istio's order: creation time, then name). */
const names = (s: ProxySnapshot): string[] => (s.authorization?.policies ?? []).map((p) => `${p.namespace}/${p.name}`).sort();

const POLICIES = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-nothing, namespace: default }
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: productpage-viewer, namespace: default }
spec:
  selector: { matchLabels: { app: productpage } }
  action: ALLOW
  rules: [{ to: [{ operation: { methods: [GET] } }] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: details-viewer, namespace: default }
spec:
  selector: { matchLabels: { app: details } }
  rules: [{ from: [{ source: { principals: [cluster.local/ns/default/sa/bookinfo-productpage] } }] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: elsewhere, namespace: foo }
spec: {}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: mesh-deny, namespace: istio-system, annotations: { istio.io/dry-run: "true" } }
spec:
  action: DENY
  rules: [{ to: [{ operation: { paths: [/admin] } }] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ingress-policy, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  rules: [{ from: [{ source: { ipBlocks: [127.0.0.1] } }] }]
`;

describe('AuthorizationPolicy selection', () => {
  test('a sidecar gets its namespace policies that select it and the root namespace ones', () => {
    const s = translated('bookinfo-all-v1', POLICIES);
    assert.deepEqual(names(s), ['default/allow-nothing', 'default/productpage-viewer', 'istio-system/mesh-deny']);
    const dry = s.authorization?.policies.find((p) => p.name === 'mesh-deny');
    assert.equal(dry?.dryRun, true);
    assert.equal(dry?.action, 'DENY');
    assert.deepEqual(s.authorization?.policies.find((p) => p.name === 'allow-nothing'), { name: 'allow-nothing', namespace: 'default', action: 'ALLOW' });
  });

  test('its inbound listeners name the container port policies see; outbound ones are untouched', () => {
    const s = translated('bookinfo-all-v1', POLICIES);
    const inbound = s.listeners.filter((l) => l.direction === 'inbound');
    assert.ok(inbound.length > 0);
    for (const l of inbound) assert.equal(l.policyPort, Number(l.name.slice('inbound_'.length)));
    for (const l of s.listeners.filter((x) => x.direction === 'outbound')) assert.equal(l.policyPort, undefined);
  });

  test('without policies nothing is added', () => {
    const s = translated('bookinfo-all-v1', '');
    assert.equal(s.authorization, undefined);
    assert.ok(s.listeners.every((l) => l.policyPort === undefined));
  });

  test('a gateway gets its namespace policies whose selector matches it; its listeners name the pod port (80 → 8080)', () => {
    const s = translated('gateway-bookinfo', POLICIES);
    assert.deepEqual(names(s), ['istio-system/ingress-policy', 'istio-system/mesh-deny']);
    const http = s.listeners.find((l) => l.port === 18080);
    assert.equal(http?.policyPort, 8080);
  });

  test('the root namespace is the mesh config\'s', () => {
    const s = translated('bookinfo-all-v1', POLICIES, { rootNamespace: 'foo' });
    assert.deepEqual(names(s), ['default/allow-nothing', 'default/productpage-viewer', 'foo/elsewhere']);
  });

  test('targetRefs: a Gateway reference selects the gateway it names, and no sidecar', () => {
    const refs = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: by-ref, namespace: istio-system }
spec:
  targetRefs: [{ kind: Gateway, group: gateway.networking.k8s.io, name: istio-ingressgateway }]
  action: DENY
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: other-ref, namespace: istio-system }
spec:
  targetRefs: [{ kind: Gateway, group: gateway.networking.k8s.io, name: other }]
  action: DENY
  rules: [{}]
`;
    assert.deepEqual(names(translated('gateway-bookinfo', refs)), ['istio-system/by-ref']);
    assert.deepEqual(names(translated('bookinfo-all-v1', refs)), []);
  });

  test('CUSTOM: an unknown provider makes the policy deny what it matches, with a warning', () => {
    const custom = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ext-authz, namespace: default }
spec:
  action: CUSTOM
  provider: { name: sample-ext-authz-http }
  rules: [{ to: [{ operation: { paths: [/headers] } }] }]
`;
    const warnings: string[] = [];
    const s = translated('bookinfo-all-v1', custom, {}, warnings);
    assert.equal(s.authorization?.policies[0].action, 'DENY');
    assert.deepEqual(warnings.filter((w) => w.includes('ext-authz')), [
      'AuthorizationPolicy default/ext-authz: no extension provider "sample-ext-authz-http" in the mesh config; the requests it matches are denied',
    ]);
  });

  test('CUSTOM: a provider of the mesh config resolves to the cluster of its service', () => {
    const custom = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ext-authz, namespace: default }
spec:
  action: CUSTOM
  provider: { name: sample-ext-authz-http }
  rules: [{ to: [{ operation: { paths: [/headers] } }] }]
`;
    const s = translated('bookinfo-all-v1', custom, {
      extensionProviders: [
        { name: 'sample-ext-authz-http', envoyExtAuthzHttp: { service: 'details.default.svc.cluster.local', port: 9080, includeRequestHeadersInCheck: ['x-ext-authz'], timeout: '2s', failOpen: true } },
      ],
    });
    assert.deepEqual(s.authorization?.providers, [
      {
        name: 'sample-ext-authz-http',
        kind: 'http',
        cluster: 'outbound|9080||details.default.svc.cluster.local',
        authority: 'details.default.svc.cluster.local',
        timeoutMs: 2000,
        failOpen: true,
        includeRequestHeadersInCheck: ['x-ext-authz'],
      },
    ]);
    assert.equal(s.authorization?.policies[0].provider, 'sample-ext-authz-http');
  });
});

describe('RequestAuthentication selection', () => {
  const RA = `
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt-example, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  jwtRules:
  - issuer: testing@secure.istio.io
    jwksUri: https://raw.githubusercontent.com/istio/istio/release-1.28/security/tools/jwt/samples/jwks.json
    timeout: 3s
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: productpage, namespace: default }
spec:
  selector: { matchLabels: { app: productpage } }
  jwtRules:
  - issuer: a
    jwks: '{"keys":[]}'
    fromHeaders: [{ name: x-jwt, prefix: 'Token ' }]
    presence: REQUIRED
`;
  test('each proxy gets the JWT rules of the RequestAuthentications that select it', () => {
    assert.deepEqual(translated('gateway-bookinfo', RA).requestAuthentication, {
      rules: [
        {
          policy: 'istio-system/jwt-example',
          issuer: 'testing@secure.istio.io',
          jwksUri: 'https://raw.githubusercontent.com/istio/istio/release-1.28/security/tools/jwt/samples/jwks.json',
          timeoutMs: 3000,
        },
      ],
    });
    assert.deepEqual(translated('bookinfo-all-v1', RA).requestAuthentication, {
      rules: [{ policy: 'default/productpage', issuer: 'a', jwks: '{"keys":[]}', fromHeaders: [{ name: 'x-jwt', prefix: 'Token ' }], presence: 'REQUIRED' }],
    });
    assert.equal(translated('bookinfo-all-v1', '').requestAuthentication, undefined);
  });
});
