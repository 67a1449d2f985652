/**
 * Automatic mutual TLS and PeerAuthentication in translation, as Istio decides them: which
 * clusters originate ISTIO_MUTUAL (and towards which endpoints, checking which SPIFFE ids), and
 * which filter chains each inbound port gets under mesh-wide, namespace-wide, workload and
 * port-level policies with Istio's precedence.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { translate } from '../../../src/controlplane/translate/index.js';
import type { MeshOptions, SidecarTarget } from '../../../src/controlplane/translate/index.js';
import type { RegistrySnapshot, Service, WorkloadInstance } from '../../../src/registry/types.js';
import { withDefaults } from '../../../src/snapshot/index.js';
import type { ClusterConfigInput, ListenerConfig, ProxySnapshot } from '../../../src/snapshot/index.js';
import { loadYaml } from './cases.js';

function httpbinService(namespace: string): Service {
  return { name: 'httpbin', namespace, hostname: `httpbin.${namespace}.svc.cluster.local`, ports: [{ name: 'http', port: 8000, targetPort: 8080, protocol: 'TCP' }], selector: { app: 'httpbin' } };
}

let nextPort = 21000;
function workload(app: string, namespace: string, sidecar: boolean): WorkloadInstance {
  const meshPort = nextPort++;
  const appPort = sidecar ? nextPort++ : meshPort;
  const w: WorkloadInstance = {
    name: `${app}-1`,
    namespace,
    labels: { app },
    serviceAccount: app,
    address: '127.0.0.1',
    ready: true,
    meshPorts: { 8080: meshPort, 9090: meshPort + 100 },
    appPorts: { 8080: appPort, 9090: appPort + 200 },
  };
  if (sidecar) w.sidecar = { outboundPort: nextPort++, adminPort: nextPort++, proxyId: `${app}-1.${namespace}` };
  return w;
}

const workloads = [workload('httpbin', 'foo', true), workload('curl', 'foo', true), workload('httpbin', 'bar', true), workload('httpbin', 'legacy', false)];
const registry: RegistrySnapshot = { services: ['foo', 'bar', 'legacy'].map(httpbinService), workloads };
const [httpbinFoo, curlFoo, httpbinBar] = workloads;
const sidecar = (w: WorkloadInstance): SidecarTarget => ({ kind: 'sidecar', id: w.sidecar!.proxyId, workload: w });

function snapshotOf(w: WorkloadInstance, yaml = '', mesh?: Partial<MeshOptions>): ProxySnapshot {
  return translate({ config: yaml === '' ? [] : loadYaml('config.yaml', yaml), registry, proxy: sidecar(w), ...(mesh === undefined ? {} : { mesh }) });
}

function clusterTo(snap: ProxySnapshot, namespace: string): ClusterConfigInput {
  const c = snap.clusters.find((x) => x.name === `outbound|8000||httpbin.${namespace}.svc.cluster.local`);
  assert.ok(c !== undefined, `no cluster to httpbin.${namespace}`);
  return c;
}

function inbound(snap: ProxySnapshot, containerPort: number): ListenerConfig {
  const l = snap.listeners.find((x) => x.name === `inbound_${containerPort}`);
  assert.ok(l !== undefined, `no inbound listener for ${containerPort}`);
  return l;
}

/** The mode an inbound port enforces: DISABLE when it has no chains (every connection served as it arrives). */
function inboundMode(snap: ProxySnapshot, containerPort: number): string {
  const chains = inbound(snap, containerPort).filterChains;
  if (chains === undefined) return 'DISABLE';
  assert.equal(chains.length, 1);
  assert.deepEqual(chains[0].transport?.tls, { mode: 'ISTIO_MUTUAL' });
  return chains[0].transport?.mode ?? 'DISABLE';
}

