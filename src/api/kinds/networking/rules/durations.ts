/**
 * Enforces Istio's duration minimums: every field whose schema carries the CRD's "at least 1ms"
 * rule is found by walking the schema beside the value, so no duration field can be forgotten.
 */
import type { TSchema } from 'typebox';
import { parseDurationNanos } from '../../../duration.js';
import { MIN_1MS_VALIDATION } from '../common.js';
import type { Findings, Path } from './findings.js';

const NANOS_PER_MS = 1_000_000n;

/** Istio's ValidateDuration: at least 1ms and a whole number of milliseconds. */
export function durationProblem(d: string): string | undefined {
  const nanos = parseDurationNanos(d);
  if (nanos === undefined) return `invalid duration "${d}"`;
  if (nanos < NANOS_PER_MS) return 'duration must be greater than 1ms';
  if (nanos % NANOS_PER_MS !== 0n) return 'only durations to ms precision are supported';
  return undefined;
}

type Node = Readonly<Record<string, unknown>>;

function asNode(v: unknown): Node | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Node) : undefined;
}

function needsMinimum(schema: Node): boolean {
  const rules = schema['x-kubernetes-validations'];
  return Array.isArray(rules) && rules.some((r) => asNode(r)?.rule === MIN_1MS_VALIDATION.rule);
}

function walk(schema: Node, value: unknown, path: Path, findings: Findings): void {
  if (typeof value === 'string') {
    if (needsMinimum(schema)) findings.check(path, durationProblem(value));
    return;
  }
  if (Array.isArray(value)) {
    const items = asNode(schema.items);
    if (items) value.forEach((v, i) => walk(items, v, [...path, i], findings));
    return;
  }
  const obj = asNode(value);
  if (!obj) return;
  const props = asNode(schema.properties) ?? {};
  const additional = asNode(schema.additionalProperties);
  for (const [key, v] of Object.entries(obj)) {
    const sub = asNode(props[key]) ?? additional;
    if (sub) walk(sub, v, [...path, key], findings);
  }
}

/** Checks every 1ms-minimum duration in `value` (described by `schema`), reporting at `path`. */
export function checkDurations(schema: TSchema, value: unknown, path: Path, findings: Findings): void {
  walk(schema as unknown as Node, value, path, findings);
}
