/**
 * VirtualService `tcp` rules → weighted clusters for one proxy and port: the first rule whose
 * match holds (port, gateways, source labels and namespace, decided ahead of time) gives the
 * destinations, one drawn per connection.
 */
import type { RouteDestination } from '../../api/kinds/networking/virtual-service.js';
import type { TcpRoute } from '../../snapshot/index.js';
import { resolveDestination, type DestinationScope } from './destinations.js';
import { hostCovers } from './hosts.js';
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

/**
 * VirtualService `tls` rules → SNI-matched routes, in rule order: each match block whose static
 * conditions hold becomes one route on its `sniHosts`, so the proxy picks the first rule whose
 * SNI names the connection's.
 */
export function tlsRoutesOf(vs: VirtualServiceEntry, scope: MatchScope & DestinationScope): TcpRoute[] {
  const out: TcpRoute[] = [];
  for (const rule of vs.spec.tls ?? []) {
    const route = rule.route ?? [];
    if (route.length === 0) continue;
    const destinations = weighted(route, vs.namespace, scope);
    for (const m of rule.match) {
      if (!staticConditionsHold(m, vs.namespace, scope)) continue;
      out.push({ match: { sniHosts: m.sniHosts.map((h) => h.toLowerCase()) }, destinations });
    }
  }
  return out;
}

/**
 * The destinations of the first `tls` rule whose SNI names cover `sni`. Sidecars in the local runtime
 * see TLS arrive as `CONNECT host:port`, before the ClientHello, so the CONNECT host stands for the SNI
 * name the client will send.
 */
export function tlsDestinationsFor(vs: VirtualServiceEntry, scope: MatchScope & DestinationScope, sni: string): WeightedTcpCluster[] | undefined {
  const name = sni.toLowerCase();
  return tlsRoutesOf(vs, scope).find((r) => (r.match?.sniHosts ?? []).some((h) => hostCovers(h, name)))?.destinations;
}

function weighted(route: readonly RouteDestination[], ns: string, scope: DestinationScope): WeightedTcpCluster[] {
  const single = route.length === 1;
  return route.map((rd) => ({ cluster: resolveDestination(rd.destination, ns, scope).cluster, weight: rd.weight ?? (single ? 100 : 0) }));
}
