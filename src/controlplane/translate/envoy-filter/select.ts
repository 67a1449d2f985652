/**
 * Which EnvoyFilters apply to a proxy, in the order Istio applies them: those of the root
 * namespace (mesh-wide, or every workload their selector matches, in any namespace), then those of
 * the proxy's own namespace, each set oldest first, the whole list then ordered by `priority`
 * (lower first; equal priorities keep that order). A filter with `targetRefs` is left out (Skiff
 * does not attach EnvoyFilters to Gateway API objects; `skiff analyze` says so).
 */
import { labelsMatch } from '../../../registry/select.js';
import type { ConfigIndex, EnvoyFilterEntry } from '../push-context.js';

export function envoyFiltersFor(index: ConfigIndex, namespace: string, labels: Readonly<Record<string, string>>): EnvoyFilterEntry[] {
  if (index.envoyFilters.length === 0) return [];
  const root = index.mesh.rootNamespace;
  const applies = (e: EnvoyFilterEntry, ns: string): boolean =>
    e.namespace === ns && e.spec.targetRefs === undefined && labelsMatch(e.spec.workloadSelector?.labels ?? {}, labels);
  const out = index.envoyFilters.filter((e) => applies(e, root));
  if (namespace !== root) out.push(...index.envoyFilters.filter((e) => applies(e, namespace)));
  return out
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.spec.priority ?? 0) - (b.e.spec.priority ?? 0) || a.i - b.i)
    .map((x) => x.e);
}
