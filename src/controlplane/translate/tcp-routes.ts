/**
 * VirtualService `tcp` rules → weighted clusters for one proxy and port: the first rule whose
 * match holds (port, gateways, source labels and namespace, decided ahead of time) gives the
 * destinations, one drawn per connection.
 */
import type { RouteDestination } from '../../api/kinds/networking/virtual-service.js';
import { resolveDestination, type DestinationScope } from './destinations.js';
import { staticConditionsHold, type MatchScope } from './match.js';
import type { VirtualServiceEntry } from './push-context.js';

export interface WeightedTcpCluster {
  cluster: string;
  weight: number;
}

/** Destinations of the first `tcp` rule that applies, or undefined when none does. */
export function tcpDestinationsOf(vs: VirtualServiceEntry, scope: MatchScope & DestinationScope): WeightedTcpCluster[] | undefined {
  for (const rule of vs.spec.tcp ?? []) {
    const matches = rule.match ?? [];
    // Subnet conditions need the connection's addresses; the local runtime has no service IPs, so they are not checked.
    if (matches.length > 0 && !matches.some((m) => staticConditionsHold(m, vs.namespace, scope))) continue;
    const route = rule.route ?? [];
    if (route.length === 0) continue;
    return weighted(route, vs.namespace, scope);
  }
  return undefined;
}

function weighted(route: readonly RouteDestination[], ns: string, scope: DestinationScope): WeightedTcpCluster[] {
  const single = route.length === 1;
  return route.map((rd) => ({ cluster: resolveDestination(rd.destination, ns, scope).cluster, weight: rd.weight ?? (single ? 100 : 0) }));
}
