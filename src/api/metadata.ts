/**
 * Validation of Kubernetes object metadata: the ObjectMeta fields a manifest may carry and the
 * DNS-1123 / label-syntax rules the Kubernetes API server applies to names, labels and annotations.
 */
import { checkSchema } from './schema-check.js';
import { Int64, List, Opt, Str, StringList, StringMap, Strict, Struct, Bool } from './schema-kit.js';
import type { Issue, ObjectMeta } from './types.js';

const OwnerReference = Strict({
  apiVersion: Str(),
  kind: Str(),
  name: Str(),
  uid: Str(),
  controller: Opt(Bool()),
  blockOwnerDeletion: Opt(Bool()),
});

/** ObjectMeta as manifests (and `kubectl get -o yaml`) write it. */
export const ObjectMetaSchema = Strict({
  name: Opt(Str()),
  generateName: Opt(Str()),
  namespace: Opt(Str()),
  labels: Opt(StringMap()),
  annotations: Opt(StringMap()),
  resourceVersion: Opt(Str()),
  generation: Opt(Int64()),
  uid: Opt(Str()),
  creationTimestamp: Opt(Str({ nullable: true })),
  deletionTimestamp: Opt(Str()),
  deletionGracePeriodSeconds: Opt(Int64()),
  selfLink: Opt(Str()),
  finalizers: Opt(StringList()),
  ownerReferences: Opt(List(OwnerReference)),
  managedFields: Opt(List(Struct())),
});

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Empty when `s` is a DNS-1123 label (lowercase alphanumerics and '-', at most 63 characters). */
export function dns1123LabelProblem(s: string): string | undefined {
  if (s.length > 63) return `must be no more than 63 characters (is ${s.length})`;
  if (!LABEL.test(s)) {
    return "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit";
  }
  return undefined;
}

/** Empty when `s` is a DNS-1123 subdomain (dot-separated labels, at most 253 characters). */
export function dns1123SubdomainProblem(s: string): string | undefined {
  if (s.length > 253) return `must be no more than 253 characters (is ${s.length})`;
  if (!s.split('.').every((part) => LABEL.test(part))) {
    return "must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit";
  }
  return undefined;
}

/** Kubernetes "qualified name" (label and annotation keys): `[prefix/]name`. */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix === '') return 'has an empty prefix before "/"';
    const p = dns1123SubdomainProblem(prefix);
    if (p !== undefined) return `prefix "${prefix}" ${p}`;
  }
  if (name === '') return 'name part must not be empty';
  if (name.length > 63) return `name part must be no more than 63 characters (is ${name.length})`;
  if (!QUALIFIED_NAME.test(name)) {
    return "name part must consist of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";
  }
  return undefined;
}

/** A label value: empty, or at most 63 characters of the qualified-name alphabet. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return `must be no more than 63 characters (is ${value.length})`;
  if (!QUALIFIED_NAME.test(value)) {
    return "must consist of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";
  }
  return undefined;
}

/**
 * Checks `metadata`; returns the copy to keep and the issues. `nameFormat` is the kind's rule for
 * names (DNS-1123 subdomain for most kinds, label for Namespace and Service).
 */
export function checkMetadata(
  raw: unknown,
  nameFormat: 'subdomain' | 'label',
): { metadata?: ObjectMeta; issues: Issue[] } {
  if (raw === undefined || raw === null) {
    return { issues: [{ severity: 'error', path: ['metadata'], message: 'metadata is missing; every resource needs metadata.name' }] };
  }
  const { value, issues } = checkSchema(ObjectMetaSchema, raw, ['metadata']);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { issues };
  const meta = value as Partial<ObjectMeta>;
  const err = (path: Array<string | number>, message: string): void => {
    issues.push({ severity: 'error', path: ['metadata', ...path], message });
  };
  if (typeof meta.name !== 'string' || meta.name === '') {
    if (!issues.some((i) => i.path[1] === 'name')) err(['name'], 'metadata.name is required');
  } else {
    const p = nameFormat === 'label' ? dns1123LabelProblem(meta.name) : dns1123SubdomainProblem(meta.name);
    if (p !== undefined) err(['name'], `invalid name "${meta.name}": ${p}`);
  }
  if (typeof meta.namespace === 'string') {
    const p = dns1123LabelProblem(meta.namespace);
    if (p !== undefined) err(['namespace'], `invalid namespace "${meta.namespace}": ${p}`);
  }
  for (const [key, v] of Object.entries(meta.labels ?? {})) {
    const kp = qualifiedNameProblem(key);
    if (kp !== undefined) err(['labels', key], `invalid label key "${key}": ${kp}`);
    if (typeof v === 'string') {
      const vp = labelValueProblem(v);
      if (vp !== undefined) err(['labels', key], `invalid label value "${v}": ${vp}`);
    }
  }
  for (const key of Object.keys(meta.annotations ?? {})) {
    const kp = qualifiedNameProblem(key);
    if (kp !== undefined) err(['annotations', key], `invalid annotation key "${key}": ${kp}`);
  }
  const hasError = issues.some((i) => i.severity === 'error');
  return hasError ? { issues } : { metadata: meta as ObjectMeta, issues };
}
