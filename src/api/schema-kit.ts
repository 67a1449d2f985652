/**
 * Building blocks for kind schemas: each helper returns a TypeBox schema (so `Static<>` gives the
 * TypeScript type) in the JSON-Schema subset that Skiff's validator (`schema-check.ts`) checks and
 * that `crd.ts` turns into a structural Kubernetes `openAPIV3Schema`.
 *
 * Example (a kind under `src/api/kinds/...`):
 *
 * ```ts
 * import type { Static } from 'typebox';
 * import { Strict, Opt, Str, StringList, UInt32, Duration, Enum, List, OneOf, Regex, StringMap, parseDuration } from '../../schema-kit.js';
 * import type { KindDef, Issue, Resource } from '../../types.js';
 *
 * export const StringMatch = OneOf(Strict({ exact: Opt(Str()), prefix: Opt(Str()), regex: Opt(Regex()) }),
 *   [['exact', 'prefix', 'regex']]);
 * const Route = Strict({ host: Str({ description: 'Service name' }), weight: Opt(UInt32()) });
 * export const FooSpec = Strict({
 *   hosts: Opt(StringList()),
 *   mode: Opt(Enum(['UNSET', 'STRICT'] as const, { default: 'UNSET' })), // default applied by the validator
 *   timeout: Opt(Duration()),
 *   route: Opt(List(Route)),
 *   labels: Opt(StringMap()),
 * });
 * export type FooSpec = Static<typeof FooSpec>;
 * export const foo: KindDef = {
 *   group: 'example.istio.io', kind: 'Foo', plural: 'foos', versions: ['v1'], namespaced: true, schema: FooSpec,
 *   rules: (r: Resource) => {
 *     const spec = r.spec as FooSpec; const out: Issue[] = [];
 *     const ms = spec.timeout === undefined ? undefined : parseDuration(spec.timeout);
 *     if (ms !== undefined && ms < 1) out.push({ severity: 'error', path: ['spec', 'timeout'], message: 'duration must be at least 1ms' });
 *     return out;
 *   },
 * };
 * ```
 *
 * Every helper takes TypeBox options: `description`, `default`, constraints such as `minimum`,
 * `maxLength`, `minItems`, `pattern` (a JavaScript-compatible pattern; use `Regex()` for user RE2),
 * `nullable: true` (protobuf wrapper types), and `x-kubernetes-*` keys, which pass into the CRD.
 */
import Type from 'typebox';
import type {
  TArrayOptions,
  TNumberOptions,
  TObject,
  TObjectOptions,
  TProperties,
  TSchema,
  TSchemaOptions,
  TStringOptions,
  TUnsafe,
  Static,
} from 'typebox';

export { parseDuration, formatDuration } from './duration.js';
export { compileRegex } from './regex.js';
export type { CompiledRegex } from './regex.js';
export type { Static, TSchema } from 'typebox';

/** `format` values the validator checks itself; `crd.ts` drops them (Istio's CRDs have plain strings). */
export const FORMAT_DURATION = 'go-duration';
export const FORMAT_RE2 = 're2';
export const FORMAT_QUANTITY = 'k8s-quantity';
/** Schema key holding the oneof groups of an object (see `OneOf`). */
export const ONEOF_KEY = 'x-skiff-oneof';

/** An object whose unknown fields are errors (kubectl --validate=strict). */
export function Strict<P extends TProperties>(props: P, opts?: TObjectOptions): TObject<P> {
  return Type.Object(props, { ...opts, additionalProperties: false });
}

/** An optional field (TypeBox `Optional`). */
export const Opt = Type.Optional;

/** A duration in Go syntax (`100ms`, `1.5s`, `2m30s`, `1h`); Istio-level minimums belong in rules. */
export function Duration(opts?: TStringOptions): TUnsafe<string> {
  return Type.Unsafe<string>({ ...opts, type: 'string', format: FORMAT_DURATION });
}

/** protobuf uint32: 0..4294967295. */
export function UInt32(opts?: TNumberOptions): TUnsafe<number> {
  return Type.Unsafe<number>({ minimum: 0, maximum: 4294967295, ...opts, type: 'integer' });
}

/** protobuf int32 (`format: int32`, range checked by the validator). */
export function Int32(opts?: TNumberOptions): TUnsafe<number> {
  return Type.Unsafe<number>({ ...opts, type: 'integer', format: 'int32' });
}

