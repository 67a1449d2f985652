/**
 * Sidecar resources per namespace, as Istio's sidecar SelectorAnalyzer and DefaultSelectorAnalyzer
 * check them: a workload selector must match a workload in the namespace (IST0101 "selector"),
 * no workload may be selected by two Sidecars (IST0110), and at most one Sidecar per namespace
 * may have no selector (IST0111).
 */
import type { SidecarSpec } from '../../api/kinds/networking/sidecar.js';
import type { LoadedResource } from '../../config/finding.js';
import type { Analyzer } from '../context.js';
import { NETWORKING, namespaceOf } from '../context.js';
import { MessageTypes, text } from '../messages.js';
import { selected, selectorString, workloads } from '../workloads.js';

export const sidecarSelectors: Analyzer = {
  name: 'sidecar.SelectorAnalyzer',
  description: 'Validates that sidecars with a workload selector match a workload, and that no workload is selected twice',
  analyze(ctx) {
    const all = workloads(ctx);
    const byWorkload = new Map<string, LoadedResource[]>();
    const selectorless = new Map<string, LoadedResource[]>();
    for (const lr of ctx.all(NETWORKING, 'Sidecar')) {
      const ns = namespaceOf(lr.resource);
      const labels = (lr.resource.spec as SidecarSpec).workloadSelector?.labels ?? {};
      if (Object.keys(labels).length === 0) {
        selectorless.set(ns, [...(selectorless.get(ns) ?? []), lr]);
        continue;
      }
      const matched = selected(all, labels, [ns]);
      if (matched.length === 0) {
        ctx.report(MessageTypes.ReferencedResourceNotFound, lr, text.referencedResourceNotFound('selector', selectorString(labels)), ['spec', 'workloadSelector', 'labels']);
      }
      for (const w of matched) byWorkload.set(w.name, [...(byWorkload.get(w.name) ?? []), lr]);
    }
    for (const [workload, sidecars] of byWorkload) {
      if (sidecars.length < 2) continue;
      const names = sidecars.map((s) => s.resource.metadata.name);
      const slash = workload.indexOf('/');
      for (const lr of sidecars) {
        ctx.report(MessageTypes.ConflictingSidecarWorkloadSelectors, lr, text.conflictingSidecarSelectors(names, workload.slice(0, slash), workload.slice(slash + 1)));
      }
    }
    for (const [ns, sidecars] of selectorless) {
      if (sidecars.length < 2) continue;
      const names = sidecars.map((s) => s.resource.metadata.name);
      for (const lr of sidecars) ctx.report(MessageTypes.MultipleSidecarsWithoutWorkloadSelectors, lr, text.multipleSidecarsWithoutSelectors(names, ns));
    }
  },
};
