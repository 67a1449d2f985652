/**
 * Generates apiextensions.k8s.io/v1 CustomResourceDefinitions for the Istio kinds from their
 * schemas, turning TypeBox/JSON Schema into Kubernetes *structural* schemas (what the API server
 * accepts): every node typed, no `additionalProperties: false`, maps as `additionalProperties`,
 * oneofs in Istio's `oneOf: [{not: {anyOf: ...}}, {required: ...}]` form.
 */
import { kinds, storageVersionOf } from './registry.js';
import { FORMAT_DURATION, FORMAT_QUANTITY, FORMAT_RE2, ONEOF_KEY } from './schema-kit.js';
import type { KindDef } from './types.js';

type Json = Record<string, unknown>;

/** Istio's short names, as its own CRDs declare them. */
const SHORT_NAMES: Readonly<Record<string, readonly string[]>> = {
  VirtualService: ['vs'],
  DestinationRule: ['dr'],
  Gateway: ['gw'],
  ServiceEntry: ['se'],
  WorkloadEntry: ['we'],
  PeerAuthentication: ['pa'],
  AuthorizationPolicy: ['ap'],
  RequestAuthentication: ['ra'],
  Telemetry: ['telemetry'],
};

/** Formats only Skiff's validator knows; Kubernetes would ignore them, Istio's CRDs do not carry them. */
const DROPPED_FORMATS = new Set([FORMAT_DURATION, FORMAT_RE2, FORMAT_QUANTITY]);

/** Keys that never reach a CRD: JSON-Schema bookkeeping, defaults (Istio applies none at admission). */
const DROPPED_KEYS = new Set(['$schema', '$id', 'default', 'additionalProperties', 'patternProperties', ONEOF_KEY, 'examples', 'title']);

function isJson(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Istio's oneof encoding: none of the fields set, or exactly one of them. */
function oneOfClause(group: readonly string[]): Json {
  const each = group.map((f) => ({ required: [f] }));
  return { oneOf: [{ not: { anyOf: each } }, ...each] };
}

/** Converts one schema node (recursively) to its structural form. */
export function toStructural(schema: unknown): Json {
  if (!isJson(schema)) return {};
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED_KEYS.has(key)) continue;
    if (key === 'format' && typeof value === 'string' && DROPPED_FORMATS.has(value)) continue;
    if (key === 'properties' && isJson(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toStructural(v)]));
    } else if (key === 'items') {
      out.items = toStructural(value);
    } else if (key === 'anyOf' && schema['x-kubernetes-int-or-string'] === true) {
      out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    } else if (key === 'required' && Array.isArray(value) && value.length === 0) {
      continue;
    } else {
      out[key] = structuredClone(value);
    }
  }
  // Maps: TypeBox Record uses patternProperties, the kit uses additionalProperties; both become
  // `additionalProperties: <schema>`. `additionalProperties: false` is dropped (not structural).
  const patterns = schema.patternProperties;
  const additional = isJson(patterns) ? Object.values(patterns)[0] : schema.additionalProperties;
  if (isJson(additional) && out.properties === undefined) out.additionalProperties = toStructural(additional);
  if (out.type === undefined && out['x-kubernetes-int-or-string'] !== true) {
    if (out.properties !== undefined || out.additionalProperties !== undefined) out.type = 'object';
    else if (out.items !== undefined) out.type = 'array';
  }
  const groups = schema[ONEOF_KEY];
  if (Array.isArray(groups) && groups.length > 0) {
    const clauses = (groups as string[][]).map(oneOfClause);
    if (clauses.length === 1) Object.assign(out, clauses[0]);
    else out.allOf = clauses;
  }
  return out;
}

/** The CRD for one Istio kind. */
export function crdFor(def: KindDef): Json {
  const storage = storageVersionOf(def);
  const singular = def.kind.toLowerCase();
  const groupCategory = def.group.replace(/\./g, '-');
  const shortNames = SHORT_NAMES[def.kind];
  const spec = toStructural(def.schema);
  const openAPIV3Schema = {
    type: 'object',
    properties: {
      spec,
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${def.plural}.${def.group}`,
      labels: { app: 'skiff', 'app.kubernetes.io/part-of': 'skiff' },
    },
    spec: {
      group: def.group,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular,
        ...(shortNames ? { shortNames: [...shortNames] } : {}),
        categories: ['istio-io', groupCategory],
      },
      scope: def.namespaced ? 'Namespaced' : 'Cluster',
      versions: def.versions.map((name) => ({
        name,
        served: true,
        storage: name === storage,
        schema: { openAPIV3Schema: structuredClone(openAPIV3Schema) },
        subresources: { status: {} },
      })),
    },
  };
}

/** CRDs for every Istio kind Skiff serves (Kubernetes built-in kinds have none). */
export function generateCrds(): object[] {
  return kinds.filter((k) => k.group.endsWith('.istio.io')).map(crdFor);
}