/** protobuf int64 (JavaScript numbers are exact up to 2^53, enough for any sane value). */
export function Int64(opts?: TNumberOptions): TUnsafe<number> {
  return Type.Unsafe<number>({ ...opts, type: 'integer' });
}

/** protobuf uint64. */
export function UInt64(opts?: TNumberOptions): TUnsafe<number> {
  return Type.Unsafe<number>({ minimum: 0, ...opts, type: 'integer' });
}

/** protobuf double / float. */
export function Double(opts?: TNumberOptions): TUnsafe<number> {
  return Type.Unsafe<number>({ ...opts, type: 'number', format: 'double' });
}

export function Bool(opts?: TSchemaOptions): TUnsafe<boolean> {
  return Type.Unsafe<boolean>({ ...opts, type: 'boolean' });
}

export function Str(opts?: TStringOptions): TUnsafe<string> {
  return Type.Unsafe<string>({ ...opts, type: 'string' });
}

/** protobuf `bytes`: base64 text. */
export function Bytes(opts?: TStringOptions): TUnsafe<string> {
  return Type.Unsafe<string>({ ...opts, type: 'string', format: 'byte' });
}

/** A string that must be one of `values` (protobuf enums are written by name). */
export function Enum<const V extends readonly string[]>(values: V, opts?: TSchemaOptions): TUnsafe<V[number]> {
  return Type.Unsafe<V[number]>({ ...opts, type: 'string', enum: [...values] });
}

/** `map<string, string>` (labels, headers...). */
export function StringMap(opts?: TObjectOptions): TUnsafe<Record<string, string>> {
  return Type.Unsafe<Record<string, string>>({ ...opts, type: 'object', additionalProperties: { type: 'string' } });
}

/** `map<string, V>` for any value schema (keys are always strings in YAML/JSON). */
export function MapOf<V extends TSchema>(value: V, opts?: TObjectOptions): TUnsafe<Record<string, Static<V>>> {
  return Type.Unsafe<Record<string, Static<V>>>({ ...opts, type: 'object', additionalProperties: value });
}

export function StringList(opts?: TArrayOptions): TUnsafe<string[]> {
  return Type.Unsafe<string[]>({ ...opts, type: 'array', items: { type: 'string' } });
}

export function List<T extends TSchema>(item: T, opts?: TArrayOptions): TUnsafe<Array<Static<T>>> {
  return Type.Unsafe<Array<Static<T>>>({ ...opts, type: 'array', items: item });
}

/** Kubernetes IntOrString (`targetPort: 8080` or `targetPort: http`). */
export function IntOrString(opts?: TSchemaOptions): TUnsafe<number | string> {
  return Type.Unsafe<number | string>({
    ...opts,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    'x-kubernetes-int-or-string': true,
  });
}

/** A user-written regular expression; must compile under RE2 (the validator reports RE2's error). */
export function Regex(opts?: TStringOptions): TUnsafe<string> {
  return Type.Unsafe<string>({ ...opts, type: 'string', format: FORMAT_RE2 });
}

/** Kubernetes resource quantity (`cpu: 100m`, `memory: 128Mi`, `cpu: 0.5`). */
export function Quantity(opts?: TSchemaOptions): TUnsafe<number | string> {
  return Type.Unsafe<number | string>({
    ...opts,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    'x-kubernetes-int-or-string': true,
    format: FORMAT_QUANTITY,
  });
}

/** Free-form JSON (google.protobuf.Struct / Value); kept as written. */
export function Struct(opts?: TSchemaOptions): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({ ...opts, type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
}

/**
 * Marks proto oneofs on an object: at most one field of each group may be set. The validator
 * reports e.g. "only one of exact, prefix, regex may be set" at the object's path; the CRD gets
 * Istio's `oneOf: [{not: {anyOf: [{required: [a]}, ...]}}, {required: [a]}, ...]` form.
 */
export function OneOf<P extends TProperties>(schema: TObject<P>, groups: string[][]): TObject<P> {
  const { properties, required: _required, ...options } = schema;
  const existing: unknown = (options as Record<string, unknown>)[ONEOF_KEY];
  const prior = Array.isArray(existing) ? (existing as string[][]) : [];
  return Type.Object(properties, { ...options, [ONEOF_KEY]: [...prior, ...groups.map((g) => [...g])] });
}
