/**
 * The metadata the config store owns (resourceVersion, generation, uid, creationTimestamp): set
 * on the way in, and ignored when deciding whether an apply changes anything.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '../api/types.js';

/** Metadata the store sets; never part of what a user applies, so ignored when comparing. */
const SERVER_FIELDS = ['resourceVersion', 'generation', 'uid', 'creationTimestamp'] as const;

/** The resource as stored: a new uid and creation time, or those of `current`; generation bumped when content beyond metadata changed. */
export function withServerFields(incoming: Resource, current: Resource | undefined, version: number): Resource {
  const contentChanged = current === undefined || canonical(withoutMetadata(current)) !== canonical(withoutMetadata(incoming));
  const generation = current === undefined ? 1 : (current.metadata.generation ?? 1) + (contentChanged ? 1 : 0);
  return {
    ...incoming,
    metadata: {
      ...stripServerFields(incoming.metadata),
      resourceVersion: String(version),
      generation,
      uid: current?.metadata.uid ?? randomUUID(),
      creationTimestamp: current?.metadata.creationTimestamp ?? new Date().toISOString(),
    },
  };
}

export function sameContent(stored: Resource, incoming: Resource): boolean {
  const strip = (r: Resource): Resource => ({ ...r, metadata: stripServerFields(r.metadata) });
  return canonical(strip(stored)) === canonical(strip(incoming));
}

function stripServerFields(meta: Resource['metadata']): Resource['metadata'] {
  const out = { ...meta };
  for (const f of SERVER_FIELDS) delete out[f];
  return out;
}

function withoutMetadata(r: Resource): Record<string, unknown> {
  const { metadata: _metadata, apiVersion: _apiVersion, ...rest } = r;
  return rest;
}

/** JSON with object keys sorted, so equal content compares equal whatever the key order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_key, value: unknown) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) sorted[k] = (value as Record<string, unknown>)[k];
    return sorted;
  });
}
