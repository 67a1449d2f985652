/**
 * The CRD-side validator used by the conformance test, checked on its own: Kubernetes semantics
 * it must reproduce (strict unknown fields, null pruning, integer formats, CEL, list-map keys)
 * and the rule that a CEL rule it cannot run makes the verdict undecided instead of passing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { formatPath } from '../../src/api/types.js';
import { CrdValidator } from '../helpers/crd-validator.js';
import { istioSample, requireIstioSamples, skipWithoutIstioSamples } from '../helpers/shared.js';
import { compileRule } from './crd/cel.js';

const toyCrd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.io
spec:
  group: example.io
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, format: int32}
              label: {type: string, nullable: true}
              note: {type: string}
              timeout:
                type: string
                x-kubernetes-validations:
                - {rule: "duration(self) >= duration('1ms')", message: at least 1ms}
              magic:
                type: string
                x-kubernetes-validations:
                - {rule: "self.sparkle()", message: must sparkle}
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string}
              extra:
                type: object
                x-kubernetes-preserve-unknown-fields: true
`;
const toy = new CrdValidator(toyCrd);
const widget = (spec: unknown, metadata: unknown = { name: 'w', namespace: 'ns' }) => ({ apiVersion: 'example.io/v1', kind: 'Widget', metadata, spec });
const paths = (v: { errors: { path: (string | number)[] }[] }) => v.errors.map((e) => formatPath(e.path));

describe('CRD validator semantics', () => {
  test('accepts a conforming object and leaves the caller’s object untouched', () => {
    const doc = widget({ size: 3, label: null, note: null, timeout: '1h30m', extra: { anything: [1, 2] } });
    const before = structuredClone(doc);
    assert.deepEqual(toy.validate(doc), { decision: 'accept', errors: [], undecided: [] });
    assert.deepEqual(doc, before);
  });
  test('rejects unknown fields at any depth, as kubectl --validate=strict does', () => {
    const v = toy.validate({ ...widget({ size: 1, colour: 'red' }), status2: {} });
    assert.equal(v.decision, 'reject');
    assert.deepEqual(paths(v).sort(), ['spec.colour', 'status2']);
  });
  test('checks int32 bounds from the format', () => {
    assert.equal(toy.validate(widget({ size: 2147483647 })).decision, 'accept');
    assert.deepEqual(paths(toy.validate(widget({ size: 2147483648 }))), ['spec.size']);
  });
  test('evaluates CEL duration rules: too short and malformed both reject', () => {
    assert.deepEqual(paths(toy.validate(widget({ timeout: '0s' }))), ['spec.timeout']);
    const bad = toy.validate(widget({ timeout: '1x' }));
    assert.equal(bad.decision, 'reject');
    assert.match(bad.errors[0].message, /evaluation error/);
  });
  test('a rule the evaluator cannot run makes the verdict undecided, never accept', () => {
    const v = toy.validate(widget({ magic: 'x' }));
    assert.equal(v.decision, 'undecided');
    assert.deepEqual(v.undecided.map((u) => formatPath(u.path)), ['spec.magic']);
    assert.equal(toy.validate(widget({ magic: 'x', size: 'big' })).decision, 'reject', 'a certain error still decides');
  });
  test('rejects duplicate keys of an x-kubernetes-list-type map', () => {
    assert.deepEqual(paths(toy.validate(widget({ ports: [{ name: 'a' }, { name: 'b' }, { name: 'a' }] }))), ['spec.ports[2]']);
  });
  test('validates metadata: name syntax and unknown fields', () => {
    const v = toy.validate(widget({}, { name: 'Not_Valid', namespace: 'ns', colour: 'red', labels: { app: 'has space' } }));
    assert.deepEqual(paths(v).sort(), ['metadata.colour', 'metadata.labels.app', 'metadata.name']);
  });
  test('reports unknown kinds and versions instead of deciding', () => {
    assert.equal(toy.validate({ ...widget({}), apiVersion: 'example.io/v2' }).decision, 'unknown-kind');
    assert.equal(toy.validate({ ...widget({}), kind: 'Gadget' }).decision, 'unknown-kind');
  });
});

describe('Istio CRD bundle', { skip: skipWithoutIstioSamples }, () => {
  before(() => void requireIstioSamples());
  test('serves every Istio kind Skiff implements, in every API version', () => {
    const served = new Set(CrdValidator.fromFile(istioSample('istio-crds.gen.yaml')).servedVersions());
    const want = [
      ...['VirtualService', 'DestinationRule', 'Gateway', 'ServiceEntry', 'Sidecar', 'WorkloadEntry']
        .flatMap((k) => ['v1', 'v1beta1', 'v1alpha3'].map((v) => `networking.istio.io/${v}/${k}`)),
      ...['PeerAuthentication', 'AuthorizationPolicy', 'RequestAuthentication']
        .flatMap((k) => ['v1', 'v1beta1'].map((v) => `security.istio.io/${v}/${k}`)),
      'telemetry.istio.io/v1/Telemetry',
    ];
    for (const gvk of want) assert.ok(served.has(gvk), `${gvk} not served by the bundle`);
  });
  test('every CEL rule in the bundle compiles in the evaluator', () => {
    const rules = new Set<string>();
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(collect);
      if (typeof node !== 'object' || node === null) return;
      const rec = node as Record<string, unknown>;
      if (Array.isArray(rec['x-kubernetes-validations'])) {
        for (const r of rec['x-kubernetes-validations'] as { rule: string }[]) rules.add(r.rule);
      }
      Object.values(rec).forEach(collect);
    };
    for (const doc of parseAllDocuments(readFileSync(istioSample('istio-crds.gen.yaml'), 'utf8'))) collect(doc.toJS());
    assert.ok(rules.size > 20, `only ${rules.size} rules found`);
    const failing = [...rules].filter((r) => typeof compileRule(r) !== 'function');
    assert.deepEqual(failing, []);
  });
});
