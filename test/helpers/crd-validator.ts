/**
 * Validates resources against the CustomResourceDefinitions in a CRD bundle (Istio's
 * `istio-crds.gen.yaml`) as a Kubernetes API server with `kubectl --validate=strict` would:
 * OpenAPI schema, metadata, list-map keys and CEL rules. The verdict says whether the CRD
 * accepts, rejects, or cannot decide (a CEL rule this evaluator cannot run).
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { ValidateFunction } from 'ajv';
import { metadataFindings } from '../conformance/crd/metadata.js';
import { compileResourceSchema, schemaFindings } from '../conformance/crd/openapi.js';
import type { CrdFinding, SchemaNode } from '../conformance/crd/openapi.js';
import { pruneNulls, walk } from '../conformance/crd/walk.js';

export type { CrdFinding } from '../conformance/crd/openapi.js';

export interface CrdVerdict {
  /** `unknown-kind`: no served CRD version for the document's apiVersion and kind. */
  decision: 'accept' | 'reject' | 'undecided' | 'unknown-kind';
  errors: CrdFinding[];
  /** Rules that could not be evaluated; they make an otherwise clean verdict `undecided`. */
  undecided: CrdFinding[];
}

interface CrdVersion {
  schema: SchemaNode;
  validate?: ValidateFunction;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class CrdValidator {
  /** Keyed by `group/version/Kind`. */
  private readonly versions = new Map<string, CrdVersion>();

  constructor(bundleYaml: string) {
    for (const doc of parseAllDocuments(bundleYaml)) {
      const crd: unknown = doc.toJS();
      if (!isObject(crd) || crd.kind !== 'CustomResourceDefinition' || !isObject(crd.spec)) continue;
      const { group, names, versions } = crd.spec as { group: string; names: { kind: string }; versions: unknown[] };
      for (const v of versions) {
        if (!isObject(v) || v.served !== true || !isObject(v.schema) || !isObject(v.schema.openAPIV3Schema)) continue;
        this.versions.set(`${group}/${String(v.name)}/${names.kind}`, { schema: v.schema.openAPIV3Schema });
      }
    }
  }

  static fromFile(path: string): CrdValidator {
    return new CrdValidator(readFileSync(path, 'utf8'));
  }

  /** `group/version/Kind` of every served CRD version. */
  servedVersions(): string[] {
    return [...this.versions.keys()];
  }

  has(apiVersion: string, kind: string): boolean {
    return this.versions.has(`${apiVersion}/${kind}`);
  }

  validate(doc: unknown): CrdVerdict {
    if (!isObject(doc) || typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') {
      return { decision: 'unknown-kind', errors: [], undecided: [] };
    }
    const version = this.versions.get(`${doc.apiVersion}/${doc.kind}`);
    if (!version) return { decision: 'unknown-kind', errors: [], undecided: [] };
    version.validate ??= compileResourceSchema(version.schema);

    // The API server prunes nulls before validating; work on a copy so callers keep their object.
    const obj = structuredClone(doc);
    pruneNulls(obj, version.schema);
    const result = { errors: [...metadataFindings(obj.metadata), ...schemaFindings(version.validate, obj)], undecided: [] as CrdFinding[] };
    const props = isObject(version.schema.properties) ? version.schema.properties : {};
    for (const field of ['spec', 'status']) {
      if (isObject(props[field]) && obj[field] !== undefined) walk(obj[field], props[field], [field], result);
    }
    const decision = result.errors.length > 0 ? 'reject' : result.undecided.length > 0 ? 'undecided' : 'accept';
    return { decision, ...result };
  }
}
