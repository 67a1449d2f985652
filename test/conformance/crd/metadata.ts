/**
 * Kubernetes' validation of a custom resource's `metadata` (ObjectMeta): name a DNS-1123
 * subdomain, namespace a DNS-1123 label, label keys qualified names and values label values,
 * and — under strict field validation — no fields ObjectMeta does not have.
 */
import type { CrdFinding } from './openapi.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const OBJECT_META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1];
  if (name.length > 63 || !QUALIFIED_NAME.test(name)) return false;
  if (parts.length === 2) {
    const prefix = parts[0];
    return prefix.length > 0 && prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix);
  }
  return true;
}

function checkStringMap(value: unknown, field: string, isLabels: boolean, out: CrdFinding[]): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    out.push({ path: ['metadata', field], message: 'must be a map of strings' });
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    const path = ['metadata', field, k];
    if (!isQualifiedName(k)) out.push({ path, message: `invalid key ${JSON.stringify(k)}: must be a qualified name` });
    if (typeof v !== 'string') out.push({ path, message: 'value must be a string' });
    else if (isLabels && (v.length > 63 || !LABEL_VALUE.test(v))) out.push({ path, message: `invalid label value ${JSON.stringify(v)}` });
  }
}

export function metadataFindings(metadata: unknown): CrdFinding[] {
  const out: CrdFinding[] = [];
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    return [{ path: ['metadata'], message: 'metadata is required and must be an object' }];
  }
  const meta = metadata as Record<string, unknown>;
  for (const key of Object.keys(meta)) {
    if (!OBJECT_META_FIELDS.has(key)) out.push({ path: ['metadata', key], message: 'field not declared in schema (unknown field)' });
  }
  const name = meta.name;
  if (name === undefined && meta.generateName === undefined) out.push({ path: ['metadata', 'name'], message: 'Required value: name or generateName is required' });
  if (name !== undefined && (typeof name !== 'string' || name.length > 253 || !DNS1123_SUBDOMAIN.test(name))) {
    out.push({ path: ['metadata', 'name'], message: 'Invalid value: must be a lowercase RFC 1123 subdomain' });
  }
  const ns = meta.namespace;
  if (ns !== undefined && (typeof ns !== 'string' || ns.length > 63 || !DNS1123_LABEL.test(ns))) {
    out.push({ path: ['metadata', 'namespace'], message: 'Invalid value: must be a lowercase RFC 1123 label' });
  }
  checkStringMap(meta.labels, 'labels', true, out);
  checkStringMap(meta.annotations, 'annotations', false, out);
  return out;
}
