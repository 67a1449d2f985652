/**
 * The shapes every part of Skiff shares about configuration resources: what a resource is,
 * how a kind is described, and what validation reports. Kind definitions live under
 * `src/api/kinds/`; the loader (`src/config/load.ts`) adds file positions to issues.
 */
import type { TSchema } from 'typebox';

/** Kubernetes object metadata, as far as Skiff reads it. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  generation?: number;
  uid?: string;
  creationTimestamp?: string;
}

/** Any Kubernetes-style resource after validation (defaults applied). */
export interface Resource<Spec = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  /** Top-level fields other than spec (ConfigMap `data`, Secret `stringData`, ...). */
  [field: string]: unknown;
}

/** `kind/namespace/name`, the way messages name a resource. */
export function resourceKey(r: { kind: string; metadata?: { name?: string; namespace?: string } }): string {
  const ns = r.metadata?.namespace ?? '';
  return `${r.kind}/${ns ? `${ns}/` : ''}${r.metadata?.name ?? '<unnamed>'}`;
}

export type Severity = 'error' | 'warning' | 'info';

/**
 * One finding about one resource. `path` is a field path in the notation users write in
 * messages: `spec.http[0].route[1].weight`. `path` is empty for findings about the whole document.
 */
export interface Issue {
  severity: Severity;
  /** Field path segments; rendered with `formatPath`. */
  path: ReadonlyArray<string | number>;
  message: string;
  /** Stable code for analyzer findings (Istio's IST codes where the meaning is the same). */
  code?: string;
}

/** Renders `['spec','http',0,'route',1,'weight']` as `spec.http[0].route[1].weight`. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

/** How one kind is defined: one TypeBox schema per kind yields the type, validator and CRD. */
export interface KindDef {
  group: string; // '' for the Kubernetes core group
  kind: string;
  plural: string;
  /** Served versions; the first is the storage version unless `storageVersion` says otherwise. */
  versions: readonly string[];
  /** The version a cluster stores (Istio keeps Telemetry at v1alpha1 while serving v1). */
  storageVersion?: string;
  namespaced: boolean;
  /** Rule for `metadata.name`: DNS-1123 subdomain (the default) or label (Namespace, Service). */
  nameFormat?: 'subdomain' | 'label';
  /** Schema of `spec` (or, for kinds without spec, of the whole object less apiVersion/kind/metadata). */
  schema: TSchema;
  /**
   * True when top-level fields are given by `schema` instead of a `spec` field (ConfigMap, Secret, ...).
   * The validated resource then carries those fields at the top level and, as one object, in `spec`.
   */
  topLevel?: boolean;
  /** Cross-field rules beyond the schema (Istio's webhook validation). Paths start at the resource root. */
  rules?: (resource: Resource) => Issue[];
}
