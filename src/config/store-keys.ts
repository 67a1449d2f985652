/**
 * How the config store names resources: identity by (group, kind, namespace, name) — the API
 * version within a group does not matter, as in Kubernetes — the kubectl-style reference printed
 * by apply (`virtualservice.networking.istio.io/reviews`, `service/details`), and the names a
 * user may type for a kind (`virtualservices`, `vs`, `VirtualService.networking.istio.io`).
 */
import { kinds, lookupKind, splitApiVersion } from '../api/index.js';
import type { KindDef, Resource } from '../api/types.js';

/** What identifies a stored resource. `namespace` is '' for cluster-scoped kinds. */
export interface ResourceId {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/** The identity of a validated resource. */
export function idOf(resource: Resource): ResourceId {
  return {
    group: splitApiVersion(resource.apiVersion).group,
    kind: resource.kind,
    namespace: resource.metadata.namespace ?? '',
    name: resource.metadata.name,
  };
}

/** A string key for maps: unique per identity. */
export function idKey(id: ResourceId): string {
  return `${id.group}|${id.kind}|${id.namespace}|${id.name}`;
}

/** `virtualservice.networking.istio.io/reviews`, `service/details`: how kubectl names what it applied. */
export function kubectlRef(id: Pick<ResourceId, 'group' | 'kind' | 'name'>): string {
  const kind = id.kind.toLowerCase();
  return `${id.group === '' ? kind : `${kind}.${id.group}`}/${id.name}`;
}

/** Short names as kubectl and istioctl know them. */
const SHORT_NAMES: Readonly<Record<string, readonly string[]>> = {
  VirtualService: ['vs'],
  DestinationRule: ['dr'],
  Gateway: ['gw'],
  ServiceEntry: ['se'],
  WorkloadEntry: ['we'],
  PeerAuthentication: ['pa'],
  AuthorizationPolicy: ['ap'],
  RequestAuthentication: ['ra'],
  Service: ['svc'],
  Deployment: ['deploy'],
  Pod: ['po'],
  Namespace: ['ns'],
  ServiceAccount: ['sa'],
  ConfigMap: ['cm'],
};

/**
 * The kind a user means by `name`: kind name, plural or short name, case-insensitive, optionally
 * qualified by group (`gateways.networking.istio.io`, `deployment.apps`). Undefined when unknown.
 */
export function findKind(name: string): KindDef | undefined {
  const lower = name.toLowerCase();
  const dot = lower.indexOf('.');
  const bare = dot < 0 ? lower : lower.slice(0, dot);
  const group = dot < 0 ? undefined : lower.slice(dot + 1);
  const candidates = kinds.filter((k) => {
    if (group !== undefined && k.group !== group) return false;
    const names = [k.kind.toLowerCase(), k.plural, ...(SHORT_NAMES[k.kind] ?? [])];
    return names.includes(bare);
  });
  // `gateway` alone means Istio's Gateway; only Istio's is known, so the first match is the one.
  return candidates[0];
}

/** Every name a kind answers to, for help and error messages. */
export function kindNames(def: KindDef): string[] {
  return [def.kind.toLowerCase(), def.plural, ...(SHORT_NAMES[def.kind] ?? [])];
}

/** True when the kind is namespaced (unknown kinds are treated as namespaced). */
export function isNamespacedKind(apiVersion: string, kind: string): boolean {
  return lookupKind(apiVersion, kind)?.namespaced ?? true;
}

/** The Kubernetes kinds the local runtime acts on; the rest is mesh configuration. */
export const WORKLOAD_KINDS: ReadonlySet<string> = new Set(['Namespace', 'ServiceAccount', 'Service', 'Deployment', 'Pod', 'ConfigMap', 'Secret']);

/** True for a Kubernetes core/apps resource (as opposed to Istio configuration). */
export function isWorkloadResource(resource: Pick<Resource, 'apiVersion' | 'kind'>): boolean {
  const { group } = splitApiVersion(resource.apiVersion);
  return (group === '' || group === 'apps') && WORKLOAD_KINDS.has(resource.kind);
}
