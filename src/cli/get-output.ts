/**
 * What `skiff get` prints, kind by kind: the items of one kind (stored resources, the runtime's
 * pods as Pod objects, the namespaces in use), filtered by name, namespace and label selector,
 * and rendered as kubectl renders them — tables (with `kind/name` names when several kinds are
 * asked for, `--show-labels`), `-o name`, or the objects as JSON, YAML or a JSONPath template.
 */
import { InvalidArgumentError } from 'commander';
import { stringify } from 'yaml';
import type { KindDef, Resource } from '../api/types.js';
import { kubectlRef } from '../config/store-keys.js';
import type { PodStatus } from '../runtime/types.js';
import { podTable, resourceTable, type TableContext } from './get-table.js';
import { compileJsonPath } from './jsonpath.js';
import type { LabelSelector } from './label-selector.js';
import { podObject } from './pod-object.js';

export type Output = { kind: 'table' | 'wide' | 'yaml' | 'json' | 'name' } | { kind: 'jsonpath'; template: string; print: (json: unknown) => string };

/** `-o` as kubectl takes it: wide, yaml, json, name, `jsonpath=TEMPLATE` (the template may be quoted). */
export function parseOutput(v: string): Output {
  if (v === 'wide' || v === 'yaml' || v === 'json' || v === 'name') return { kind: v };
  const m = /^jsonpath=(.*)$/s.exec(v);
  if (m !== null) {
    const template = /^(['"])(.*)\1$/s.exec(m[1])?.[2] ?? m[1];
    try {
      return { kind: 'jsonpath', template, print: compileJsonPath(template) };
    } catch (err) {
      throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
    }
  }
  throw new InvalidArgumentError(`unknown output format "${v}" (use yaml, json, wide, name or jsonpath=TEMPLATE)`);
}

/** The items of one kind, as found. */
export type Section = { def: KindDef; pods: PodStatus[] } | { def: KindDef; resources: Resource[] };

export interface Scope {
  /** Undefined: every namespace. */
  namespace: string | undefined;
  names: readonly string[];
  selector: LabelSelector;
}

export function inScope<T>(items: readonly T[], scope: Scope, at: (t: T) => { name: string; namespace?: string; labels?: Record<string, string> }, namespaced: boolean): T[] {
  return items.filter((i) => {
    const m = at(i);
    return (!namespaced || scope.namespace === undefined || (m.namespace ?? 'default') === scope.namespace) && (scope.names.length === 0 || scope.names.includes(m.name)) && scope.selector(m.labels);
  });
}

/**
 * The namespaces in use, as Namespace objects: those applied, every namespace a resource or pod
 * is in, and `default`, which a cluster always has.
 */
export function namespacesInUse(resources: readonly Resource[], pods: readonly PodStatus[]): Resource[] {
  const applied = new Map(resources.filter((r) => r.kind === 'Namespace').map((r) => [r.metadata.name, r]));
  const since = new Map<string, string | undefined>([['default', undefined]]);
  const seen = (ns: string, at: string | undefined): void => {
    const before = since.get(ns);
    since.set(ns, before === undefined || (at !== undefined && at < before) ? at : before);
  };
  for (const r of resources) if (r.metadata.namespace !== undefined && r.metadata.namespace !== '') seen(r.metadata.namespace, r.metadata.creationTimestamp);
  for (const p of pods) seen(p.namespace, p.startedAt);
  for (const name of applied.keys()) since.set(name, since.get(name));
  return [...since.keys()].sort().map(
    (name) =>
      applied.get(name) ?? {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, ...(since.get(name) !== undefined ? { creationTimestamp: since.get(name) } : {}) },
        spec: {},
        status: { phase: 'Active' },
      },
  );
}

/** ConfigMap, Secret, ServiceAccount keep their fields at the top level; the store's `spec` copy is internal. */
function shown(def: KindDef, r: Resource): Resource {
  if (!def.topLevel) return r;
  const { spec: _spec, ...rest } = r;
  return rest as Resource;
}

/** The objects of a section, as kubectl prints them with -o json|yaml|jsonpath. */
export function sectionObjects(s: Section): unknown[] {
  return 'pods' in s ? s.pods.map(podObject) : s.resources.map((r) => shown(s.def, r));
}

function sectionNames(s: Section): string[] {
  const ref = (name: string): string => kubectlRef({ group: s.def.group, kind: s.def.kind, name });
  return 'pods' in s ? s.pods.map((p) => ref(p.name)) : s.resources.map((r) => ref(r.metadata.name));
}

export interface TableOptions {
  wide: boolean;
  allNamespaces: boolean;
  showLabels: boolean;
  /** Several kinds asked for: names as `kind/name`, as kubectl prints them then. */
  qualify: boolean;
  ctx: TableContext;
}

/** One kind's table; empty when it has no item. */
export function sectionTable(s: Section, opts: TableOptions): string {
  const qualify = (name: string): string => (opts.qualify ? kubectlRef({ group: s.def.group, kind: s.def.kind, name }) : name);
  if ('pods' in s) {
    if (s.pods.length === 0) return '';
    return podTable(
      s.pods.map((p) => ({ ...p, name: qualify(p.name) })),
      { wide: opts.wide, allNamespaces: opts.allNamespaces, now: opts.ctx.now, showLabels: opts.showLabels },
    );
  }
  if (s.resources.length === 0) return '';
  return resourceTable(s.def.kind, s.resources, { wide: opts.wide, allNamespaces: opts.allNamespaces && s.def.namespaced, showLabels: opts.showLabels, ctx: opts.ctx, displayName: qualify });
}

/** Everything `get` prints for `sections` in `output` (tables separated by a blank line). */
export function render(sections: readonly Section[], output: Output, opts: Omit<TableOptions, 'wide'> & { single: boolean }): string {
  switch (output.kind) {
    case 'name':
      return sections.flatMap(sectionNames).map((n) => `${n}\n`).join('');
    case 'json':
    case 'yaml':
    case 'jsonpath': {
      const objects = sections.flatMap(sectionObjects);
      const body = opts.single && objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects, metadata: { resourceVersion: '' } };
      if (output.kind === 'jsonpath') return output.print(body);
      return output.kind === 'json' ? `${JSON.stringify(body, null, 4)}\n` : stringify(body);
    }
    default:
      return sections
        .map((s) => sectionTable(s, { ...opts, wide: output.kind === 'wide' }))
        .filter((t) => t !== '')
        .join('\n');
  }
}
