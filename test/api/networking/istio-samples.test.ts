import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { toStructural } from '../../../src/api/crd.js';
import { networkingKinds } from '../../../src/api/kinds/networking/index.js';
import { validateResource } from '../../../src/api/validate.js';
import { formatPath } from '../../../src/api/types.js';
import { istioSample, requireIstioSamples, skipWithoutIstioSamples } from '../../helpers/shared.js';

const GROUP = 'networking.istio.io';
const KINDS = new Set(networkingKinds.map((k) => k.kind));

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(name) && name !== 'istio-crds.gen.yaml' ? [p] : [];
  });
}

test('every networking resource in Istio\'s samples validates without error', { skip: skipWithoutIstioSamples }, () => {
  const failures: string[] = [];
  const seen = new Map<string, number>();
  const samples = requireIstioSamples();
  for (const file of yamlFiles(samples)) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const obj: unknown = doc.toJS();
      if (typeof obj !== 'object' || obj === null) continue;
      const { apiVersion, kind } = obj as { apiVersion?: unknown; kind?: unknown };
      if (typeof apiVersion !== 'string' || !apiVersion.startsWith(`${GROUP}/`) || typeof kind !== 'string' || !KINDS.has(kind)) continue;
      seen.set(kind, (seen.get(kind) ?? 0) + 1);
      const result = validateResource(obj);
      for (const issue of result.issues.filter((i) => i.severity === 'error')) {
        failures.push(`${relative(samples, file)} ${kind}: ${formatPath(issue.path)}: ${issue.message}`);
      }
      if (result.issues.every((i) => i.severity !== 'error')) assert.ok(result.resource, `${file}: ${kind} comes back typed`);
    }
  }
  assert.deepEqual(failures, []);
  // The samples exercise the main kinds; a broken walk over the directory must not pass silently.
  for (const kind of ['VirtualService', 'DestinationRule', 'Gateway', 'ServiceEntry']) assert.ok((seen.get(kind) ?? 0) > 0, `samples contain ${kind}`);
});

test('a sample with a rule shadowing the next one draws Istio\'s warning, not an error', { skip: skipWithoutIstioSamples }, () => {
  requireIstioSamples();
  const docs = parseAllDocuments(readFileSync(istioSample('bookinfo', 'networking', 'fault-injection-details-v1.yaml'), 'utf8'));
  const vs = docs.map((d) => d.toJS() as { kind?: string }).find((o) => o.kind === 'VirtualService');
  const result = validateResource(vs);
  assert.ok(result.resource);
  assert.deepEqual(result.issues.map((i) => `${i.severity} ${formatPath(i.path)}: ${i.message}`), [
    'warning spec.http[1]: virtualService rule #1 not used (only the last rule can have no matches)',
  ]);
});

type Json = Record<string, unknown>;

/** Drops descriptions (ours are shorter, written for Skiff) so only the structure is compared. */
function withoutDescriptions(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutDescriptions);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'description').map(([k, x]) => [k, withoutDescriptions(x)]));
}

test('every field, type, bound, enum, oneof and CEL rule of Istio\'s CRDs is in Skiff\'s schemas', { skip: skipWithoutIstioSamples }, () => {
  requireIstioSamples();
  const crds = parseAllDocuments(readFileSync(istioSample('istio-crds.gen.yaml'), 'utf8'))
    .map((d) => d.toJS() as Json | null)
    .filter((d): d is Json => d?.kind === 'CustomResourceDefinition');
  for (const def of networkingKinds) {
    const crd = crds.find((c) => (c.spec as { group: string; names: { kind: string } }).group === GROUP && (c.spec as { names: { kind: string } }).names.kind === def.kind);
    assert.ok(crd, `Istio has a CRD for ${def.kind}`);
    const spec = crd.spec as { names: { plural: string }; scope: string; versions: Array<{ name: string; storage: boolean; schema: { openAPIV3Schema: { properties: { spec: unknown } } } }> };
    assert.equal(spec.names.plural, def.plural);
    assert.equal(spec.scope, 'Namespaced');
    assert.deepEqual(spec.versions.map((v) => v.name).sort(), [...def.versions].sort());
    assert.equal(spec.versions.find((v) => v.storage)?.name, def.versions[0]);
    const ours = withoutDescriptions(toStructural(def.schema));
    for (const version of spec.versions) {
      assert.deepEqual(ours, withoutDescriptions(version.schema.openAPIV3Schema.properties.spec), `${def.kind} ${version.name}`);
    }
  }
});
