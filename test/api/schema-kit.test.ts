import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Static } from 'typebox';
import { checkSchema, suggest } from '../../src/api/schema-check.js';
import {
  Bool, Bytes, Double, Duration, Enum, Int32, IntOrString, List, MapOf, OneOf, Opt, Regex, Str, StringList, StringMap, Strict, UInt32,
} from '../../src/api/schema-kit.js';
import { formatPath } from '../../src/api/types.js';

const StringMatch = OneOf(Strict({ exact: Opt(Str()), prefix: Opt(Str()), regex: Opt(Regex()) }), [['exact', 'prefix', 'regex']]);
const Route = Strict({ destination: Strict({ host: Str(), port: Opt(UInt32({ maximum: 65535 })) }), weight: Opt(UInt32()) });
const Spec = Strict({
  hosts: Opt(StringList()),
  http: Opt(List(Strict({
    name: Opt(Str()),
    match: Opt(List(Strict({ uri: Opt(StringMatch), headers: Opt(MapOf(StringMatch)) }))),
    route: Opt(List(Route)),
    timeout: Opt(Duration()),
    retries: Opt(Strict({ attempts: Opt(Int32()), retryOn: Opt(Str({ default: 'connect-failure' })) })),
  }))),
  mode: Opt(Enum(['UNSET', 'STRICT', 'PERMISSIVE'] as const, { default: 'UNSET' })),
  ratio: Opt(Double({ minimum: 0, maximum: 100 })),
  enabled: Opt(Bool()),
  port: Opt(IntOrString()),
  labels: Opt(StringMap()),
  body: Opt(Bytes()),
});
type Spec = Static<typeof Spec>;

