/**
 * Kubernetes core/v1 kinds besides Pod: Namespace, ServiceAccount, Service, ConfigMap and Secret,
 * with the API server's defaults and the checks that matter for running them locally.
 */
import type { Static } from 'typebox';
import { Bool, Bytes, Enum, Int32, IntOrString, List, MapOf, Opt, Str, StringList, StringMap, Strict } from '../../schema-kit.js';
import type { Issue, KindDef, Resource } from '../../types.js';
import { portNameProblem } from './pod.js';

const LocalRef = Strict({ name: Opt(Str()) });

export const namespace: KindDef = {
  group: '',
  kind: 'Namespace',
  plural: 'namespaces',
  versions: ['v1'],
  namespaced: false,
  nameFormat: 'label',
  schema: Strict({ finalizers: Opt(StringList()) }),
};

export const ServiceAccountBody = Strict({
  automountServiceAccountToken: Opt(Bool()),
  secrets: Opt(List(Strict({ name: Opt(Str()), namespace: Opt(Str()), kind: Opt(Str()), apiVersion: Opt(Str()), uid: Opt(Str()), fieldPath: Opt(Str()), resourceVersion: Opt(Str()) }))),
  imagePullSecrets: Opt(List(LocalRef)),
});

export const serviceAccount: KindDef = {
  group: '',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  versions: ['v1'],
  namespaced: true,
  topLevel: true,
  schema: ServiceAccountBody,
};

const ServicePort = Strict({
  name: Opt(Str({ description: 'DNS-1123 label; required when the Service has more than one port.' })),
  port: Int32({ minimum: 1, maximum: 65535 }),
  targetPort: Opt(IntOrString({ description: 'Number or name of the port on the pods; defaults to `port`.' })),
  protocol: Opt(Enum(['TCP', 'UDP', 'SCTP'] as const, { default: 'TCP' })),
  appProtocol: Opt(Str()),
  nodePort: Opt(Int32({ minimum: 1, maximum: 65535 })),
});

export const ServiceSpec = Strict({
  ports: Opt(List(ServicePort)),
  selector: Opt(StringMap()),
  type: Opt(Enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const, { default: 'ClusterIP' })),
  clusterIP: Opt(Str()),
  clusterIPs: Opt(StringList()),
  externalIPs: Opt(StringList()),
  externalName: Opt(Str()),
  externalTrafficPolicy: Opt(Enum(['Cluster', 'Local'] as const)),
  internalTrafficPolicy: Opt(Enum(['Cluster', 'Local'] as const)),
  sessionAffinity: Opt(Enum(['ClientIP', 'None'] as const)),
  sessionAffinityConfig: Opt(Strict({ clientIP: Opt(Strict({ timeoutSeconds: Opt(Int32({ minimum: 1, maximum: 86400 })) })) })),
  loadBalancerIP: Opt(Str()),
  loadBalancerSourceRanges: Opt(StringList()),
  loadBalancerClass: Opt(Str()),
  allocateLoadBalancerNodePorts: Opt(Bool()),
  healthCheckNodePort: Opt(Int32()),
  publishNotReadyAddresses: Opt(Bool()),
  ipFamilies: Opt(List(Enum(['IPv4', 'IPv6'] as const))),
  ipFamilyPolicy: Opt(Enum(['SingleStack', 'PreferDualStack', 'RequireDualStack'] as const)),
  trafficDistribution: Opt(Str()),
});
export type ServiceSpec = Static<typeof ServiceSpec>;

function serviceRules(r: Resource): Issue[] {
  const spec = r.spec as ServiceSpec;
  const out: Issue[] = [];
  const err = (path: Array<string | number>, message: string): void => void out.push({ severity: 'error', path: ['spec', ...path], message });
  const ports = spec.ports ?? [];
  const names = new Set<string>();
  ports.forEach((p, i) => {
    if (p.name === undefined || p.name === '') {
      if (ports.length > 1) err(['ports', i, 'name'], 'port name is required when a Service has more than one port');
    } else {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p.name) || p.name.length > 63) err(['ports', i, 'name'], `invalid port name "${p.name}": must be a DNS-1123 label`);
      if (names.has(p.name)) err(['ports', i, 'name'], `duplicate port name "${p.name}"`);
      names.add(p.name);
    }
    if (typeof p.targetPort === 'number' && (p.targetPort < 1 || p.targetPort > 65535)) err(['ports', i, 'targetPort'], 'must be between 1 and 65535');
    if (typeof p.targetPort === 'string') {
      const np = portNameProblem(p.targetPort);
      if (np !== undefined) err(['ports', i, 'targetPort'], `invalid named port "${p.targetPort}": ${np}`);
    }
    if (p.nodePort !== undefined && spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') {
      err(['ports', i, 'nodePort'], `nodePort may only be set when type is NodePort or LoadBalancer (type is ${spec.type ?? 'ClusterIP'})`);
    }
  });
  if (spec.type === 'ExternalName' && !spec.externalName) err(['externalName'], 'externalName is required when type is ExternalName');
  if (spec.type !== 'ExternalName' && spec.type !== undefined && ports.length === 0 && spec.clusterIP !== 'None') {
    err(['ports'], 'a Service needs at least one port (unless it is headless or ExternalName)');
  }
  return out;
}

export const service: KindDef = {
  group: '',
  kind: 'Service',
  plural: 'services',
  versions: ['v1'],
  namespaced: true,
  nameFormat: 'label',
  schema: ServiceSpec,
  rules: serviceRules,
};

/** ConfigMap and Secret keys: `[-._a-zA-Z0-9]+`, at most 253 characters. */
const CONFIG_KEY = '^[-._a-zA-Z0-9]+$';

export const ConfigMapBody = Strict({
  data: Opt(StringMap()),
  binaryData: Opt(MapOf(Bytes())),
  immutable: Opt(Bool()),
});

function keyRules(fields: readonly string[]) {
  return (r: Resource): Issue[] => {
    const out: Issue[] = [];
    for (const field of fields) {
      const map = r[field];
      if (typeof map !== 'object' || map === null) continue;
      for (const key of Object.keys(map)) {
        if (!new RegExp(CONFIG_KEY).test(key) || key.length > 253 || key === '.' || key === '..') {
          out.push({ severity: 'error', path: [field, key], message: `invalid key "${key}": use letters, digits, '-', '_' and '.' (at most 253 characters)` });
        }
      }
    }
    return out;
  };
}

export const configMap: KindDef = {
  group: '',
  kind: 'ConfigMap',
  plural: 'configmaps',
  versions: ['v1'],
  namespaced: true,
  topLevel: true,
  schema: ConfigMapBody,
  rules: keyRules(['data', 'binaryData']),
};

export const SecretBody = Strict({
  type: Opt(Str({ default: 'Opaque' })),
  data: Opt(MapOf(Bytes({ description: 'base64-encoded value' }))),
  stringData: Opt(StringMap()),
  immutable: Opt(Bool()),
});

export const secret: KindDef = {
  group: '',
  kind: 'Secret',
  plural: 'secrets',
  versions: ['v1'],
  namespaced: true,
  topLevel: true,
  schema: SecretBody,
  rules: keyRules(['data', 'stringData']),
};
