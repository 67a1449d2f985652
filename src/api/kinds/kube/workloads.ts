/**
 * Kubernetes workloads the local runtime runs: v1 Pod and apps/v1 Deployment (replicas default 1,
 * a selector that must match the template's labels).
 */
import type { Static } from 'typebox';
import { Bool, Enum, Int32, IntOrString, List, Opt, Str, StringList, StringMap, Strict } from '../../schema-kit.js';
import type { Issue, KindDef, Resource } from '../../types.js';
import { PodSpec, PodTemplateSpec, podSpecRules } from './pod.js';

export const pod: KindDef = {
  group: '',
  kind: 'Pod',
  plural: 'pods',
  versions: ['v1'],
  namespaced: true,
  schema: PodSpec,
  rules: (r: Resource) => podSpecRules(r.spec as PodSpec, ['spec']),
};

export const LabelSelector = Strict({
  matchLabels: Opt(StringMap()),
  matchExpressions: Opt(List(Strict({
    key: Str(),
    operator: Enum(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const),
    values: Opt(StringList()),
  }))),
});
export type LabelSelector = Static<typeof LabelSelector>;

export const DeploymentSpec = Strict({
  replicas: Opt(Int32({ minimum: 0, default: 1 })),
  selector: LabelSelector,
  template: PodTemplateSpec,
  strategy: Opt(Strict({
    type: Opt(Enum(['RollingUpdate', 'Recreate'] as const, { default: 'RollingUpdate' })),
    rollingUpdate: Opt(Strict({ maxUnavailable: Opt(IntOrString()), maxSurge: Opt(IntOrString()) })),
  })),
  minReadySeconds: Opt(Int32({ minimum: 0 })),
  revisionHistoryLimit: Opt(Int32({ minimum: 0 })),
  progressDeadlineSeconds: Opt(Int32({ minimum: 1 })),
  paused: Opt(Bool()),
});
export type DeploymentSpec = Static<typeof DeploymentSpec>;

/** True when `labels` satisfy `selector` (matchLabels and matchExpressions). */
export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const inValues = value !== undefined && (e.values ?? []).includes(value);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function deploymentRules(r: Resource): Issue[] {
  const spec = r.spec as DeploymentSpec;
  const out = podSpecRules(spec.template.spec, ['spec', 'template', 'spec']);
  const sel = spec.selector;
  if (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0) {
    out.push({ severity: 'error', path: ['spec', 'selector'], message: 'selector must not be empty' });
  } else if (!selectorMatches(sel, spec.template.metadata?.labels ?? {})) {
    out.push({ severity: 'error', path: ['spec', 'template', 'metadata', 'labels'], message: '`selector` does not match template `labels`' });
  }
  if (spec.template.spec.restartPolicy !== undefined && spec.template.spec.restartPolicy !== 'Always') {
    out.push({ severity: 'error', path: ['spec', 'template', 'spec', 'restartPolicy'], message: 'a Deployment only allows restartPolicy Always' });
  }
  return out;
}

export const deployment: KindDef = {
  group: 'apps',
  kind: 'Deployment',
  plural: 'deployments',
  versions: ['v1'],
  namespaced: true,
  schema: DeploymentSpec,
  rules: deploymentRules,
};
