/**
 * A container's environment as the kubelet builds it: `envFrom` (ConfigMaps, Secrets), then
 * `env` in order with `$(VAR)` references expanded, values from `valueFrom` (the downward API
 * fields that have a local meaning, ConfigMap and Secret keys).
 */
import { cpus, hostname, totalmem } from 'node:os';
import type { Resource } from '../api/types.js';
import type { Container } from '../api/kinds/kube/container.js';

/** ConfigMaps and Secrets of the desired state, by `namespace/name`. */
export interface EnvSources {
  configMaps: Map<string, Record<string, string>>;
  secrets: Map<string, Record<string, string>>;
}

/** What the downward API can tell about the pod. */
export interface PodFacts {
  name: string;
  namespace: string;
  uid: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  serviceAccount: string;
}

export class EnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvError';
  }
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== 'object' || v === null) return out;
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) if (typeof val === 'string') out[k] = val;
  return out;
}

/** Collects the ConfigMaps and Secrets (data decoded from base64, stringData on top) of `resources`. */
export function envSources(resources: readonly Resource[]): EnvSources {
  const configMaps = new Map<string, Record<string, string>>();
  const secrets = new Map<string, Record<string, string>>();
  for (const r of resources) {
    const key = `${r.metadata.namespace ?? 'default'}/${r.metadata.name}`;
    if (r.kind === 'ConfigMap') configMaps.set(key, stringRecord(r.data));
    if (r.kind === 'Secret') {
      const decoded: Record<string, string> = {};
      for (const [k, v] of Object.entries(stringRecord(r.data))) decoded[k] = Buffer.from(v, 'base64').toString('utf8');
      secrets.set(key, { ...decoded, ...stringRecord(r.stringData) });
    }
  }
  return { configMaps, secrets };
}

/** Kubernetes' `$(VAR)` expansion: defined names are replaced, `$$` escapes, unknown references stay as written. */
export function expandRefs(value: string, env: Readonly<Record<string, string>>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) => {
    if (name === undefined) return '$';
    return Object.hasOwn(env, name) ? env[name] : whole;
  });
}

/** `metadata.labels['app']` → ['labels', 'app']. */
function fieldPathValue(path: string, pod: PodFacts): string | undefined {
  const keyed = /^metadata\.(labels|annotations)\['([^']*)'\]$/.exec(path);
  if (keyed) return (keyed[1] === 'labels' ? pod.labels : pod.annotations)[keyed[2]] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.name;
    case 'metadata.namespace':
      return pod.namespace;
    case 'metadata.uid':
      return pod.uid;
    case 'spec.serviceAccountName':
      return pod.serviceAccount;
    case 'spec.nodeName':
      return hostname();
    case 'status.podIP':
    case 'status.podIPs':
    case 'status.hostIP':
    case 'status.hostIPs':
      // Every local replica is reached on loopback.
      return '127.0.0.1';
    default:
      return undefined;
  }
}

function resourceValue(resource: string, container: Container): string {
  const [kind, name] = resource.split('.') as [string, string | undefined];
  const declared = name === undefined ? undefined : (kind === 'limits' ? container.resources?.limits : container.resources?.requests)?.[name];
  if (declared !== undefined) return String(declared);
  // Without a declared value Kubernetes reports the node's capacity.
  if (name === 'cpu') return String(cpus().length);
  if (name === 'memory') return String(totalmem());
  return '0';
}

function lookupKey(
  kind: 'ConfigMap' | 'Secret',
  store: Map<string, Record<string, string>>,
  namespace: string,
  ref: { name?: string; key: string; optional?: boolean },
  where: string,
): string | undefined {
  const data = store.get(`${namespace}/${ref.name ?? ''}`);
  const value = data?.[ref.key];
  if (value !== undefined || ref.optional === true) return value;
  if (data === undefined) throw new EnvError(`${where}: ${kind} ${namespace}/${ref.name ?? ''} not found`);
  throw new EnvError(`${where}: ${kind} ${namespace}/${ref.name ?? ''} has no key "${ref.key}"`);
}

/**
 * The container's own environment for `pod` (without the runtime's PORT, HOSTNAME, proxy
 * variables). `base` are defaults it overrides (an image's ENV). `where` prefixes errors.
 */
export function containerEnv(container: Container, pod: PodFacts, sources: EnvSources, base: Record<string, string>, where: string): Record<string, string> {
  const env: Record<string, string> = { ...base };
  container.envFrom?.forEach((from, i) => {
    const at = `${where}.envFrom[${i}]`;
    const ref = from.configMapRef ?? from.secretRef;
    const kind = from.configMapRef ? 'ConfigMap' : 'Secret';
    const data = (kind === 'ConfigMap' ? sources.configMaps : sources.secrets).get(`${pod.namespace}/${ref?.name ?? ''}`);
    if (data === undefined) {
      if (ref?.optional === true) return;
      throw new EnvError(`${at}: ${kind} ${pod.namespace}/${ref?.name ?? ''} not found`);
    }
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v;
  });
  container.env?.forEach((e, i) => {
    const at = `${where}.env[${i}]`;
    if (e.valueFrom === undefined) {
      env[e.name] = expandRefs(e.value ?? '', env);
      return;
    }
    const src = e.valueFrom;
    let value: string | undefined;
    if (src.fieldRef) {
      value = fieldPathValue(src.fieldRef.fieldPath, pod);
      if (value === undefined) throw new EnvError(`${at}.valueFrom.fieldRef: field path "${src.fieldRef.fieldPath}" is not supported`);
    } else if (src.resourceFieldRef) {
      value = resourceValue(src.resourceFieldRef.resource, container);
    } else if (src.configMapKeyRef) {
      value = lookupKey('ConfigMap', sources.configMaps, pod.namespace, src.configMapKeyRef, `${at}.valueFrom.configMapKeyRef`);
    } else if (src.secretKeyRef) {
      value = lookupKey('Secret', sources.secrets, pod.namespace, src.secretKeyRef, `${at}.valueFrom.secretKeyRef`);
    }
    if (value !== undefined) env[e.name] = value;
  });
  return env;
}
