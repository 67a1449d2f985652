/**
 * A VirtualService route to a subset needs a DestinationRule for that host defining the subset
 * (IST0101 "host+subset in destinationrule"), as Istio's DestinationRuleAnalyzer checks.
 */
import type { DestinationRuleSpec } from '../../api/kinds/networking/destination-rule.js';
import type { Analyzer } from '../context.js';
import { NETWORKING, namespaceOf } from '../context.js';
import { hostsOverlap, isVisible, toFqdn } from '../hosts.js';
import { MessageTypes, text } from '../messages.js';
import { destinationsOf, vsSpec } from './vs-util.js';

interface KnownSubsets {
  host: string;
  namespace: string;
  exportTo?: readonly string[];
  subsets: readonly string[];
}

export const vsSubsets: Analyzer = {
  name: 'virtualservice.DestinationRuleAnalyzer',
  description: 'Checks the destination rules associated with each virtual service',
  analyze(ctx) {
    const known: KnownSubsets[] = ctx.all(NETWORKING, 'DestinationRule').map((lr) => {
      const spec = lr.resource.spec as DestinationRuleSpec;
      const ns = namespaceOf(lr.resource);
      return {
        host: toFqdn(spec.host, ns),
        namespace: ns,
        ...(spec.exportTo ? { exportTo: spec.exportTo } : {}),
        subsets: (spec.subsets ?? []).map((s) => s.name),
      };
    });
    for (const lr of ctx.all(NETWORKING, 'VirtualService')) {
      const ns = namespaceOf(lr.resource);
      for (const d of destinationsOf(vsSpec(lr))) {
        const subset = d.destination.subset;
        if (subset === undefined || subset === '') continue;
        const host = toFqdn(d.destination.host, ns);
        const defined = known.some(
          (k) => isVisible(k.exportTo, k.namespace, ns) && hostsOverlap(k.host, host) && k.subsets.includes(subset),
        );
        if (!defined) {
          const reftype = d.mirror ? 'mirror+subset in destinationrule' : 'host+subset in destinationrule';
          ctx.report(MessageTypes.ReferencedResourceNotFound, lr, text.referencedResourceNotFound(reftype, `${d.destination.host}+${subset}`), [...d.path, 'subset']);
        }
      }
    }
  },
};
