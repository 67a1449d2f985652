/**
 * skiff analyze on DestinationRule tls against PeerAuthentication: the settings that would break
 * traffic are reported where they are written (IST0113 on the rule, SKF0009 on a workload policy
 * that automatic mTLS would ignore), and the pairings Istio's tasks use are quiet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDocs, deployment, summary } from './fixtures.js';

const NS = 'bar';

/** httpbin as Istio's sample: Service port 8000 → container port 8080. */
const HTTPBIN = [
  `apiVersion: v1
kind: Service
metadata: { name: httpbin, namespace: ${NS} }
spec:
  selector: { app: httpbin }
  ports:
  - { name: http, port: 8000, targetPort: 8080 }
`,
  deployment('httpbin', { app: 'httpbin' }, NS),
];

const pa = (name: string, namespace: string, spec: string): string => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${spec}
`;
const dr = (tls: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: httpbin, namespace: ${NS} }
spec:
  host: httpbin.${NS}.svc.cluster.local
  trafficPolicy:
${tls}
`;

const mtls = (docs: string[]): string[] => summary(analyzeDocs([...HTTPBIN, ...docs], { allNamespaces: true }).filter((m) => m.code === 'IST0113' || m.code === 'SKF0009'));

test('DISABLE towards a STRICT workload is a conflict, reported on the rule at its tls', () => {
  const messages = analyzeDocs([...HTTPBIN, pa('default', 'istio-system', '  mtls: { mode: STRICT }'), dr('    tls: { mode: DISABLE }')], { allNamespaces: true }).filter((m) => m.code === 'IST0113');
  assert.deepEqual(summary(messages), [
    'IST0113 DestinationRule bar/httpbin: A DestinationRule and Policy are in conflict with regards to mTLS for host httpbin.bar.svc.cluster.local. The DestinationRule "bar/httpbin" specifies that mTLS must be false but the policy object specifies STRICT for bar/httpbin port 8080.',
  ]);
  assert.equal(messages[0].level, 'Error');
  assert.equal(messages[0].origin?.line, 39, 'at trafficPolicy.tls');
});

test('ISTIO_MUTUAL towards a DISABLE port, or towards a workload without a sidecar, is a conflict', () => {
  assert.deepEqual(mtls([pa('httpbin', NS, '  selector: { matchLabels: { app: httpbin } }\n  portLevelMtls: { "8080": { mode: DISABLE } }'), dr('    tls: { mode: ISTIO_MUTUAL }')]), [
    'IST0113 DestinationRule bar/httpbin: A DestinationRule and Policy are in conflict with regards to mTLS for host httpbin.bar.svc.cluster.local. The DestinationRule "bar/httpbin" specifies that mTLS must be true but the policy object specifies DISABLE for bar/httpbin port 8080.',
  ]);
  const legacy = `apiVersion: v1
kind: Namespace
metadata: { name: ${NS}, labels: { istio-injection: disabled } }
`;
  assert.deepEqual(mtls([legacy, dr('    tls: { mode: ISTIO_MUTUAL }')]), [
    'IST0113 DestinationRule bar/httpbin: A DestinationRule and Policy are in conflict with regards to mTLS for host httpbin.bar.svc.cluster.local. The DestinationRule "bar/httpbin" specifies that mTLS must be true but the policy object specifies no sidecar for bar/httpbin (it cannot accept mutual TLS).',
  ]);
});

test('a workload or port-level DISABLE without a DestinationRule DISABLE breaks automatic mTLS (SKF0009); with it, quiet', () => {
  const portDisable = pa('httpbin', NS, '  selector: { matchLabels: { app: httpbin } }\n  mtls: { mode: STRICT }\n  portLevelMtls: { "8080": { mode: DISABLE } }');
  assert.deepEqual(mtls([portDisable]), [
    'SKF0009 PeerAuthentication bar/httpbin: Mutual TLS is disabled for bar/httpbin port 8080, but clients of httpbin.bar.svc.cluster.local:8000 use automatic mutual TLS and will fail; add a DestinationRule for httpbin.bar.svc.cluster.local with tls mode DISABLE (on port 8000).',
  ]);
  // Istio's port-level step: the DestinationRule turns TLS off on port 8000 only.
  assert.deepEqual(mtls([portDisable, dr('    tls: { mode: ISTIO_MUTUAL }\n    portLevelSettings:\n    - port: { number: 8000 }\n      tls: { mode: DISABLE }')]), []);
});

test("Istio's migration steps that work are quiet: STRICT with ISTIO_MUTUAL, a namespace DISABLE (clients follow it), no policy at all", () => {
  assert.deepEqual(mtls([pa('httpbin', NS, '  selector: { matchLabels: { app: httpbin } }\n  mtls: { mode: STRICT }'), dr('    tls: { mode: ISTIO_MUTUAL }')]), []);
  assert.deepEqual(mtls([pa('default', NS, '  mtls: { mode: DISABLE }')]), []);
  assert.deepEqual(mtls([]), []);
});
