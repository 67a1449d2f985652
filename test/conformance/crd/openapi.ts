/**
 * The OpenAPI half of Kubernetes' custom-resource validation: a CRD version's `openAPIV3Schema`
 * translated for ajv with the API server's structural-schema semantics (unknown fields rejected
 * as by `kubectl --validate=strict`, `x-kubernetes-*` extensions, integer formats range-checked).
 * CEL rules and list-map keys are checked by `walk.ts`, not here.
 */
import AjvModule from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';

/** A finding in Kubernetes' terms: where (path from the resource root) and what. */
export interface CrdFinding {
  path: (string | number)[];
  message: string;
}

/** A JSON-schema node as it appears in a CRD (loosely typed: it comes from YAML). */
export type SchemaNode = Record<string, unknown>;

// ajv is CommonJS; under NodeNext its default import is the module object.
const Ajv = AjvModule.default;

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const UINT32 = { min: 0, max: 2 ** 32 - 1 };

/**
 * Formats as the API server checks them: integer formats bound the value (kube-openapi's
 * `IsValueValidAgainstRange`), `byte` must be base64, `date-time` RFC 3339.
 */
const formats = {
  int32: { type: 'number' as const, validate: (n: number) => Number.isInteger(n) && n >= INT32.min && n <= INT32.max },
  uint32: { type: 'number' as const, validate: (n: number) => Number.isInteger(n) && n >= UINT32.min && n <= UINT32.max },
  int64: { type: 'number' as const, validate: (n: number) => Number.isInteger(n) },
  uint64: { type: 'number' as const, validate: (n: number) => Number.isInteger(n) && n >= 0 },
  double: { type: 'number' as const, validate: () => true },
  float: { type: 'number' as const, validate: () => true },
  byte: { type: 'string' as const, validate: (s: string) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s) },
  'date-time': {
    type: 'string' as const,
    validate: (s: string) => /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s),
  },
};

// verbose: errors carry their parentSchema, used to name the fields of a failed oneOf.
const ajv = new Ajv({ allErrors: true, strict: false, verbose: true, formats });

function isNode(v: unknown): v is SchemaNode {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Rewrites a CRD schema node into plain JSON Schema for ajv. Objects that are not
 * `x-kubernetes-preserve-unknown-fields` get `additionalProperties: false` when they declare no
 * map values: the API server prunes such fields, and strict field validation turns pruning into
 * an error. `x-kubernetes-int-or-string` becomes integer|string.
 */
export function toAjvSchema(node: SchemaNode): SchemaNode {
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'description' || key.startsWith('x-kubernetes-')) continue;
    if (key === 'properties' && isNode(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toAjvSchema(v as SchemaNode)]));
    } else if ((key === 'items' || key === 'additionalProperties' || key === 'not') && isNode(value)) {
      out[key] = toAjvSchema(value);
    } else if ((key === 'oneOf' || key === 'anyOf' || key === 'allOf') && Array.isArray(value)) {
      out[key] = value.map((v) => toAjvSchema(v as SchemaNode));
    } else {
      out[key] = value;
    }
  }
  if (node['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (node.type === 'object' && !preserve && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

/** Compiles the schema of a whole resource of one CRD version; metadata is checked apart. */
export function compileResourceSchema(versionSchema: SchemaNode): ValidateFunction {
  const root = toAjvSchema(versionSchema);
  const props = isNode(root.properties) ? root.properties : {};
  root.properties = { ...props, apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } };
  root.additionalProperties = false;
  return ajv.compile(root);
}

/** JSON-pointer segments turned into a field path, numbers where the data holds an array. */
function pointerToPath(pointer: string, data: unknown): (string | number)[] {
  const path: (string | number)[] = [];
  let cur: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      const i = Number(seg);
      path.push(i);
      cur = cur[i];
    } else {
      path.push(seg);
      cur = isNode(cur) ? cur[seg] : undefined;
    }
  }
  return path;
}

/** The fields a protobuf oneof (rendered by Istio as oneOf of `required` branches) names. */
function oneofFields(parent: unknown): string[] {
  if (!isNode(parent) || !Array.isArray(parent.oneOf)) return [];
  const names = new Set<string>();
  for (const branch of parent.oneOf as unknown[]) {
    if (isNode(branch) && Array.isArray(branch.required)) for (const r of branch.required as string[]) names.add(r);
  }
  return [...names];
}

function describe(err: ErrorObject): string {
  switch (err.keyword) {
    case 'additionalProperties':
      return 'field not declared in schema (unknown field)';
    case 'required':
      return 'Required value';
    case 'oneOf': {
      const fields = oneofFields(err.parentSchema);
      return fields.length > 0 ? `at most one of ${fields.join(', ')} may be set` : (err.message ?? 'oneOf failed');
    }
    case 'enum':
      return `Unsupported value: must be one of ${JSON.stringify((err.params as { allowedValues: unknown[] }).allowedValues)}`;
    case 'format':
      return `value out of range or malformed for format ${String((err.params as { format: string }).format)}`;
    default:
      return err.message ?? err.keyword;
  }
}

/**
 * ajv's errors as findings. Errors raised inside the branches of oneOf/anyOf/not are dropped:
 * they explain a combinator's failure, which is reported once by the combinator itself.
 */
export function schemaFindings(validate: ValidateFunction, data: unknown): CrdFinding[] {
  if (validate(data)) return [];
  const findings: CrdFinding[] = [];
  for (const err of validate.errors ?? []) {
    if (/\/(oneOf|anyOf|not)\//.test(err.schemaPath)) continue;
    const path = pointerToPath(err.instancePath, data);
    if (err.keyword === 'additionalProperties') path.push((err.params as { additionalProperty: string }).additionalProperty);
    if (err.keyword === 'required') path.push((err.params as { missingProperty: string }).missingProperty);
    findings.push({ path, message: describe(err) });
  }
  return findings;
}
