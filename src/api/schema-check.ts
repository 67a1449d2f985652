/**
 * Checks a value against a kind schema built with `schema-kit.ts`, reporting every problem with
 * its field path and an actionable message, and returns a copy with schema defaults filled in.
 * (TypeBox's own validator stops early in places and its messages name JSON pointers; kind schemas
 * use a small JSON-Schema subset, so walking it directly gives complete, readable reports.)
 */
import { closest, distance } from 'fastest-levenshtein';
import { parseDuration } from './duration.js';
import { compileRegex } from './regex.js';
import { FORMAT_DURATION, FORMAT_QUANTITY, FORMAT_RE2, ONEOF_KEY } from './schema-kit.js';
import type { Issue } from './types.js';

type Path = Array<string | number>;
type Schema = Readonly<Record<string, unknown>>;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** Kubernetes resource.Quantity text: `100m`, `1.5`, `128Mi`, `1e3`. */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?(\d+(\.\d*)?|\.\d+))?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Schema `pattern`s are few and fixed; compile each once. */
const patternCache = new Map<string, RegExp>();
function cachedRegExp(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (re === undefined) {
    re = new RegExp(pattern, 'u');
    patternCache.set(pattern, re);
  }
  return re;
}

export interface CheckResult {
  /** The input with defaults applied (a fresh copy; the input is never modified). */
  value: unknown;
  issues: Issue[];
}

