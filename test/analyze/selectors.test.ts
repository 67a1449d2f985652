import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDocs, analyzeDocs as analyzeSet, codes, deployment, destinationRule, gateway, service, summary } from './fixtures.js';

test('IST0101 selector: a Gateway selecting no gateway workload; the built-in ingress gateway always counts', () => {
  assert.deepEqual(summary(analyzeDocs([gateway('gw', ['*'])])), [], 'istio: ingressgateway is provided by Skiff');
  const bad = analyzeDocs([gateway('gw', ['*'], { istio: 'my-gateway' })]);
  assert.deepEqual(summary(bad), ['IST0101 Gateway default/gw: Referenced selector not found: "istio=my-gateway"']);
  // Gateway selectors look in every namespace.
  const fixed = analyzeDocs([gateway('gw', ['*'], { istio: 'my-gateway' }), deployment('my-gateway', { istio: 'my-gateway' }, 'edge')]);
  assert.deepEqual(summary(fixed), []);
});

const policy = (kind: string, selector: string, namespace?: string): string => `apiVersion: security.istio.io/v1
kind: ${kind}
metadata:
  name: ${kind.toLowerCase()}
${namespace ? `  namespace: ${namespace}\n` : ''}spec:
  selector:
    matchLabels:
      app: ${selector}
${kind === 'PeerAuthentication' ? '  mtls:\n    mode: STRICT\n' : ''}`;

test('IST0127: PeerAuthentication, RequestAuthentication and AuthorizationPolicy selecting no workload in their namespace', () => {
  // These kinds are also reported as not enforced (SKF0005, not-enforced.test.ts); only selectors matter here.
  const analyzeDocs = (...args: Parameters<typeof analyzeSet>): ReturnType<typeof analyzeSet> => analyzeSet(...args).filter((m) => m.code !== 'SKF0005');
  for (const kind of ['PeerAuthentication', 'RequestAuthentication', 'AuthorizationPolicy']) {
    const bad = analyzeDocs([deployment('reviews-v1', { app: 'reviews' }), policy(kind, 'reveiws')]);
    assert.deepEqual(summary(bad), [`IST0127 ${kind} default/${kind.toLowerCase()}: No matching workloads for this resource with the following labels: app=reveiws`]);
    assert.equal(bad[0].level, 'Warning');
    assert.deepEqual(summary(analyzeDocs([deployment('reviews-v1', { app: 'reviews' }), policy(kind, 'reviews')])), []);
    // The workload must be in the policy's namespace...
    assert.deepEqual(codes(analyzeDocs([deployment('reviews-v1', { app: 'reviews' }, 'other'), policy(kind, 'reviews')])), ['IST0127']);
    // ...unless the policy is in the root namespace, which applies mesh-wide.
    assert.deepEqual(codes(analyzeDocs([deployment('reviews-v1', { app: 'reviews' }, 'other'), policy(kind, 'reviews', 'istio-system')], { allNamespaces: true })), []);
  }
});

test('IST0127: a DestinationRule workloadSelector selecting nothing', () => {
  const dr = destinationRule('reviews', 'reviews', [], '  workloadSelector:\n    matchLabels:\n      app: productpage\n');
  const bad = analyzeDocs([service('reviews'), dr]);
  assert.deepEqual(codes(bad), ['IST0127']);
  assert.deepEqual(summary(analyzeDocs([service('reviews'), deployment('productpage-v1', { app: 'productpage' }), dr])), []);
});

const sidecar = (name: string, labels?: Record<string, string>): string => `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: ${name}
spec:
${labels ? `  workloadSelector:\n    labels:\n${Object.entries(labels).map(([k, v]) => `      ${k}: ${v}\n`).join('')}` : ''}  egress:
  - hosts:
    - "./*"
`;

test('Sidecars: IST0101 selector matching nothing, IST0110 two selecting one workload, IST0111 two without selector', () => {
  const app = deployment('reviews-v1', { app: 'reviews' });
  assert.deepEqual(summary(analyzeDocs([app, sidecar('s1', { app: 'ratings' })])), ['IST0101 Sidecar default/s1: Referenced selector not found: "app=ratings"']);
  assert.deepEqual(summary(analyzeDocs([app, sidecar('s1', { app: 'reviews' })])), []);
  const twice = analyzeDocs([app, sidecar('s1', { app: 'reviews' }), sidecar('s2', { app: 'reviews' })]);
  assert.deepEqual(codes(twice), ['IST0110', 'IST0110']);
  assert.match(twice[0].message, /The Sidecars \[s1 s2\] in namespace "default" select the same workload pod "reviews-v1"/);
  assert.deepEqual(codes(analyzeDocs([app, sidecar('s1'), sidecar('s2')])), ['IST0111', 'IST0111']);
  assert.deepEqual(codes(analyzeDocs([app, sidecar('s1')])), []);
});
