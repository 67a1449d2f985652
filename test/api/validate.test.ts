import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateResource } from '../../src/api/validate.js';
import { formatPath, type Issue } from '../../src/api/types.js';

function render(issues: readonly Issue[]): string[] {
  return issues.map((i) => `${i.severity} ${formatPath(i.path)}: ${i.message}`);
}

const pa = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'PeerAuthentication',
  metadata: { name: 'default', namespace: 'foo' },
  spec: { mtls: { mode: 'STRICT' } },
  ...extra,
});

test('a valid resource comes back typed, with no issues', () => {
  const r = validateResource(pa());
  assert.deepEqual(r.issues, []);
  assert.equal(r.resource?.kind, 'PeerAuthentication');
  assert.deepEqual(r.resource?.metadata, { name: 'default', namespace: 'foo' });
  assert.deepEqual(r.resource?.spec, { mtls: { mode: 'STRICT' } });
});

test('documents that are not mappings are rejected without a crash', () => {
  for (const doc of [null, 42, 'text', [1, 2]]) {
    const r = validateResource(doc);
    assert.equal(r.resource, undefined);
    assert.equal(r.issues.length, 1);
    assert.match(r.issues[0]?.message ?? '', /a resource must be a mapping with apiVersion, kind and metadata/);
  }
});

test('missing apiVersion and kind are both reported', () => {
  assert.deepEqual(render(validateResource({ metadata: { name: 'a' } }).issues), [
    'error apiVersion: apiVersion is missing',
    'error kind: kind is missing',
  ]);
  assert.deepEqual(render(validateResource({ apiVersion: 1, kind: 'Service' }).issues), ['error apiVersion: apiVersion must be a non-empty string (got 1)']);
});

test('metadata: name is required and must be DNS-1123; namespace must be a label', () => {
  assert.deepEqual(render(validateResource(pa({ metadata: undefined })).issues), ['error metadata: metadata is missing; every resource needs metadata.name']);
  assert.deepEqual(render(validateResource(pa({ metadata: { namespace: 'foo' } })).issues), ['error metadata.name: metadata.name is required']);
  const bad = render(validateResource(pa({ metadata: { name: 'My_Policy', namespace: 'a.b' } })).issues);
  assert.equal(bad.length, 2);
  assert.match(bad[0] ?? '', /^error metadata\.name: invalid name "My_Policy": must be a DNS-1123 subdomain/);
  assert.match(bad[1] ?? '', /^error metadata\.namespace: invalid namespace "a\.b": must be a DNS-1123 label/);
  const long = render(validateResource(pa({ metadata: { name: 'a'.repeat(254) } })).issues);
  assert.match(long[0] ?? '', /must be no more than 253 characters/);
});

test('metadata: label keys/values and unknown metadata fields', () => {
  const issues = render(validateResource(pa({ metadata: { name: 'a', lables: {}, labels: { 'bad key!': 'x', ok: 'bad value!' } } })).issues);
  assert.deepEqual(issues.sort(), [
    'error metadata.labels.bad key!: invalid label key "bad key!": name part must consist of alphanumerics, \'-\', \'_\' or \'.\', starting and ending with an alphanumeric',
    'error metadata.labels.ok: invalid label value "bad value!": must consist of alphanumerics, \'-\', \'_\' or \'.\', starting and ending with an alphanumeric',
    'error metadata.lables: unknown field "lables"; did you mean "labels"?',
  ]);
});

test('Namespace and Service names must be DNS-1123 labels (no dots)', () => {
  const ns = validateResource({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } });
  assert.match(render(ns.issues)[0] ?? '', /invalid name "a\.b": must be a DNS-1123 label/);
  const sa = validateResource({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'a.b' } });
  assert.deepEqual(sa.issues, []);
});

test('unsupported kinds give one warning and no resource', () => {
  for (const [apiVersion, kind] of [
    ['extensions.istio.io/v1alpha1', 'WasmPlugin'],
    ['networking.istio.io/v1beta1', 'ProxyConfig'],
    ['networking.istio.io/v1', 'WorkloadGroup'],
    ['gateway.networking.k8s.io/v1', 'HTTPRoute'],
    ['gateway.networking.k8s.io/v1', 'Gateway'],
    ['cert-manager.io/v1', 'Certificate'],
    ['apps/v1', 'StatefulSet'],
  ] as const) {
    const r = validateResource({ apiVersion, kind, metadata: { name: 'x' }, spec: { anything: true } });
    assert.equal(r.resource, undefined);
    assert.deepEqual(render(r.issues), [`warning : ${kind} (${apiVersion}) is not supported by Skiff; it is ignored`]);
  }
});

