/**
 * The kinds Skiff understands, looked up by apiVersion and kind, plus the well-known kinds it
 * deliberately ignores (reported as "not supported" warnings rather than errors).
 */
import { kubeKinds } from './kinds/kube/index.js';
import { networkingKinds } from './kinds/networking/index.js';
import { securityKinds } from './kinds/security/index.js';
import { telemetryKinds } from './kinds/telemetry.js';
import type { KindDef } from './types.js';

/** Every kind Skiff validates and acts on. */
export const kinds: readonly KindDef[] = [...networkingKinds, ...securityKinds, ...telemetryKinds, ...kubeKinds];

/** `group/version`, or just `version` for the Kubernetes core group. */
export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** Splits `networking.istio.io/v1` into group and version (`v1` → core group). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** The kind definition serving `apiVersion` + `kind`, if Skiff supports it. */
export function lookupKind(apiVersion: string, kind: string): KindDef | undefined {
  const { group, version } = splitApiVersion(apiVersion);
  return kinds.find((k) => k.kind === kind && k.group === group && k.versions.includes(version));
}

/** The version clusters store for `def`. */
export function storageVersionOf(def: KindDef): string {
  return def.storageVersion ?? def.versions[0] ?? 'v1';
}

/** Groups whose kinds Skiff owns: an unknown kind there is a mistake, not someone else's resource. */
export const ownedGroups: readonly string[] = ['', 'apps', 'networking.istio.io', 'security.istio.io', 'telemetry.istio.io'];

/**
 * Real kinds in the owned groups that Skiff does not implement. Anything in other groups
 * (Gateway API, extensions.istio.io, cert-manager, RBAC, ...) is likewise ignored with a warning.
 */
const unsupportedInOwnedGroups: Readonly<Record<string, readonly string[]>> = {
  'networking.istio.io': ['ProxyConfig', 'WorkloadGroup'],
  '': [
    'ConfigMapList', 'Endpoints', 'Event', 'LimitRange', 'List', 'Node', 'PersistentVolume',
    'PersistentVolumeClaim', 'PodTemplate', 'ReplicationController', 'ResourceQuota', 'Binding',
    'ComponentStatus',
  ],
  apps: ['StatefulSet', 'DaemonSet', 'ReplicaSet', 'ControllerRevision'],
};

/** True for kinds that exist in Kubernetes/Istio but that Skiff ignores. */
export function isUnsupportedKind(apiVersion: string, kind: string): boolean {
  const { group } = splitApiVersion(apiVersion);
  if (!ownedGroups.includes(group)) return true;
  return unsupportedInOwnedGroups[group]?.includes(kind) ?? false;
}

/** Known kinds of one group (for did-you-mean). */
export function kindsInGroup(group: string): string[] {
  const names = kinds.filter((k) => k.group === group).map((k) => k.kind);
  return [...new Set([...names, ...(unsupportedInOwnedGroups[group] ?? [])])];
}

/** All kinds called `kind`, whatever their group (to explain a wrong apiVersion). */
export function kindsNamed(kind: string): KindDef[] {
  return kinds.filter((k) => k.kind === kind);
}
