/**
 * Istio's webhook validation of a DestinationRule: host, traffic policies (top level, per subset,
 * per port), unique well-formed subsets, exportTo, workload selector and durations.
 */
import type { Issue, Resource } from '../../../types.js';
import { DestinationRuleSpec } from '../destination-rule.js';
import { checkDurations } from './durations.js';
import { at, Findings } from './findings.js';
import { exportToProblems, wildcardDomainProblem } from './names.js';
import { checkLabels, checkTypeWorkloadSelector, subsetNameProblem } from './shared.js';
import { checkTrafficPolicy } from './traffic-policy.js';

export function destinationRuleRules(r: Resource): Issue[] {
  const spec = r.spec as DestinationRuleSpec;
  const f = new Findings();
  f.check(['spec', 'host'], wildcardDomainProblem(spec.host));
  checkTrafficPolicy(spec.trafficPolicy, ['spec', 'trafficPolicy'], f);
  const names = new Set<string>();
  spec.subsets?.forEach((s, i) => {
    const p = ['spec', 'subsets', i] as const;
    if (names.has(s.name)) f.error(at(p, 'name'), `duplicate subset names: ${s.name}`);
    names.add(s.name);
    f.check(at(p, 'name'), subsetNameProblem(s.name));
    checkLabels(s.labels, at(p, 'labels'), f);
    checkTrafficPolicy(s.trafficPolicy, at(p, 'trafficPolicy'), f);
  });
  const ns = r.metadata.namespace ?? 'default';
  f.check(['spec', 'exportTo'], ...exportToProblems(ns, spec.exportTo ?? [], false, spec.workloadSelector !== undefined));
  checkTypeWorkloadSelector(spec.workloadSelector, ['spec', 'workloadSelector'], f);
  checkDurations(DestinationRuleSpec, spec, ['spec'], f);
  return f.issues;
}
