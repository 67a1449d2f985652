import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { crdFor, generateCrds, toStructural } from '../../src/api/crd.js';
import { kinds } from '../../src/api/registry.js';
import { IntOrString, MapOf, OneOf, Opt, Str, Strict, Struct, UInt32, Duration, Regex } from '../../src/api/schema-kit.js';
import { istioSample, requireIstioSamples, skipWithoutIstioSamples } from '../helpers/shared.js';

type Json = Record<string, unknown>;
const isJson = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys a Kubernetes JSONSchemaProps may carry. */
const ALLOWED_KEYS = new Set([
  'type', 'format', 'description', 'properties', 'items', 'additionalProperties', 'required', 'enum', 'nullable',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems',
  'uniqueItems', 'minProperties', 'maxProperties', 'multipleOf', 'default', 'allOf', 'anyOf', 'oneOf', 'not', 'title', 'example',
  'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-validations', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-embedded-resource',
]);
/** Inside value validations (allOf/anyOf/oneOf/not) these are forbidden by the structural rules. */
const FORBIDDEN_IN_VALUE_VALIDATION = ['type', 'description', 'default', 'additionalProperties', 'nullable'];

/** Returns the violations of Kubernetes' structural-schema rules under `path`. */
function structuralProblems(node: unknown, path: string, inValueValidation = false): string[] {
  if (!isJson(node)) return [`${path}: schema node must be an object`];
  const out: string[] = [];
  for (const key of Object.keys(node)) if (!ALLOWED_KEYS.has(key)) out.push(`${path}: key "${key}" is not allowed in a CRD schema`);
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  if (inValueValidation) {
    for (const k of FORBIDDEN_IN_VALUE_VALIDATION) if (k in node) out.push(`${path}: "${k}" is not allowed inside allOf/anyOf/oneOf/not`);
  } else if (typeof node.type !== 'string' || node.type === '') {
    if (!intOrString) out.push(`${path}: every node needs a type`);
  }
  if (node.additionalProperties === false) out.push(`${path}: additionalProperties: false is not allowed`);
  if (node.properties !== undefined && node.additionalProperties !== undefined) out.push(`${path}: properties and additionalProperties are mutually exclusive`);
  if (intOrString) {
    const ok = JSON.stringify(node.anyOf) === JSON.stringify([{ type: 'integer' }, { type: 'string' }]);
    if (!ok) out.push(`${path}: x-kubernetes-int-or-string needs anyOf [{type: integer}, {type: string}]`);
  }
  if (isJson(node.properties)) {
    for (const [k, v] of Object.entries(node.properties)) out.push(...structuralProblems(v, `${path}.${k}`, inValueValidation));
  }
  if (node.items !== undefined) out.push(...structuralProblems(node.items, `${path}[]`, inValueValidation));
  if (isJson(node.additionalProperties)) out.push(...structuralProblems(node.additionalProperties, `${path}{}`, inValueValidation));
  // Value validations may only restate fields that the structural part declares.
  const declared = new Set(isJson(node.properties) ? Object.keys(node.properties) : []);
  const validations = [...(Array.isArray(node.allOf) ? node.allOf : []), ...(Array.isArray(node.oneOf) ? node.oneOf : []),
    ...(Array.isArray(node.anyOf) && !intOrString ? node.anyOf : []), ...(node.not !== undefined ? [node.not] : [])];
  for (const v of validations) {
    if (!isJson(v)) continue;
    for (const k of ['type', 'description', 'default', 'additionalProperties', 'nullable']) {
      if (k in v && !intOrString) out.push(`${path}: "${k}" is not allowed inside allOf/anyOf/oneOf/not`);
    }
    const check = (vv: Json): void => {
      for (const r of Array.isArray(vv.required) ? (vv.required as string[]) : []) {
        if (!declared.has(r)) out.push(`${path}: value validation requires "${r}", which is not a declared property`);
      }
      for (const nested of [...(Array.isArray(vv.anyOf) ? vv.anyOf : []), ...(Array.isArray(vv.oneOf) ? vv.oneOf : []), ...(vv.not ? [vv.not] : [])]) {
        if (isJson(nested)) check(nested);
      }
    };
    if (!intOrString) check(v);
  }
  return out;
}

