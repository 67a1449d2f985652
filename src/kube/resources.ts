/**
 * Which API paths the Kubernetes providers watch, and how an API object becomes one of Skiff's
 * validated resources: the kinds of Skiff's API whose group is Istio's, served at their first
 * version (the one generateCrds marks served first), core/v1 Services and Secrets (the TLS
 * credentials `credentialName` names), and the `istio` ConfigMap of the root namespace.
 */
import { apiVersionOf, kinds, validateResource } from '../api/index.js';
import type { Issue, Resource } from '../api/types.js';
import type { KubeObject } from './client.js';

export interface WatchedKind {
  apiVersion: string;
  kind: string;
  /** The API path of the whole collection. */
  path: string;
  params?: Record<string, string>;
}

/** What the config source watches; `rootNamespace` is where the mesh config's ConfigMap lives. */
export function configKinds(rootNamespace = 'istio-system'): WatchedKind[] {
  const istio = kinds
    .filter((k) => k.group.endsWith('.istio.io'))
    .map((k) => {
      const version = k.versions[0] ?? 'v1';
      return { apiVersion: apiVersionOf(k.group, version), kind: k.kind, path: `/apis/${k.group}/${version}/${k.plural}` };
    });
  return [
    ...istio,
    { apiVersion: 'v1', kind: 'Service', path: '/api/v1/services' },
    // The TLS credentials a credentialName names (gateways, DestinationRules); service-account
    // tokens are never the mesh's to read, as istiod leaves them out.
    { apiVersion: 'v1', kind: 'Secret', path: '/api/v1/secrets', params: { fieldSelector: 'type!=kubernetes.io/service-account-token' } },
    { apiVersion: 'v1', kind: 'ConfigMap', path: `/api/v1/namespaces/${rootNamespace}/configmaps`, params: { fieldSelector: 'metadata.name=istio' } },
  ];
}

/** The metadata fields Skiff's resources carry (managedFields, ownerReferences and the rest are the API server's). */
const META_FIELDS = ['name', 'namespace', 'labels', 'annotations', 'resourceVersion', 'generation', 'uid', 'creationTimestamp'] as const;

/**
 * The object as Skiff's validation reads it: `apiVersion` and `kind` set (list items come without
 * them), metadata cut to what Skiff's resources carry.
 */
export function toResourceInput(o: KubeObject, watched: Pick<WatchedKind, 'apiVersion' | 'kind'>): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  for (const f of META_FIELDS) if (o.metadata[f] !== undefined) metadata[f] = o.metadata[f];
  return { ...o, apiVersion: watched.apiVersion, kind: watched.kind, metadata };
}

/** The object validated as Skiff's resource of its kind: the resource, or the issues that refuse it. */
export function convert(o: KubeObject, watched: Pick<WatchedKind, 'apiVersion' | 'kind'>): { resource?: Resource; issues: Issue[] } {
  return validateResource(toResourceInput(o, watched));
}