/** Checks `value` against `schema`; paths in issues start with `path`. */
export function checkSchema(schema: object, value: unknown, path: ReadonlyArray<string | number> = []): CheckResult {
  const issues: Issue[] = [];
  const out = walk(schema as Schema, value, [...path], issues);
  return { value: out, issues };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asSchema(v: unknown): Schema | undefined {
  return isPlainObject(v) ? v : undefined;
}

/** Names a value in a message: `"abc"`, `12`, `a list`, `an object`, `null`. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return typeof v;
}

/** The closest candidate to `word` when it is close enough to be a likely typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0 || word === '') return undefined;
  const lower = word.toLowerCase();
  const exactCase = candidates.find((c) => c.toLowerCase() === lower);
  if (exactCase !== undefined) return exactCase;
  const best = closest(lower, candidates.map((c) => c.toLowerCase()));
  const match = candidates.find((c) => c.toLowerCase() === best);
  if (match === undefined) return undefined;
  const limit = match.length < 4 ? 1 : match.length < 9 ? 2 : 3;
  return distance(lower, best) <= limit ? match : undefined;
}

function error(issues: Issue[], path: Path, message: string): void {
  issues.push({ severity: 'error', path: [...path], message });
}

function walk(schema: Schema, value: unknown, path: Path, issues: Issue[]): unknown {
  if (value === null && schema.nullable === true) return null;
  if (schema.format === FORMAT_QUANTITY) {
    const ok = (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && QUANTITY.test(value));
    if (!ok) error(issues, path, `must be a quantity such as 100m, 0.5, 128Mi or 1Gi (got ${describeValue(value)})`);
    return value;
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
      error(issues, path, `must be an integer or a string (got ${describeValue(value)})`);
    }
    return value;
  }
  if (Array.isArray(schema.anyOf)) return walkAnyOf(schema.anyOf as Schema[], value, path, issues);
  if ('const' in schema && value !== schema.const) {
    error(issues, path, `must be ${describeValue(schema.const)} (got ${describeValue(value)})`);
    return value;
  }
  switch (schema.type) {
    case 'object':
      return walkObject(schema, value, path, issues);
    case 'array':
      return walkArray(schema, value, path, issues);
    case 'string':
      walkString(schema, value, path, issues);
      return value;
    case 'integer':
    case 'number':
      walkNumber(schema, value, path, issues);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') error(issues, path, `must be true or false (got ${describeValue(value)})`);
      return value;
    default:
      // No type: free-form (or enum-only) schema.
      if (Array.isArray(schema.enum)) checkEnum(schema.enum as unknown[], value, path, issues);
      return structuredClone(value);
  }
}

function walkAnyOf(options: Schema[], value: unknown, path: Path, issues: Issue[]): unknown {
  let fewest: Issue[] | undefined;
  for (const option of options) {
    const attempt: Issue[] = [];
    const out = walk(option, value, path, attempt);
    if (attempt.length === 0) return out;
    if (fewest === undefined || attempt.length < fewest.length) fewest = attempt;
  }
  issues.push(...(fewest ?? []));
  return value;
}

function walkObject(schema: Schema, value: unknown, path: Path, issues: Issue[]): unknown {
  if (!isPlainObject(value)) {
    error(issues, path, `must be an object (a mapping of fields; got ${describeValue(value)})`);
    return value;
  }
  const props = asSchema(schema.properties) ?? {};
  const additional = schema.additionalProperties;
  const patterns = asSchema(schema.patternProperties);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const propSchema = asSchema(props[key]) ?? additionalSchemaFor(key, additional, patterns);
    if (propSchema) {
      out[key] = walk(propSchema, v, [...path, key], issues);
    } else if (additional === false) {
      error(issues, [...path, key], unknownFieldMessage(key, Object.keys(props)));
    } else {
      out[key] = structuredClone(v);
    }
  }
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  for (const key of required) {
    if (value[key] === undefined) error(issues, [...path, key], `required field "${key}" is missing`);
  }
  for (const [key, propSchema] of Object.entries(props)) {
    const def = asSchema(propSchema)?.default;
    if (value[key] === undefined && def !== undefined) out[key] = structuredClone(def);
  }
  const count = Object.keys(value).length;
  if (typeof schema.minProperties === 'number' && count < schema.minProperties) {
    error(issues, path, `must have at least ${schema.minProperties} entr${schema.minProperties === 1 ? 'y' : 'ies'}`);
  }
  if (typeof schema.maxProperties === 'number' && count > schema.maxProperties) {
    error(issues, path, `must have at most ${schema.maxProperties} entries (has ${count})`);
  }
  checkOneOf(schema, value, path, issues);
  return out;
}

function additionalSchemaFor(key: string, additional: unknown, patterns: Schema | undefined): Schema | undefined {
  if (patterns) {
    for (const [pattern, s] of Object.entries(patterns)) {
      if (cachedRegExp(pattern).test(key)) return asSchema(s);
    }
  }
  return asSchema(additional);
}

function unknownFieldMessage(key: string, known: readonly string[]): string {
  const guess = suggest(key, known);
  if (guess !== undefined) return `unknown field "${key}"; did you mean "${guess}"?`;
  if (known.length === 0) return `unknown field "${key}"`;
  const list = known.length <= 12 ? known.join(', ') : `${known.slice(0, 12).join(', ')}, ...`;
  return `unknown field "${key}" (known fields: ${list})`;
}

function checkOneOf(schema: Schema, value: Record<string, unknown>, path: Path, issues: Issue[]): void {
  const groups = schema[ONEOF_KEY];
  if (!Array.isArray(groups)) return;
  for (const group of groups as string[][]) {
    const set = group.filter((f) => value[f] !== undefined && value[f] !== null);
    if (set.length > 1) {
      error(issues, path, `only one of ${group.join(', ')} may be set (found ${set.join(' and ')})`);
    }
  }
}

function walkArray(schema: Schema, value: unknown, path: Path, issues: Issue[]): unknown {
  if (!Array.isArray(value)) {
    error(issues, path, `must be a list (got ${describeValue(value)})`);
    return value;
  }
  const items = asSchema(schema.items);
  const list: readonly unknown[] = value;
  const out = list.map((v, i): unknown => (items ? walk(items, v, [...path, i], issues) : structuredClone(v)));
  if (typeof schema.minItems === 'number' && value.length < schema.minItems) {
    error(issues, path, `must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
  }
  if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) {
    error(issues, path, `must have at most ${schema.maxItems} items (has ${value.length})`);
  }
  return out;
}

function checkEnum(values: readonly unknown[], value: unknown, path: Path, issues: Issue[]): void {
  if (values.includes(value)) return;
  const names = values.map((v) => describeValue(v));
  const guess = typeof value === 'string' ? suggest(value, values.filter((v) => typeof v === 'string')) : undefined;
  const hint = guess !== undefined ? `; did you mean "${guess}"?` : '';
  error(issues, path, `must be one of ${names.join(', ')} (got ${describeValue(value)})${hint}`);
}

function walkString(schema: Schema, value: unknown, path: Path, issues: Issue[]): void {
  if (typeof value !== 'string') {
    error(issues, path, `must be a string (got ${describeValue(value)})`);
    return;
  }
  if (Array.isArray(schema.enum)) {
    checkEnum(schema.enum as unknown[], value, path, issues);
    return;
  }
  const len = [...value].length;
  if (typeof schema.minLength === 'number' && len < schema.minLength) {
    error(issues, path, schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters long`);
  }
  if (typeof schema.maxLength === 'number' && len > schema.maxLength) {
    error(issues, path, `must be at most ${schema.maxLength} characters long (is ${len})`);
  }
  if (typeof schema.pattern === 'string' && !cachedRegExp(schema.pattern).test(value)) {
    error(issues, path, `${describeValue(value)} does not match the pattern ${schema.pattern}`);
  }
  switch (schema.format) {
    case FORMAT_DURATION:
      if (parseDuration(value) === undefined) {
        error(issues, path, `invalid duration ${describeValue(value)}: write a number with a unit (h, m, s, ms, us, ns), e.g. "1.5s", "100ms" or "2m30s"`);
      }
      break;
    case FORMAT_RE2: {
      const compiled = compileRegex(value);
      if (!compiled.ok) error(issues, path, `invalid regular expression ${describeValue(value)} (RE2 syntax): ${compiled.error}`);
      break;
    }
    case 'byte':
      if (!BASE64.test(value.replace(/\s+/g, ''))) error(issues, path, 'must be base64-encoded bytes');
      break;
    default:
      break;
  }
}

function numberRange(schema: Schema, integer: boolean): { min?: number; max?: number; text: string } {
  let min = typeof schema.minimum === 'number' ? schema.minimum : undefined;
  let max = typeof schema.maximum === 'number' ? schema.maximum : undefined;
  if (schema.format === 'int32') {
    min = Math.max(min ?? INT32_MIN, INT32_MIN);
    max = Math.min(max ?? INT32_MAX, INT32_MAX);
  }
  const kind = integer ? 'an integer' : 'a number';
  if (min !== undefined && max !== undefined) return { min, max, text: `${kind} between ${min} and ${max}` };
  if (min !== undefined) return { min, text: `${kind} >= ${min}` };
  if (max !== undefined) return { max, text: `${kind} <= ${max}` };
  return { text: kind };
}

function walkNumber(schema: Schema, value: unknown, path: Path, issues: Issue[]): void {
  const integer = schema.type === 'integer';
  const range = numberRange(schema, integer);
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    (range.min === undefined || value >= range.min) &&
    (range.max === undefined || value <= range.max) &&
    (typeof schema.exclusiveMinimum !== 'number' || value > schema.exclusiveMinimum) &&
    (typeof schema.exclusiveMaximum !== 'number' || value < schema.exclusiveMaximum);
  if (ok) return;
  let text = range.text;
  if (typeof schema.exclusiveMinimum === 'number') text += ` greater than ${schema.exclusiveMinimum}`;
  if (typeof schema.exclusiveMaximum === 'number') text += ` less than ${schema.exclusiveMaximum}`;
  error(issues, path, `must be ${text} (got ${describeValue(value)})`);
}
