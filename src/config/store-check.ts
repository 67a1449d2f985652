/**
 * The store file's resources checked again on load, each with its kind's schema (`src/api`). A
 * store written by this version holds only valid resources, but one edited by hand, written by an
 * older version whose schemas were looser, or damaged on disk may hold one that is not — and a
 * resource that is not what its type says (`ports: "oops"`) makes everything reading it throw.
 * Such a resource is set apart: kept in the file (nothing applied is lost), left out of what the
 * store serves, and reported with its errors and how to mend it.
 */
import { splitApiVersion, validateResource } from '../api/index.js';
import { formatPath } from '../api/types.js';
import type { Resource } from '../api/types.js';
import type { RejectedResource } from './source.js';
import { idKey } from './store-keys.js';
import type { ResourceId } from './store-keys.js';

/** A stored resource the store does not serve, with the entry as the file holds it. */
export interface SetApart extends RejectedResource {
  /** The map key of its identity, or `#<index>` when it has none. */
  key: string;
  raw: unknown;
}

export interface CheckedResources {
  valid: Resource[];
  setApart: SetApart[];
}

/** Splits the file's entries into those that validate and those set apart. */
export function checkStoredResources(entries: readonly unknown[]): CheckedResources {
  const out: CheckedResources = { valid: [], setApart: [] };
  entries.forEach((raw, index) => {
    const { resource, issues } = validateResource(raw);
    const errors = issues.filter((i) => i.severity === 'error').map((i) => (i.path.length > 0 ? `${formatPath(i.path)}: ${i.message}` : i.message));
    if (resource !== undefined && errors.length === 0) {
      out.valid.push(resource);
      return;
    }
    if (errors.length === 0) errors.push(...issues.map((i) => i.message));
    const id = identityOf(raw);
    out.setApart.push({
      key: id !== undefined ? idKey(id) : `#${index}`,
      raw,
      ref: id !== undefined ? refOf(id) : `store entry #${index}`,
      ...(id !== undefined ? { id } : {}),
      errors,
      mend:
        id !== undefined
          ? `apply a corrected ${id.kind} ${id.name}${id.namespace !== '' ? ` in namespace ${id.namespace}` : ''} (skiff apply -f FILE), or remove it: skiff delete ${typeName(id)} ${id.name}${id.namespace !== '' ? ` -n ${id.namespace}` : ''}`
          : 'it names no resource; restore an earlier store (see store.json.prev) or leave it: it is ignored',
    });
  });
  return out;
}

/** How `skiff delete` names the kind: `service`, `virtualservice.networking.istio.io`. */
function typeName(id: ResourceId): string {
  return id.group === '' ? id.kind.toLowerCase() : `${id.kind.toLowerCase()}.${id.group}`;
}

/** `VirtualService default/reviews`, or `Namespace prod` for a cluster-scoped kind. */
export function refOf(id: ResourceId): string {
  return id.namespace !== '' ? `${id.kind} ${id.namespace}/${id.name}` : `${id.kind} ${id.name}`;
}

/** The identity an entry claims, when it names one (its content may be invalid). */
function identityOf(raw: unknown): ResourceId | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const o = raw as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string' || o.metadata.name === '') return undefined;
  return {
    group: splitApiVersion(o.apiVersion).group,
    kind: o.kind,
    namespace: typeof o.metadata.namespace === 'string' ? o.metadata.namespace : '',
    name: o.metadata.name,
  };
}
