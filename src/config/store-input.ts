/**
 * What the config store accepts from files: for apply, every resource of the input validated and
 * the input refused whole when any of it is wrong (read error, YAML syntax, invalid resource);
 * for delete, the identities the documents name (their content need not be valid). Kinds Skiff
 * does not support are skipped with a warning in both.
 */
import { parseYamlDocuments } from './yaml-parse.js';
import { lookupKind, isUnsupportedKind, splitApiVersion } from '../api/index.js';
import type { Resource } from '../api/types.js';
import type { Finding, LoadResult } from './finding.js';
import { DEFAULT_NAMESPACE, limitFindings, loadTexts } from './load.js';
import { checkInputLimits } from './input-limits.js';
import type { InputText } from './sources.js';
import type { ResourceId } from './store-keys.js';

export type { InputText } from './sources.js';

/** The input either yields resources to apply (and perhaps warnings), or is refused with its findings. */
export type ApplyInput =
  | { ok: true; resources: Resource[]; warnings: Finding[] }
  | { ok: false; findings: Finding[] };

/** Validates loaded files for apply: any error refuses the whole input. */
export function checkForApply(result: LoadResult): ApplyInput {
  const errors = result.findings.some((f) => f.severity === 'error');
  if (errors) return { ok: false, findings: result.findings };
  return { ok: true, resources: result.resources.map((r) => r.resource), warnings: result.findings };
}

/** Loads texts (already read) and validates them for apply. */
export function loadForApply(inputs: readonly InputText[], defaultNamespace = DEFAULT_NAMESPACE): ApplyInput {
  return checkForApply(loadTexts(inputs, { defaultNamespace }));
}

export interface DeleteInput {
  targets: ResourceId[];
  /** Syntax errors refuse the input; warnings (unsupported kinds, documents naming nothing) do not. */
  findings: Finding[];
}

/**
 * The resources the documents of `inputs` name, as `kubectl delete -f` reads them: apiVersion,
 * kind, metadata.name and metadata.namespace (defaulted for namespaced kinds); `kind: List` expanded.
 */
export function deleteTargets(inputs: readonly InputText[], defaultNamespace = DEFAULT_NAMESPACE): DeleteInput {
  const out: DeleteInput = { targets: [], findings: [] };
  for (const input of inputs) {
    const breaches = checkInputLimits(input.text);
    if (breaches.length > 0) {
      out.findings.push(...limitFindings(input.name, input.text, breaches));
      continue;
    }
    for (const doc of parseYamlDocuments(input.text, { prettyErrors: false }).documents) {
      if (doc.errors.length > 0) {
        for (const e of doc.errors) out.findings.push({ severity: 'error', path: [], message: e.message, file: input.name, origin: 'syntax' });
        continue;
      }
      const value: unknown = doc.toJS();
      const objects = isRecord(value) && value.kind === 'List' && Array.isArray(value.items) ? (value.items as unknown[]) : [value];
      for (const obj of objects) addTarget(out, obj, input.name, defaultNamespace);
    }
  }
  return out;
}

function addTarget(out: DeleteInput, obj: unknown, file: string, defaultNamespace: string): void {
  if (obj === null || obj === undefined) return;
  const meta = isRecord(obj) && isRecord(obj.metadata) ? obj.metadata : {};
  const apiVersion = isRecord(obj) && typeof obj.apiVersion === 'string' ? obj.apiVersion : undefined;
  const kind = isRecord(obj) && typeof obj.kind === 'string' ? obj.kind : undefined;
  const name = typeof meta.name === 'string' ? meta.name : undefined;
  if (apiVersion === undefined || kind === undefined || name === undefined || name === '') {
    out.findings.push({ severity: 'error', path: [], message: 'a resource to delete needs apiVersion, kind and metadata.name', file, origin: 'validation' });
    return;
  }
  const def = lookupKind(apiVersion, kind);
  if (def === undefined) {
    const message = isUnsupportedKind(apiVersion, kind)
      ? `${kind} (${apiVersion}) is not supported by Skiff; it is ignored`
      : `unknown kind ${kind} in ${apiVersion}`;
    out.findings.push({ severity: isUnsupportedKind(apiVersion, kind) ? 'warning' : 'error', path: [], message, file, origin: 'validation', unsupported: true });
    return;
  }
  const given = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
  out.targets.push({
    group: splitApiVersion(apiVersion).group,
    kind,
    namespace: def.namespaced ? (given ?? defaultNamespace) : '',
    name,
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
