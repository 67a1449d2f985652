import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { validateResource } from '../../src/api/validate.js';
import { formatPath, type Resource } from '../../src/api/types.js';
import type { DeploymentSpec, ServiceSpec } from '../../src/api/kinds/kube/index.js';
import { requireIstioSamples, skipWithoutIstioSamples } from '../helpers/shared.js';

function check(doc: Record<string, unknown>): { resource?: Resource; errors: string[] } {
  const r = validateResource(doc);
  return { resource: r.resource, errors: r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`) };
}

const deployment = (podSpec: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'reviews-v1', labels: { app: 'reviews' } },
  spec: { selector: { matchLabels: { app: 'reviews' } }, template: { metadata: { labels: { app: 'reviews', version: 'v1' } }, spec: podSpec }, ...extra },
});

test('Service: defaults protocol TCP and type ClusterIP; targetPort may be a number or a name', () => {
  const { resource, errors } = check({
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'details' },
    spec: { selector: { app: 'details' }, ports: [{ name: 'http', port: 9080 }, { name: 'grpc', port: 9090, targetPort: 'grpc', appProtocol: 'grpc' }] },
  });
  assert.deepEqual(errors, []);
  const spec = resource?.spec as ServiceSpec;
  assert.equal(spec.type, 'ClusterIP');
  assert.deepEqual(spec.ports?.map((p) => p.protocol), ['TCP', 'TCP']);
});

test('Service: ports need names when there are several, in range, unique; nodePort only for NodePort', () => {
  const svc = (spec: unknown): string[] => check({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec }).errors;
  assert.deepEqual(svc({ ports: [{ port: 80 }, { port: 81 }] }), [
    'spec.ports[0].name: port name is required when a Service has more than one port',
    'spec.ports[1].name: port name is required when a Service has more than one port',
  ]);
  assert.deepEqual(svc({ ports: [{ name: 'a', port: 70000 }] }), ['spec.ports[0].port: must be an integer between 1 and 65535 (got 70000)']);
  assert.deepEqual(svc({ ports: [{ name: 'a', port: 80, targetPort: true }] }), ['spec.ports[0].targetPort: must be an integer or a string (got true)']);
  assert.deepEqual(svc({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), ['spec.ports[1].name: duplicate port name "a"']);
  assert.deepEqual(svc({ ports: [{ name: 'a', port: 80, nodePort: 30080 }] }), ['spec.ports[0].nodePort: nodePort may only be set when type is NodePort or LoadBalancer (type is ClusterIP)']);
  assert.deepEqual(svc({ type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: 30080 }] }), []);
  assert.deepEqual(svc({ ports: [{ name: 'a', port: 80, protocol: 'tcp' }] }), ['spec.ports[0].protocol: must be one of "TCP", "UDP", "SCTP" (got "tcp"); did you mean "TCP"?']);
  assert.deepEqual(svc({ clusterIP: 'None', selector: { app: 'a' } }), [], 'a headless Service needs no ports');
});

test('Deployment: replicas default 1, probe defaults, a full pod spec', () => {
  const { resource, errors } = check(deployment({
    serviceAccountName: 'bookinfo-reviews',
    containers: [{
      name: 'reviews',
      image: 'docker.io/istio/examples-bookinfo-reviews-v1:1.20.2',
      imagePullPolicy: 'IfNotPresent',
      command: ['/bin/sh'],
      args: ['-c', 'run'],
      env: [{ name: 'LOG_DIR', value: '/tmp/logs' }, { name: 'POD_NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
      ports: [{ name: 'http', containerPort: 9080 }],
      readinessProbe: { httpGet: { path: '/health', port: 'http' } },
      livenessProbe: { tcpSocket: { port: 9080 }, initialDelaySeconds: 5 },
      startupProbe: { exec: { command: ['true'] } },
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: 1 } },
      securityContext: { runAsUser: 1000, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, { name: 'cfg', mountPath: '/etc/cfg', readOnly: true }],
    }],
    volumes: [{ name: 'tmp', emptyDir: {} }, { name: 'cfg', configMap: { name: 'reviews-config' } }],
  }));
  assert.deepEqual(errors, []);
  const spec = resource?.spec as DeploymentSpec;
  assert.equal(spec.replicas, 1);
  const probe = spec.template.spec.containers[0]?.readinessProbe;
  assert.deepEqual(probe, { httpGet: { path: '/health', port: 'http', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
  assert.equal(spec.template.spec.containers[0]?.ports?.[0]?.protocol, 'TCP');
});

test('Deployment: selector must match the template labels', () => {
  const d = deployment({ containers: [{ name: 'c', image: 'i' }] });
  ((d.spec as DeploymentSpec).template.metadata ??= {}).labels = { app: 'other' };
  assert.deepEqual(check(d).errors, ['spec.template.metadata.labels: `selector` does not match template `labels`']);
  assert.deepEqual(check({ ...d, spec: { ...(d.spec as object), selector: {} } }).errors, ['spec.selector: selector must not be empty']);
});

test('Pod spec rules: container names, port names, probe ports, mounts, env sources, volume sources', () => {
  const errs = check(deployment({
    containers: [
      { name: 'App', image: 'i', ports: [{ name: 'http-port-too-long', containerPort: 80 }], readinessProbe: { httpGet: { port: 'metrics' } }, volumeMounts: [{ name: 'missing', mountPath: '/m' }] },
      { name: 'side', image: 'i', env: [{ name: 'A', value: 'x', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] },
    ],
    volumes: [{ name: 'empty' }],
  })).errors;
  assert.deepEqual(errs, ['spec.template.spec.containers[1].env[0]: only one of value, valueFrom may be set (found value and valueFrom)']);
  const ruleErrs = check(deployment({
    containers: [
      { name: 'App', image: 'i', ports: [{ name: 'http-port-too-long', containerPort: 80 }], readinessProbe: { httpGet: { port: 'metrics' } }, volumeMounts: [{ name: 'missing', mountPath: '/m' }] },
      { name: 'side', image: 'i' },
      { name: 'side', image: 'i', livenessProbe: { periodSeconds: 5 } },
    ],
    volumes: [{ name: 'empty' }],
  })).errors;
  assert.deepEqual(ruleErrs, [
    'spec.template.spec.volumes[0]: volume "empty" needs a source (emptyDir, configMap, secret, ...)',
    'spec.template.spec.containers[0].name: invalid container name "App": must be a DNS-1123 label: lowercase letters, digits and \'-\', starting and ending with a letter or digit',
    'spec.template.spec.containers[0].ports[0].name: invalid port name "http-port-too-long": must be no more than 15 characters',
    'spec.template.spec.containers[0].readinessProbe.httpGet.port: port "metrics" is not a named port of this container',
    'spec.template.spec.containers[0].volumeMounts[0].name: volume "missing" is not defined in volumes',
    'spec.template.spec.containers[2].name: duplicate container name "side"',
    'spec.template.spec.containers[2].livenessProbe: a probe needs one of exec, httpGet, tcpSocket or grpc',
  ]);
});

test('Pod: containers are required; resource quantities are checked', () => {
  const pod = (spec: unknown): string[] => check({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec }).errors;
  assert.deepEqual(pod({ containers: [] }), ['spec.containers: must have at least 1 item']);
  assert.deepEqual(pod({}), ['spec.containers: required field "containers" is missing']);
  assert.deepEqual(pod({ containers: [{ name: 'c', image: 'i', resources: { limits: { memory: '1GB' } } }] }), [
    'spec.containers[0].resources.limits.memory: must be a quantity such as 100m, 0.5, 128Mi or 1Gi (got "1GB")',
  ]);
  assert.deepEqual(pod({ containers: [{ name: 'c', image: 'i', imagePullPolicy: 'Allways' }] }), [
    'spec.containers[0].imagePullPolicy: must be one of "Always", "IfNotPresent", "Never" (got "Allways"); did you mean "Always"?',
  ]);
});

test('ConfigMap, Secret, ServiceAccount, Namespace', () => {
  assert.deepEqual(check({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { key: 'aGVsbG8=' }, stringData: { other: 'x' } }).errors, []);
  assert.deepEqual(check({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { key: 'not base64!' } }).errors, ['data.key: must be base64-encoded bytes']);
  assert.equal(check({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }).resource?.type, 'Opaque');
  assert.deepEqual(check({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'bad/key': 'x', n: 1 } }).errors, ['data.n: must be a string (got 1)']);
  assert.deepEqual(check({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'bad/key': 'x' } }).errors, [
    'data.bad/key: invalid key "bad/key": use letters, digits, \'-\', \'_\' and \'.\' (at most 253 characters)',
  ]);
  assert.deepEqual(check({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bookinfo-details', labels: { account: 'details' } } }).errors, []);
  assert.deepEqual(check({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bookinfo', labels: { 'istio-injection': 'enabled' } } }).errors, []);
});

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(name) && name !== 'istio-crds.gen.yaml' ? [p] : [];
  });
}

test('every Kubernetes resource in Istio\'s samples uses only known fields and validates', { skip: skipWithoutIstioSamples }, () => {
  const kubeKinds = new Set(['Namespace', 'ServiceAccount', 'Service', 'Pod', 'ConfigMap', 'Secret', 'Deployment']);
  const problems: string[] = [];
  let seen = 0;
  for (const file of yamlFiles(requireIstioSamples())) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const js: unknown = doc.toJS();
      if (typeof js !== 'object' || js === null || !kubeKinds.has(String((js as { kind?: unknown }).kind))) continue;
      seen++;
      for (const i of validateResource(js).issues) problems.push(`${file}: ${formatPath(i.path)}: ${i.message}`);
    }
  }
  assert.ok(seen > 50, `expected many Kubernetes resources in the samples, saw ${seen}`);
  assert.deepEqual(problems, []);
});