function errorsOf(value: unknown): string[] {
  return checkSchema(Spec, value, ['spec']).issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

test('a valid value passes and its static type lines up with the schema', () => {
  const spec: Spec = { hosts: ['a'], http: [{ route: [{ destination: { host: 'r' }, weight: 100 }], timeout: '1.5s' }], port: 'http' };
  assert.deepEqual(errorsOf(spec), []);
});

test('uint32 weight errors give the path and the allowed range', () => {
  const errs = errorsOf({ http: [{ route: [{ destination: { host: 'a' } }, { destination: { host: 'b' }, weight: -1 }] }] });
  assert.deepEqual(errs, ['spec.http[0].route[1].weight: must be an integer between 0 and 4294967295 (got -1)']);
  assert.match(errorsOf({ http: [{ route: [{ destination: { host: 'a' }, weight: 1.5 }] }] })[0] ?? '', /must be an integer between 0 and 4294967295 \(got 1.5\)/);
  assert.match(errorsOf({ http: [{ route: [{ destination: { host: 'a' }, weight: '50' }] }] })[0] ?? '', /must be an integer .* \(got "50"\)/);
});

test('unknown fields are errors, with a did-you-mean against the known fields', () => {
  const errs = errorsOf({ http: [{ route: [{ destination: { host: 'a' }, weigth: 5 }] }] });
  assert.deepEqual(errs, ['spec.http[0].route[0].weigth: unknown field "weigth"; did you mean "weight"?']);
  const far = errorsOf({ zzzzzz: 1 });
  assert.equal(far.length, 1);
  assert.match(far[0] ?? '', /unknown field "zzzzzz" \(known fields: hosts, http, /);
});

test('suggest tolerates case and small typos but not unrelated words', () => {
  assert.equal(suggest('Hosts', ['hosts', 'http']), 'hosts');
  assert.equal(suggest('destnation', ['destination', 'weight']), 'destination');
  assert.equal(suggest('retires', ['retries', 'timeout']), 'retries');
  assert.equal(suggest('banana', ['hosts', 'http']), undefined);
});

test('every error is reported, not only the first', () => {
  const errs = errorsOf({
    hosts: 'a',
    http: [{ timeout: '10', route: [{ destination: {}, weight: -5 }], retries: { attempts: 3e10 } }],
    mode: 'STRICTT',
    ratio: 101,
    enabled: 'yes',
    port: 1.5,
    labels: { a: 1 },
    body: '***',
  });
  assert.deepEqual(errs.sort(), [
    'spec.body: must be base64-encoded bytes',
    'spec.enabled: must be true or false (got "yes")',
    'spec.hosts: must be a list (got "a")',
    'spec.http[0].retries.attempts: must be an integer between -2147483648 and 2147483647 (got 30000000000)',
    'spec.http[0].route[0].destination.host: required field "host" is missing',
    'spec.http[0].route[0].weight: must be an integer between 0 and 4294967295 (got -5)',
    'spec.http[0].timeout: invalid duration "10": write a number with a unit (h, m, s, ms, us, ns), e.g. "1.5s", "100ms" or "2m30s"',
    'spec.labels.a: must be a string (got 1)',
    'spec.mode: must be one of "UNSET", "STRICT", "PERMISSIVE" (got "STRICTT"); did you mean "STRICT"?',
    'spec.port: must be an integer or a string (got 1.5)',
    'spec.ratio: must be a number between 0 and 100 (got 101)',
  ]);
});

test('oneof groups allow at most one field and name the ones found', () => {
  assert.deepEqual(errorsOf({ http: [{ match: [{ uri: { exact: '/a' } }] }] }), []);
  assert.deepEqual(errorsOf({ http: [{ match: [{ uri: { exact: '/a', regex: '/b' } }] }] }), [
    'spec.http[0].match[0].uri: only one of exact, prefix, regex may be set (found exact and regex)',
  ]);
  assert.deepEqual(errorsOf({ http: [{ match: [{ headers: { 'x-a': { prefix: 'a', exact: 'b' } } }] }] }), [
    'spec.http[0].match[0].headers.x-a: only one of exact, prefix, regex may be set (found exact and prefix)',
  ]);
});

test('Regex fields must compile under RE2; the RE2 error is shown', () => {
  const errs = errorsOf({ http: [{ match: [{ uri: { regex: '/a(?=b)' } }] }] });
  assert.equal(errs.length, 1);
  assert.match(errs[0] ?? '', /^spec\.http\[0\]\.match\[0\]\.uri\.regex: invalid regular expression "\/a\(\?=b\)" \(RE2 syntax\): error parsing regexp: invalid or unsupported Perl syntax/);
});

test('defaults are applied to a copy; the input is not modified', () => {
  const input = { http: [{ retries: {} }] };
  const frozen = structuredClone(input);
  const { value, issues } = checkSchema(Spec, input);
  assert.deepEqual(issues, []);
  assert.deepEqual(value, { http: [{ retries: { retryOn: 'connect-failure' } }], mode: 'UNSET' });
  assert.deepEqual(input, frozen);
});

test('type mismatches at object and list level say what was found', () => {
  assert.deepEqual(errorsOf('x'), ['spec: must be an object (a mapping of fields; got "x")']);
  assert.deepEqual(errorsOf({ http: { name: 'a' } }), ['spec.http: must be a list (got an object)']);
  assert.deepEqual(errorsOf({ http: [null] }), ['spec.http[0]: must be an object (a mapping of fields; got null)']);
});

test('the kit emits the JSON Schema the CRD generator expects', () => {
  assert.deepEqual({ ...UInt32() }, { minimum: 0, maximum: 4294967295, type: 'integer' });
  assert.deepEqual({ ...IntOrString() }, { anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true });
  assert.equal((Strict({ a: Str() }) as unknown as Record<string, unknown>).additionalProperties, false);
  assert.deepEqual((StringMatch as unknown as Record<string, unknown>)['x-skiff-oneof'], [['exact', 'prefix', 'regex']]);
  assert.deepEqual({ ...Enum(['A', 'B'] as const) }, { type: 'string', enum: ['A', 'B'] });
});
