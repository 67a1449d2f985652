/**
 * What Kubernetes objects tell the mesh about capture: an injected pod's instance has a captured
 * sidecar (its `istio-init` runs `skiff iptables`; the interception-mode annotation overrides,
 * NONE turning capture off), a pod without a sidecar or the gateway's has none; a Service's
 * ClusterIPs reach the registry, none for a headless or ExternalName Service.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { injectPod } from '../../src/kube/inject.js';
import type { KubeObject } from '../../src/kube/client.js';
import { workloadOfPod } from '../../src/kube/workloads.js';
import { serviceFromResource } from '../../src/registry/kube.js';
import type { Resource } from '../../src/api/types.js';

const APP = { name: 'reviews', image: 'docker.io/istio/examples-bookinfo-reviews-v1:1.20.2', ports: [{ containerPort: 9080 }] };

function pod(spec: Record<string, unknown>, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'reviews-v1-0', namespace: 'default', labels: { app: 'reviews', ...labels }, annotations }, spec, status: { podIP: '10.244.1.7' } };
}

/** A pod as the injection webhook writes it (regular or native sidecar). */
function injected(nativeSidecar: boolean, annotations: Record<string, string> = {}): KubeObject {
  const template = injectPod({ metadata: { labels: { app: 'reviews' }, annotations }, spec: { containers: [structuredClone(APP)] } }, { image: 'skiff:test', controlPlaneUrl: 'https://skiffd.istio-system.svc:15012', nativeSidecar });
  const meta = template.metadata as { labels: Record<string, string>; annotations: Record<string, string> };
  return pod(template.spec as Record<string, unknown>, meta.labels, meta.annotations);
}

test("an injected pod's sidecar is captured, with its inbound capture port; the workload's ports are the app's", () => {
  for (const native of [false, true]) {
    const w = workloadOfPod(injected(native), true);
    assert.deepEqual(w?.sidecar, { outboundPort: 15001, adminPort: 15000, proxyId: 'reviews-v1-0.default', capture: { inboundPort: 15006 } }, `native sidecar: ${native}`);
    assert.deepEqual([w?.address, w?.meshPorts, w?.appPorts], ['10.244.1.7', { 9080: 9080 }, { 9080: 9080 }]);
  }
});

test('the interception-mode annotation decides: NONE is not captured, REDIRECT is', () => {
  assert.equal(workloadOfPod(injected(false, { 'sidecar.istio.io/interceptionMode': 'NONE' }), true)?.sidecar?.capture, undefined);
  // A sidecar labelled by hand, without istio-init, captured because its pod says so.
  const labelled = pod({ containers: [APP] }, { 'security.istio.io/tlsMode': 'istio' }, { 'sidecar.istio.io/interceptionMode': 'REDIRECT' });
  assert.deepEqual(workloadOfPod(labelled, true)?.sidecar?.capture, { inboundPort: 15006 });
});

test('a sidecar without istio-init, a pod without a sidecar and the gateway pod are not captured', () => {
  const labelled = pod({ containers: [APP] }, { 'security.istio.io/tlsMode': 'istio' });
  assert.ok(workloadOfPod(labelled, true)?.sidecar !== undefined);
  assert.equal(workloadOfPod(labelled, true)?.sidecar?.capture, undefined);
  assert.equal(workloadOfPod(pod({ containers: [APP] }), true)?.sidecar, undefined);
  const gateway = pod({ containers: [{ name: 'istio-proxy', args: ['proxy', '--kind', 'gateway'], ports: [{ containerPort: 8080 }] }] }, { istio: 'ingressgateway' });
  assert.equal(workloadOfPod(gateway, true)?.sidecar, undefined);
});

function service(spec: Record<string, unknown>): Resource {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: 'default' }, spec: { ports: [{ port: 9080 }], selector: { app: 'reviews' }, ...spec } };
}

test("a Service's ClusterIPs reach the registry: clusterIPs first, else clusterIP; none when headless or ExternalName", () => {
  assert.deepEqual(serviceFromResource(service({ clusterIP: '10.96.0.30', clusterIPs: ['10.96.0.30', 'fd00:10:96::30'] })).clusterIPs, ['10.96.0.30', 'fd00:10:96::30']);
  assert.deepEqual(serviceFromResource(service({ clusterIP: '10.96.0.30' })).clusterIPs, ['10.96.0.30']);
  assert.equal(serviceFromResource(service({ clusterIP: 'None', clusterIPs: ['None'] })).clusterIPs, undefined);
  assert.equal(serviceFromResource(service({ type: 'ExternalName', externalName: 'reviews.example.com', clusterIP: '' })).clusterIPs, undefined);
  // The local runtime's Services: no address assigned.
  assert.equal(serviceFromResource(service({})).clusterIPs, undefined);
});
