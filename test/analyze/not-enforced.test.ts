/**
 * SKF0005: what Skiff stores but does not act on yet is reported by `skiff analyze`, positioned
 * at the kind or at each field, from the same list `skiff apply` warns from.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NOT_ENFORCED, unenforcedUses } from '../../src/api/not-enforced.js';
import type { Resource } from '../../src/api/types.js';
import { analyzeDocs, service, summary } from './fixtures.js';

const VM_ENTRY = `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: vm
spec:
  address: 10.0.0.1
`;

const MTLS_RULE = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  trafficPolicy:
    tls:
      mode: ISTIO_MUTUAL
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      loadBalancer:
        simple: ROUND_ROBIN
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      portLevelSettings:
      - port: {number: 9080}
        tls: {mode: ISTIO_MUTUAL}
`;

test('a kind that changes nothing is reported, kind by kind; enforced policies are not', () => {
  const messages = analyzeDocs([`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
spec:
  mtls: {mode: STRICT}
`, VM_ENTRY, `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: allow-nothing
spec: {}
`]).filter((m) => m.code === 'SKF0005');
  assert.deepEqual(summary(messages), [
    'SKF0005 WorkloadEntry default/vm: WorkloadEntry is stored but not enforced by Skiff yet: it is no endpoint of any service: Service and ServiceEntry selectors select only the workloads the local runtime runs.',
  ]);
  assert.equal(messages[0].level, 'Warning');
  assert.equal(messages[0].name, 'NotEnforced');
  assert.equal(messages[0].origin?.line, 11, "at the WorkloadEntry's metadata.name");
});

test('no DestinationRule tls is reported: ISTIO_MUTUAL (mutual TLS with the workload certificate), SIMPLE and MUTUAL (origination) are all acted on', () => {
  assert.deepEqual(analyzeDocs([service('reviews'), MTLS_RULE]).filter((m) => m.code === 'SKF0005'), []);
  const originating = MTLS_RULE.replace('      mode: ISTIO_MUTUAL', '      mode: SIMPLE').replace('tls: {mode: ISTIO_MUTUAL}', 'tls: {mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem}');
  assert.deepEqual(analyzeDocs([service('reviews'), originating]).filter((m) => m.code === 'SKF0005'), []);
});

test('tls mode DISABLE is what happens anyway and is not reported', () => {
  const disabled = MTLS_RULE.replaceAll('ISTIO_MUTUAL', 'DISABLE');
  assert.deepEqual(analyzeDocs([service('reviews'), disabled]).filter((m) => m.code === 'SKF0005'), []);
});

test('Gateway: HTTPS servers terminating TLS and PASSTHROUGH servers are served; a TLS server terminating TLS is reported', () => {
  const gateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["a.example.com"]
    tls: {mode: SIMPLE, credentialName: a-cred}
  - port: {number: 8443, name: tls, protocol: TLS}
    hosts: ["b.example.com"]
    tls: {mode: PASSTHROUGH}
  - port: {number: 9443, name: tls-term, protocol: TLS}
    hosts: ["c.example.com"]
    tls: {mode: SIMPLE, credentialName: c-cred}
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["a.example.com"]
    tls: {httpsRedirect: true}
`;
  const messages = analyzeDocs([gateway]).filter((m) => m.code === 'SKF0005');
  assert.deepEqual(messages.map((m) => m.origin?.line), [16]);
  assert.match(messages[0].message, /^Gateway field servers\[\]\.tls is stored but not enforced by Skiff yet: TLS-protocol servers that terminate TLS/);
});

test('every entry names a kind Skiff stores, and every field entry can find its field', () => {
  for (const entry of NOT_ENFORCED) {
    assert.ok(entry.effect.length > 0, `${entry.kind} ${entry.field ?? ''} says what happens instead`);
    assert.equal(entry.field === undefined, entry.find === undefined, `${entry.kind} ${entry.field ?? ''}: a field entry has a finder and a kind entry has none`);
  }
  const locality: Resource = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'r', namespace: 'default' },
    spec: { host: 'r', trafficPolicy: { loadBalancer: { localityLbSetting: { enabled: true } } } },
  };
  assert.deepEqual(unenforcedUses(locality).map((u) => [u.entry.field, u.paths]), [['trafficPolicy.loadBalancer.localityLbSetting', [['spec', 'trafficPolicy', 'loadBalancer', 'localityLbSetting']]]]);
  // Balancing by the load endpoints report is enforced: nothing to say about it.
  const backend: Resource = { ...locality, spec: { host: 'r', trafficPolicy: { loadBalancer: { backendUtilization: {} } } } };
  assert.deepEqual(unenforcedUses(backend), []);
});
