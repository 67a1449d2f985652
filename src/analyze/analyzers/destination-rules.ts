/**
 * DestinationRules should name a host the set provides (IST0174), and DestinationRules for one
 * host in one namespace are merged in order, so a subset or top-level traffic policy defined by
 * more than one of them only takes effect from the first (SKF0003).
 */
import type { DestinationRuleSpec } from '../../api/kinds/networking/destination-rule.js';
import type { LoadedResource } from '../../config/finding.js';
import type { AnalysisContext, Analyzer } from '../context.js';
import { NETWORKING, fullName, namespaceOf } from '../context.js';
import { findHost, providedHosts, toFqdn } from '../hosts.js';
import { MessageTypes, q, text } from '../messages.js';
import { selectorString } from '../workloads.js';

export const destinationRules: Analyzer = {
  name: 'destinationrule.HostAnalyzer',
  description: 'Checks that each destination rule names a known host and does not conflict with another for the same host',
  analyze(ctx) {
    const hosts = providedHosts(ctx);
    const groups = new Map<string, { host: string; rules: LoadedResource[] }>();
    for (const lr of ctx.all(NETWORKING, 'DestinationRule')) {
      const spec = lr.resource.spec as DestinationRuleSpec;
      const ns = namespaceOf(lr.resource);
      if (!spec.host.includes('*') && !findHost(hosts, spec.host, ns)) {
        ctx.report(MessageTypes.UnknownDestinationRuleHost, lr, text.unknownDestinationRuleHost(spec.host), ['spec', 'host']);
      }
      // Rules with a workload selector apply to those workloads only, so they only merge with each other.
      const host = toFqdn(spec.host, ns);
      const key = `${ns}|${host}|${selectorString(spec.workloadSelector?.matchLabels ?? {})}`;
      const group = groups.get(key) ?? { host, rules: [] };
      group.rules.push(lr);
      groups.set(key, group);
    }
    for (const { host, rules } of groups.values()) if (rules.length > 1) reportConflicts(ctx, host, rules);
  },
};

function reportConflicts(ctx: AnalysisContext, host: string, rules: readonly LoadedResource[]): void {
  const specOf = (lr: LoadedResource): DestinationRuleSpec => lr.resource.spec as DestinationRuleSpec;
  const withPolicy = rules.filter((lr) => specOf(lr).trafficPolicy !== undefined);
  if (withPolicy.length > 1) {
    const names = withPolicy.map((lr) => fullName(lr.resource));
    for (const lr of withPolicy) {
      ctx.report(MessageTypes.ConflictingDestinationRulesHost, lr, text.conflictingDestinationRules(names, host, 'a top-level trafficPolicy'), ['spec', 'trafficPolicy']);
    }
  }
  const bySubset = new Map<string, Array<{ lr: LoadedResource; index: number }>>();
  for (const lr of rules) {
    (specOf(lr).subsets ?? []).forEach((s, index) => bySubset.set(s.name, [...(bySubset.get(s.name) ?? []), { lr, index }]));
  }
  for (const [subset, defs] of bySubset) {
    const owners = [...new Set(defs.map((d) => d.lr))];
    if (owners.length < 2) continue;
    const names = owners.map((lr) => fullName(lr.resource));
    for (const { lr, index } of defs) {
      ctx.report(MessageTypes.ConflictingDestinationRulesHost, lr, text.conflictingDestinationRules(names, host, `subset ${q(subset)}`), ['spec', 'subsets', index, 'name']);
    }
  }
}