function crdSchemas(crd: Json): Array<{ name: string; schema: Json; storage: boolean; served: boolean }> {
  const spec = crd.spec as Json;
  return (spec.versions as Json[]).map((v) => ({
    name: String(v.name),
    schema: (v.schema as Json).openAPIV3Schema as Json,
    storage: v.storage === true,
    served: v.served === true,
  }));
}

test('the structural checker itself rejects non-structural schemas', () => {
  assert.deepEqual(structuralProblems({ type: 'object', properties: { a: { type: 'string' } } }, 's'), []);
  assert.ok(structuralProblems({ properties: { a: {} } }, 's').length >= 2, 'missing types');
  assert.ok(structuralProblems({ type: 'object', additionalProperties: false }, 's').some((p) => p.includes('additionalProperties: false')));
  assert.ok(structuralProblems({ type: 'object', patternProperties: {} }, 's').some((p) => p.includes('"patternProperties"')));
  assert.ok(structuralProblems({ type: 'object', properties: {}, oneOf: [{ required: ['x'] }] }, 's').some((p) => p.includes('"x"')));
  assert.ok(structuralProblems({ type: 'object', oneOf: [{ type: 'string' }] }, 's').some((p) => p.includes('"type" is not allowed')));
});

test('toStructural converts the kit\'s constructs', () => {
  const schema = OneOf(Strict({
    exact: Opt(Str()),
    regex: Opt(Regex()),
    timeout: Opt(Duration({ description: 'd' })),
    port: Opt(IntOrString()),
    weight: Opt(UInt32({ default: 0 })),
    headers: Opt(MapOf(Strict({ value: Str() }))),
    free: Opt(Struct()),
  }), [['exact', 'regex']]);
  assert.deepEqual(toStructural(schema), {
    type: 'object',
    properties: {
      exact: { type: 'string' },
      regex: { type: 'string' },
      timeout: { description: 'd', type: 'string' },
      port: { anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true },
      weight: { minimum: 0, maximum: 4294967295, type: 'integer' },
      headers: { type: 'object', additionalProperties: { type: 'object', properties: { value: { type: 'string' } }, required: ['value'] } },
      free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
    oneOf: [{ not: { anyOf: [{ required: ['exact'] }, { required: ['regex'] }] } }, { required: ['exact'] }, { required: ['regex'] }],
  });
});

test('a CRD is generated for each Istio kind, with names, versions and scope as Istio declares them', () => {
  const crds = generateCrds() as Json[];
  const istioKinds = kinds.filter((k) => k.group.endsWith('.istio.io'));
  assert.equal(crds.length, istioKinds.length);
  assert.ok(istioKinds.length >= 4, 'security and telemetry kinds are registered');
  const pa = crds.find((c) => (c.metadata as Json).name === 'peerauthentications.security.istio.io');
  assert.ok(pa, 'PeerAuthentication CRD');
  const spec = pa.spec as Json;
  assert.equal(spec.group, 'security.istio.io');
  assert.equal(spec.scope, 'Namespaced');
  assert.deepEqual(spec.names, {
    kind: 'PeerAuthentication', listKind: 'PeerAuthenticationList', plural: 'peerauthentications', singular: 'peerauthentication',
    shortNames: ['pa'], categories: ['istio-io', 'security-istio-io'],
  });
  assert.deepEqual(crdSchemas(pa).map((v) => [v.name, v.served, v.storage]), [['v1', true, true], ['v1beta1', true, false]]);
  const tel = crdSchemas(crds.find((c) => (c.metadata as Json).name === 'telemetries.telemetry.istio.io') ?? {});
  assert.deepEqual(tel.map((v) => [v.name, v.storage]), [['v1', false], ['v1alpha1', true]], 'Telemetry is stored as v1alpha1, as in Istio');
  for (const crd of crds) {
    assert.equal(crdSchemas(crd).filter((v) => v.storage).length, 1, `${String((crd.metadata as Json).name)} has exactly one storage version`);
  }
});

test('every generated CRD schema is structural', () => {
  for (const crd of generateCrds() as Json[]) {
    for (const v of crdSchemas(crd)) {
      assert.deepEqual(structuralProblems(v.schema, `${String((crd.metadata as Json).name)}/${v.name}`), []);
    }
  }
});

test('crdFor does not share objects between versions (a consumer may edit one)', () => {
  const def = kinds.find((k) => k.kind === 'AuthorizationPolicy');
  assert.ok(def);
  const [a, b] = crdSchemas(crdFor(def));
  assert.ok(a && b);
  assert.notEqual(a.schema, b.schema);
  assert.deepEqual(a.schema, b.schema);
});

function typeName(node: unknown): string {
  if (!isJson(node)) return '?';
  if (typeof node.type === 'string') return node.type;
  return node['x-kubernetes-int-or-string'] === true ? 'int-or-string' : '?';
}

/** Every property path of a schema with its type: `spec.rules[].from[].source.principals[]:string`. */
function fieldTree(node: unknown, path: string, out = new Set<string>()): Set<string> {
  if (!isJson(node)) return out;
  for (const [k, v] of Object.entries(isJson(node.properties) ? node.properties : {})) {
    const p = `${path}.${k}`;
    out.add(`${p}:${typeName(v)}`);
    fieldTree(v, p, out);
  }
  if (node.items !== undefined) fieldTree(node.items, `${path}[]`, out);
  if (isJson(node.additionalProperties)) {
    out.add(`${path}{}:${typeName(node.additionalProperties)}`);
    fieldTree(node.additionalProperties, `${path}{}`, out);
  }
  return out;
}

/** Constraints that decide validity: enums, ranges, lengths, required lists, formats. */
function constraints(node: unknown, path: string, out = new Set<string>()): Set<string> {
  if (!isJson(node)) return out;
  for (const key of ['format', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'nullable', 'pattern']) {
    if (node[key] !== undefined) out.add(`${path} ${key}=${JSON.stringify(node[key])}`);
  }
  if (Array.isArray(node.enum)) out.add(`${path} enum=${JSON.stringify([...(node.enum as string[])].sort())}`);
  if (Array.isArray(node.required)) out.add(`${path} required=${JSON.stringify([...(node.required as string[])].sort())}`);
  for (const [k, v] of Object.entries(isJson(node.properties) ? node.properties : {})) constraints(v, `${path}.${k}`, out);
  if (node.items !== undefined) constraints(node.items, `${path}[]`, out);
  if (isJson(node.additionalProperties)) constraints(node.additionalProperties, `${path}{}`, out);
  return out;
}

function istioCrds(): Map<string, Json> {
  requireIstioSamples();
  const file = istioSample('istio-crds.gen.yaml');
  const out = new Map<string, Json>();
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const js: unknown = doc.toJS();
    if (isJson(js) && isJson(js.metadata)) out.set(String(js.metadata.name), js);
  }
  return out;
}