const pa = (name: string, namespace: string, body: string): string => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${body}
---
`;

describe('automatic mutual TLS', () => {
  test('towards endpoints with a sidecar: ISTIO_MUTUAL for them only, checking the service account of the service', () => {
    const c = clusterTo(snapshotOf(curlFoo), 'foo');
    assert.deepEqual(c.tls, { mode: 'ISTIO_MUTUAL', subjectAltNames: ['spiffe://cluster.local/ns/foo/sa/httpbin'], autoMtls: true });
    // SNI and ALPN as Istio's: resolved with the snapshot's defaults.
    const resolved = withDefaults(c);
    assert.equal(resolved.tls?.sni, 'outbound_.8000_._.httpbin.foo.svc.cluster.local');
    assert.deepEqual(resolved.tls?.alpn, ['istio-peer-exchange', 'istio']);
  });

  test('towards a service whose endpoints have no sidecar: plaintext', () => {
    assert.equal(clusterTo(snapshotOf(curlFoo), 'legacy').tls, undefined);
  });

  test('a DestinationRule tls DISABLE (or a tls without mode) turns it off; ISTIO_MUTUAL applies to every endpoint', () => {
    const dr = (host: string, tls: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${host.split('.')[1]}, namespace: foo }
spec:
  host: ${host}
  trafficPolicy: { tls: ${tls} }
---
`;
    const snap = snapshotOf(curlFoo, dr('httpbin.foo.svc.cluster.local', '{ mode: DISABLE }') + dr('httpbin.bar.svc.cluster.local', '{ sni: x.example }') + dr('httpbin.legacy.svc.cluster.local', '{ mode: ISTIO_MUTUAL }'));
    assert.deepEqual(clusterTo(snap, 'foo').tls, { mode: 'DISABLE' });
    assert.equal(clusterTo(snap, 'bar').tls, undefined);
    assert.deepEqual(clusterTo(snap, 'legacy').tls, { mode: 'ISTIO_MUTUAL', subjectAltNames: ['spiffe://cluster.local/ns/legacy/sa/httpbin'] });
  });

  test("ISTIO_MUTUAL keeps the rule's own subjectAltNames and sni; port-level DISABLE applies to its port", () => {
    const snap = snapshotOf(
      curlFoo,
      `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: httpbin, namespace: foo }
spec:
  host: httpbin.foo.svc.cluster.local
  trafficPolicy:
    tls: { mode: ISTIO_MUTUAL, subjectAltNames: ["spiffe://cluster.local/ns/foo/sa/other"], sni: my.sni }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: httpbin-bar, namespace: foo }
spec:
  host: httpbin.bar.svc.cluster.local
  trafficPolicy:
    tls: { mode: ISTIO_MUTUAL }
    portLevelSettings:
    - port: { number: 8000 }
      tls: { mode: DISABLE }
`,
    );
    assert.deepEqual(clusterTo(snap, 'foo').tls, { mode: 'ISTIO_MUTUAL', subjectAltNames: ['spiffe://cluster.local/ns/foo/sa/other'], sni: 'my.sni' });
    assert.deepEqual(clusterTo(snap, 'bar').tls, { mode: 'DISABLE' });
  });

  test("a destination namespace's (or the mesh's) DISABLE makes clients send plaintext; a workload's DISABLE does not (Istio infers from namespace and mesh only)", () => {
    const nsDisable = snapshotOf(curlFoo, pa('default', 'bar', '  mtls: { mode: DISABLE }'));
    assert.equal(clusterTo(nsDisable, 'bar').tls, undefined);
    assert.equal(clusterTo(nsDisable, 'foo').tls?.mode, 'ISTIO_MUTUAL');
    const meshDisable = snapshotOf(curlFoo, pa('default', 'istio-system', '  mtls: { mode: DISABLE }') + pa('default', 'foo', '  mtls: { mode: STRICT }'));
    assert.equal(clusterTo(meshDisable, 'bar').tls, undefined);
    assert.equal(clusterTo(meshDisable, 'foo').tls?.mode, 'ISTIO_MUTUAL', "foo's own STRICT overrides the mesh's DISABLE");
    const workloadDisable = snapshotOf(curlFoo, pa('httpbin', 'bar', '  selector: { matchLabels: { app: httpbin } }\n  mtls: { mode: DISABLE }'));
    assert.equal(clusterTo(workloadDisable, 'bar').tls?.mode, 'ISTIO_MUTUAL');
  });
});