test('unknown kinds and versions are errors that say what would be right', () => {
  const msg = (apiVersion: string, kind: string): string[] => render(validateResource({ apiVersion, kind, metadata: { name: 'x' } }).issues);
  assert.deepEqual(msg('security.istio.io/v1', 'PeerAuthenticaton'), ['error kind: unknown kind "PeerAuthenticaton" in security.istio.io/v1; did you mean "PeerAuthentication"?']);
  assert.deepEqual(msg('v1', 'service'), ['error kind: unknown kind "service" in v1; did you mean "Service"?']);
  assert.deepEqual(msg('security.istio.io/v3', 'PeerAuthentication'), [
    'error apiVersion: PeerAuthentication is not served at security.istio.io/v3 (version v3); use one of security.istio.io/v1, security.istio.io/v1beta1',
  ]);
  assert.deepEqual(msg('v1', 'Deployment'), ['error apiVersion: Deployment belongs to apiVersion apps/v1, not v1']);
  assert.deepEqual(msg('security.istio.oi/v1', 'PeerAuthentication'), ['error apiVersion: unknown apiVersion "security.istio.oi/v1"; did you mean "security.istio.io/v1"?']);
  assert.match(msg('security.istio.io/v1', 'Banana')[0] ?? '', /^error kind: unknown kind "Banana" in security.istio.io\/v1 \(known kinds: PeerAuthentication, AuthorizationPolicy, RequestAuthentication\)/);
});

test('unknown top-level fields are errors with did-you-mean', () => {
  assert.deepEqual(render(validateResource(pa({ sepc: {} })).issues), ['error sepc: unknown field "sepc"; did you mean "spec"?']);
  assert.match(render(validateResource(pa({ extra: 1 })).issues)[0] ?? '', /unknown top-level field "extra"/);
});

test('status is accepted and kept as written', () => {
  const r = validateResource(pa({ status: { conditions: [] } }));
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.resource?.status, { conditions: [] });
});

test('schema errors and metadata errors are reported together; rules wait for a valid schema', () => {
  const r = validateResource(pa({ metadata: { name: 'Bad' }, spec: { mtls: { mode: 'STRICTER' }, portLevelMtls: { 8080: { mode: 'DISABLE' } } } }));
  assert.equal(r.resource, undefined);
  const rendered = render(r.issues);
  assert.equal(rendered.length, 2);
  assert.match(rendered[0] ?? '', /^error metadata\.name: invalid name "Bad"/);
  assert.match(rendered[1] ?? '', /^error spec\.mtls\.mode: must be one of "UNSET", "DISABLE", "PERMISSIVE", "STRICT" \(got "STRICTER"\); did you mean "STRICT"\?/);
});

test('rules run on schema-valid resources and block the resource on error', () => {
  const r = validateResource(pa({ spec: { portLevelMtls: { 8080: { mode: 'DISABLE' } } } }));
  assert.equal(r.resource, undefined);
  assert.deepEqual(render(r.issues), ['error spec.portLevelMtls: portLevelMtls requires selector: mesh- and namespace-wide peer authentication cannot have port level mTLS']);
});

test('defaults are applied to the returned resource without touching the input', () => {
  const input = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } } } };
  const before = structuredClone(input);
  const r = validateResource(input);
  assert.deepEqual(r.issues, []);
  assert.equal((r.resource?.spec as { replicas: number }).replicas, 1);
  assert.deepEqual(input, before);
});

test('kinds without spec keep their fields at the top level (and in spec)', () => {
  const r = validateResource({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { 'a.conf': 'x' } });
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.resource?.data, { 'a.conf': 'x' });
  assert.deepEqual(r.resource?.spec, { data: { 'a.conf': 'x' } });
  const bad = validateResource({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, date: {} });
  assert.deepEqual(render(bad.issues), ['error date: unknown field "date"; did you mean "data"?']);
});
