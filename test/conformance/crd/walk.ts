/**
 * Walks a resource alongside its CRD schema for the checks that are not plain JSON Schema:
 * null pruning (non-nullable nulls are dropped before validation, as the API server does),
 * `x-kubernetes-list-type` uniqueness, and the `x-kubernetes-validations` CEL rules.
 */
import { evaluateRule } from './cel.js';
import type { CrdFinding, SchemaNode } from './openapi.js';

export interface WalkResult {
  errors: CrdFinding[];
  undecided: CrdFinding[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function child(schema: SchemaNode, key: string): SchemaNode | undefined {
  const props = schema.properties;
  if (isObject(props) && isObject(props[key])) return props[key];
  if (isObject(schema.additionalProperties)) return schema.additionalProperties;
  return undefined;
}

/** Removes fields whose value is null where the schema does not say `nullable: true`. */
export function pruneNulls(value: unknown, schema: SchemaNode): void {
  if (Array.isArray(value)) {
    if (isObject(schema.items)) for (const item of value) pruneNulls(item, schema.items);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const sub = child(schema, key);
    if (!sub) continue;
    if (v === null && sub.nullable !== true) delete value[key];
    else pruneNulls(v, sub);
  }
}

/** CEL sees integers as `int`: convert JSON numbers declared `type: integer` to bigint. */
function toCel(value: unknown, schema: SchemaNode | undefined): unknown {
  if (typeof value === 'number') {
    const intLike = schema?.type === 'integer' || schema?.['x-kubernetes-int-or-string'] === true;
    return intLike && Number.isInteger(value) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) {
    const items = schema && isObject(schema.items) ? schema.items : undefined;
    return value.map((v) => toCel(v, items));
  }
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toCel(v, schema ? child(schema, k) : undefined);
    return out;
  }
  return value;
}

function checkListType(value: unknown[], schema: SchemaNode, path: (string | number)[], out: WalkResult): void {
  const listType = schema['x-kubernetes-list-type'];
  if (listType !== 'map' && listType !== 'set') return;
  const keys = Array.isArray(schema['x-kubernetes-list-map-keys']) ? (schema['x-kubernetes-list-map-keys'] as string[]) : [];
  const seen = new Map<string, number>();
  value.forEach((item, i) => {
    const key = listType === 'set' ? JSON.stringify(item) : JSON.stringify(keys.map((k) => (isObject(item) ? item[k] : undefined)));
    if (seen.has(key)) out.errors.push({ path: [...path, i], message: `Duplicate value: ${key} (x-kubernetes-list-type: ${listType})` });
    else seen.set(key, i);
  });
}

function checkRules(value: unknown, schema: SchemaNode, path: (string | number)[], out: WalkResult): void {
  const rules = schema['x-kubernetes-validations'];
  if (!Array.isArray(rules)) return;
  const self = toCel(value, schema);
  for (const r of rules as { rule: string; message?: string }[]) {
    const outcome = evaluateRule(r.rule, self);
    if (outcome.kind === 'fail') out.errors.push({ path, message: `${r.message ?? r.rule} (${outcome.reason})` });
    if (outcome.kind === 'undecided') out.undecided.push({ path, message: `${r.rule}: ${outcome.reason}` });
  }
}

/** Runs list-type and CEL checks on every present value that the schema describes. */
export function walk(value: unknown, schema: SchemaNode, path: (string | number)[], out: WalkResult): void {
  if (value === undefined || value === null) return;
  checkRules(value, schema, path, out);
  if (Array.isArray(value)) {
    checkListType(value, schema, path, out);
    if (isObject(schema.items)) value.forEach((item, i) => walk(item, schema.items as SchemaNode, [...path, i], out));
    return;
  }
  if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      const sub = child(schema, key);
      if (sub) walk(v, sub, [...path, key], out);
    }
  }
}
