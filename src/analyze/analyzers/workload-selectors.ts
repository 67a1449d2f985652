/**
 * Policies that select workloads by label (DestinationRule `workloadSelector`, PeerAuthentication,
 * RequestAuthentication, AuthorizationPolicy and Telemetry `selector`) should select at least one
 * workload of the set (IST0127, as Istio's AuthorizationPoliciesAnalyzer reports it). A selector
 * looks in the policy's namespace, or everywhere for policies in the root namespace.
 */
import type { Analyzer } from '../context.js';
import { NETWORKING, SECURITY, TELEMETRY, namespaceOf } from '../context.js';
import { ROOT_NAMESPACE } from '../builtins.js';
import { MessageTypes, text } from '../messages.js';
import { selected, selectorString, workloads } from '../workloads.js';

/** Where each kind keeps its `matchLabels` selector. */
const POLICY_SELECTORS: ReadonlyArray<{ group: string; kind: string; field: string }> = [
  { group: NETWORKING, kind: 'DestinationRule', field: 'workloadSelector' },
  { group: SECURITY, kind: 'PeerAuthentication', field: 'selector' },
  { group: SECURITY, kind: 'RequestAuthentication', field: 'selector' },
  { group: SECURITY, kind: 'AuthorizationPolicy', field: 'selector' },
  { group: TELEMETRY, kind: 'Telemetry', field: 'selector' },
];

export const workloadSelectors: Analyzer = {
  name: 'policy.WorkloadSelectorAnalyzer',
  description: 'Checks that policies with a workload selector select at least one workload',
  analyze(ctx) {
    const all = workloads(ctx);
    for (const { group, kind, field } of POLICY_SELECTORS) {
      for (const lr of ctx.all(group, kind)) {
        const matchLabels = matchLabelsOf(lr.resource.spec, field);
        if (matchLabels === undefined || Object.keys(matchLabels).length === 0) continue;
        const ns = namespaceOf(lr.resource);
        if (selected(all, matchLabels, ns === ROOT_NAMESPACE ? undefined : [ns]).length > 0) continue;
        ctx.report(MessageTypes.NoMatchingWorkloadsFound, lr, text.noMatchingWorkloads(selectorString(matchLabels)), ['spec', field, 'matchLabels']);
      }
    }
  },
};

function matchLabelsOf(spec: unknown, field: string): Record<string, string> | undefined {
  if (typeof spec !== 'object' || spec === null) return undefined;
  const selector = (spec as Record<string, unknown>)[field];
  if (typeof selector !== 'object' || selector === null) return undefined;
  const labels = (selector as Record<string, unknown>).matchLabels;
  return typeof labels === 'object' && labels !== null ? (labels as Record<string, string>) : undefined;
}