describe('PeerAuthentication on inbound ports', () => {
  test('without any policy every inbound port is PERMISSIVE: mutual TLS and plaintext on the same port', () => {
    const snap = snapshotOf(httpbinFoo);
    assert.equal(inboundMode(snap, 8080), 'PERMISSIVE');
    assert.equal(inboundMode(snap, 9090), 'PERMISSIVE');
  });

  test('mesh-wide STRICT in the root namespace applies to every namespace; the root namespace follows the mesh config', () => {
    const strict = pa('default', 'istio-system', '  mtls: { mode: STRICT }');
    assert.equal(inboundMode(snapshotOf(httpbinFoo, strict), 8080), 'STRICT');
    assert.equal(inboundMode(snapshotOf(httpbinBar, strict), 8080), 'STRICT');
    assert.equal(inboundMode(snapshotOf(httpbinFoo, strict, { rootNamespace: 'mesh-root' }), 8080), 'PERMISSIVE', 'istio-system is no root namespace here');
    assert.equal(inboundMode(snapshotOf(httpbinFoo, pa('default', 'mesh-root', '  mtls: { mode: STRICT }'), { rootNamespace: 'mesh-root' }), 8080), 'STRICT');
  });

  test('a namespace policy overrides the mesh one; UNSET (or no mtls) inherits it', () => {
    const mesh = pa('default', 'istio-system', '  mtls: { mode: STRICT }');
    assert.equal(inboundMode(snapshotOf(httpbinFoo, mesh + pa('default', 'foo', '  mtls: { mode: PERMISSIVE }')), 8080), 'PERMISSIVE');
    assert.equal(inboundMode(snapshotOf(httpbinBar, mesh + pa('default', 'foo', '  mtls: { mode: PERMISSIVE }')), 8080), 'STRICT', 'only foo is affected');
    assert.equal(inboundMode(snapshotOf(httpbinFoo, mesh + pa('default', 'foo', '  mtls: { mode: UNSET }')), 8080), 'STRICT');
    assert.equal(inboundMode(snapshotOf(httpbinFoo, pa('default', 'foo', '  mtls: { mode: DISABLE }')), 8080), 'DISABLE');
  });

  test('a workload policy overrides its namespace for the workloads it selects only', () => {
    const config = pa('default', 'foo', '  mtls: { mode: STRICT }') + pa('overwrite-example', 'foo', '  selector: { matchLabels: { app: httpbin } }\n  mtls: { mode: DISABLE }');
    assert.equal(inboundMode(snapshotOf(httpbinFoo, config), 8080), 'DISABLE');
    assert.equal(inboundMode(snapshotOf(curlFoo, config), 8080), 'STRICT');
    const unset = pa('default', 'foo', '  mtls: { mode: STRICT }') + pa('ports', 'foo', '  selector: { matchLabels: { app: httpbin } }\n  portLevelMtls: { "9090": { mode: DISABLE } }');
    assert.equal(inboundMode(snapshotOf(httpbinFoo, unset), 8080), 'STRICT', 'a workload policy without mtls inherits the namespace mode');
  });

  test('portLevelMtls sets the mode of its container port; UNSET there inherits the workload mode', () => {
    const config = pa(
      'httpbin',
      'bar',
      `  selector: { matchLabels: { app: httpbin } }
  mtls: { mode: STRICT }
  portLevelMtls:
    "8080": { mode: DISABLE }
    "9090": { mode: UNSET }`,
    );
    const snap = snapshotOf(httpbinBar, config);
    assert.equal(inboundMode(snap, 8080), 'DISABLE');
    assert.equal(inboundMode(snap, 9090), 'STRICT');
  });

  test('among competing policies at one level the oldest wins', () => {
    const older = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: b-older, namespace: foo, creationTimestamp: "2024-01-01T00:00:00Z" }
spec: { selector: { matchLabels: { app: httpbin } }, mtls: { mode: STRICT } }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: a-newer, namespace: foo, creationTimestamp: "2025-01-01T00:00:00Z" }
spec: { selector: { matchLabels: { app: httpbin } }, mtls: { mode: DISABLE } }
`;
    assert.equal(inboundMode(snapshotOf(httpbinFoo, older), 8080), 'STRICT');
  });

  test('a policy with a selector in the root namespace is no mesh-wide policy', () => {
    assert.equal(inboundMode(snapshotOf(httpbinFoo, pa('sel', 'istio-system', '  selector: { matchLabels: { app: httpbin } }\n  mtls: { mode: STRICT }')), 8080), 'PERMISSIVE');
  });
});
