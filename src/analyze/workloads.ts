/**
 * The workloads of the set (Pods, the pod templates of Deployments, WorkloadEntries, and the
 * ingress gateway Skiff always runs) and label selectors over them, as Kubernetes matches them.
 */
import type { DeploymentSpec } from '../api/kinds/kube/workloads.js';
import type { WorkloadEntrySpec } from '../api/kinds/networking/workload-entry.js';
import type { AnalysisContext} from './context.js';
import { APPS, CORE, NETWORKING, fullName, namespaceOf } from './context.js';
import { BUILTIN_WORKLOADS } from './builtins.js';

export interface Workload {
  /** `Deployment default/reviews-v1`, `Pod default/x`, ... for messages. */
  name: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

export function workloads(ctx: AnalysisContext): Workload[] {
  const out: Workload[] = BUILTIN_WORKLOADS.map((w) => ({ name: `${w.namespace}/${w.name}`, namespace: w.namespace, labels: w.labels }));
  for (const lr of ctx.all(CORE, 'Pod')) {
    out.push({ name: fullName(lr.resource), namespace: namespaceOf(lr.resource), labels: lr.resource.metadata.labels ?? {} });
  }
  for (const lr of ctx.all(APPS, 'Deployment')) {
    const spec = lr.resource.spec as DeploymentSpec;
    out.push({ name: fullName(lr.resource), namespace: namespaceOf(lr.resource), labels: spec.template.metadata?.labels ?? {} });
  }
  for (const lr of ctx.all(NETWORKING, 'WorkloadEntry')) {
    const spec = lr.resource.spec as WorkloadEntrySpec;
    out.push({ name: fullName(lr.resource), namespace: namespaceOf(lr.resource), labels: { ...lr.resource.metadata.labels, ...spec.labels } });
  }
  return out;
}

/** An equality-based selector (`matchLabels`) matches labels that contain all of its pairs. */
export function selectorMatches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** `app=reviews,version=v1` (keys sorted), as Kubernetes prints a selector. */
export function selectorString(selector: Readonly<Record<string, string>>): string {
  return Object.keys(selector)
    .sort()
    .map((k) => `${k}=${selector[k]}`)
    .join(',');
}

/** The workloads `selector` picks among those in `namespaces` (undefined: every namespace). */
export function selected(all: readonly Workload[], selector: Readonly<Record<string, string>>, namespaces?: readonly string[]): Workload[] {
  return all.filter((w) => (namespaces === undefined || namespaces.includes(w.namespace)) && selectorMatches(selector, w.labels));
}