test('each generated CRD has the same fields, types, versions and constraints as Istio\'s CRD', { skip: skipWithoutIstioSamples }, () => {
  const theirs = istioCrds();
  for (const ours of generateCrds() as Json[]) {
    const name = String((ours.metadata as Json).name);
    const istio = theirs.get(name);
    assert.ok(istio, `Istio ships a CRD named ${name}`);
    const ourVersions = crdSchemas(ours);
    const istioVersions = crdSchemas(istio);
    assert.deepEqual(ourVersions.map((v) => `${v.name}${v.storage ? '*' : ''}`).sort(), istioVersions.map((v) => `${v.name}${v.storage ? '*' : ''}`).sort(), `${name}: versions`);
    assert.deepEqual((ours.spec as Json).names, { ...((istio.spec as Json).names as Json) }, `${name}: names`);
    for (const v of ourVersions) {
      const iv = istioVersions.find((x) => x.name === v.name);
      const ourSpec = (v.schema.properties as Json).spec;
      const istioSpec = ((iv?.schema.properties ?? {}) as Json).spec;
      const a = fieldTree(ourSpec, 'spec');
      const b = fieldTree(istioSpec, 'spec');
      assert.deepEqual({ missing: [...b].filter((x) => !a.has(x)), extra: [...a].filter((x) => !b.has(x)) }, { missing: [], extra: [] }, `${name}/${v.name}: field tree`);
      const ca = constraints(ourSpec, 'spec');
      const cb = constraints(istioSpec, 'spec');
      assert.deepEqual({ missing: [...cb].filter((x) => !ca.has(x)), extra: [...ca].filter((x) => !cb.has(x)) }, { missing: [], extra: [] }, `${name}/${v.name}: constraints`);
    }
  }
});
