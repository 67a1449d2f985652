/**
 * Validates one parsed document as a Skiff resource: envelope (apiVersion, kind, metadata), the
 * kind's schema (types, unknown fields, oneofs, defaults) and then the kind's Istio-style rules.
 * Every problem is reported, each with a field path; the input is never modified.
 */
import { checkMetadata } from './metadata.js';
import {
  apiVersionOf,
  isUnsupportedKind,
  kindsInGroup,
  kindsNamed,
  lookupKind,
  ownedGroups,
  splitApiVersion,
} from './registry.js';
import { checkSchema, describeValue, suggest } from './schema-check.js';
import type { Issue, KindDef, Resource } from './types.js';

export interface ValidationResult {
  /** The typed resource with defaults applied; present only when there is no error. */
  resource?: Resource;
  issues: Issue[];
}

/** Top-level fields a spec-style resource may carry besides `spec`. */
const ENVELOPE = ['apiVersion', 'kind', 'metadata'] as const;
const SPEC_FIELDS = [...ENVELOPE, 'spec', 'status'];

function err(path: Array<string | number>, message: string): Issue {
  return { severity: 'error', path, message };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates one document (as parsed from YAML/JSON). */
export function validateResource(obj: unknown): ValidationResult {
  if (!isPlainObject(obj)) {
    return { issues: [err([], `a resource must be a mapping with apiVersion, kind and metadata (got ${describeValue(obj)})`)] };
  }
  const envelope: Issue[] = [];
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    envelope.push(err(['apiVersion'], apiVersion === undefined ? 'apiVersion is missing' : `apiVersion must be a non-empty string (got ${describeValue(apiVersion)})`));
  }
  if (typeof kind !== 'string' || kind === '') {
    envelope.push(err(['kind'], kind === undefined ? 'kind is missing' : `kind must be a non-empty string (got ${describeValue(kind)})`));
  }
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || envelope.length > 0) return { issues: envelope };

  const def = lookupKind(apiVersion, kind);
  if (def === undefined) return { issues: [unknownKindIssue(apiVersion, kind)] };
  return validateKnown(def, obj);
}

/** Explains why `apiVersion`/`kind` has no definition: ignored kind, wrong version or group, or a typo. */
function unknownKindIssue(apiVersion: string, kind: string): Issue {
  const { group, version } = splitApiVersion(apiVersion);
  if (!ownedGroups.includes(group)) {
    // A group one typo away from one Skiff owns is a mistake, not some other project's resource.
    const guess = suggest(group, ownedGroups.filter((g) => g.includes('.')));
    if (guess !== undefined) return err(['apiVersion'], `unknown apiVersion "${apiVersion}"; did you mean "${apiVersionOf(guess, version)}"?`);
  }
  if (isUnsupportedKind(apiVersion, kind)) {
    return { severity: 'warning', path: [], message: `${kind} (${apiVersion}) is not supported by Skiff; it is ignored` };
  }
  const sameName = kindsNamed(kind);
  const inGroup = sameName.find((k) => k.group === group);
  if (inGroup !== undefined) {
    const served = inGroup.versions.map((v) => apiVersionOf(group, v));
    return err(['apiVersion'], `${kind} is not served at ${apiVersion} (version ${version}); use one of ${served.join(', ')}`);
  }
  const other = sameName[0];
  if (other !== undefined) {
    return err(['apiVersion'], `${kind} belongs to apiVersion ${apiVersionOf(other.group, other.versions[0] ?? 'v1')}, not ${apiVersion}`);
  }
  const known = kindsInGroup(group);
  const guess = suggest(kind, known);
  if (guess !== undefined) return err(['kind'], `unknown kind "${kind}" in ${apiVersion}; did you mean "${guess}"?`);
  return err(['kind'], `unknown kind "${kind}" in ${apiVersion} (known kinds: ${known.join(', ')})`);
}

function validateKnown(def: KindDef, obj: Record<string, unknown>): ValidationResult {
  const apiVersion = obj.apiVersion as string;
  const kind = obj.kind as string;
  const issues: Issue[] = [];
  const meta = checkMetadata(obj.metadata, def.nameFormat ?? 'subdomain');
  issues.push(...meta.issues);

  let spec: unknown;
  const extra: Record<string, unknown> = {};
  if (def.topLevel) {
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) if (!(ENVELOPE as readonly string[]).includes(k)) body[k] = v;
    const checked = checkSchema(def.schema, body, []);
    issues.push(...checked.issues);
    spec = checked.value;
    if (isPlainObject(spec)) Object.assign(extra, spec);
  } else {
    for (const key of Object.keys(obj)) {
      if (SPEC_FIELDS.includes(key)) continue;
      const guess = suggest(key, SPEC_FIELDS);
      issues.push(err([key], guess !== undefined
        ? `unknown field "${key}"; did you mean "${guess}"?`
        : `unknown top-level field "${key}" (a ${kind} has apiVersion, kind, metadata, spec and status)`));
    }
    const checked = checkSchema(def.schema, obj.spec ?? {}, ['spec']);
    issues.push(...checked.issues);
    spec = checked.value;
    if (obj.status !== undefined) extra.status = structuredClone(obj.status);
  }

  if (issues.some((i) => i.severity === 'error') || meta.metadata === undefined) return { issues };
  const resource: Resource = { ...extra, apiVersion, kind, metadata: meta.metadata, spec };
  issues.push(...runRules(def, resource));
  return issues.some((i) => i.severity === 'error') ? { issues } : { resource, issues };
}

/** Cross-field rules run on schema-valid resources only, so they can rely on the types. */
function runRules(def: KindDef, resource: Resource): Issue[] {
  if (!def.rules) return [];
  try {
    return def.rules(resource);
  } catch (e: unknown) {
    // A rule that throws is a bug in Skiff, but the user still deserves a report, not a crash.
    const why = e instanceof Error ? e.message : String(e);
    return [err([], `internal error while checking ${def.kind} rules: ${why}`)];
  }
}
