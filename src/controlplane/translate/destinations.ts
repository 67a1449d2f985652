/**
 * Route destinations to cluster names as Istio resolves them: the host made fully qualified
 * relative to the VirtualService's namespace; the port given, else the service's only port, else
 * the port the route serves; the subset as named (a subset no DestinationRule defines leaves the
 * route pointing at a cluster that does not exist, so the proxy answers 503 `NC`).
 */
import type { Destination } from '../../api/kinds/networking/common.js';
import type { HashPolicy } from '../../snapshot/index.js';
import { outboundClusterName } from './clusters.js';
import { hashPolicyOf, policyFor } from './destination-policy.js';
import { toFqdn } from './hosts.js';
import type { ConfigIndex } from './push-context.js';

/** Who the destinations are resolved for. */
export interface DestinationScope {
  index: ConfigIndex;
  proxyNamespace: string;
  /** Sidecar workload labels, for DestinationRules with a workload selector. */
  drLabels?: Readonly<Record<string, string>>;
  /** The port the routes serve when a destination names none and its service has several. */
  port: number;
}

export interface ResolvedDestination {
  host: string;
  port: number;
  subset?: string;
  cluster: string;
}

export function resolveDestination(d: Destination, vsNamespace: string, scope: DestinationScope): ResolvedDestination {
  const host = toFqdn(d.host, vsNamespace, scope.index.mesh.domainSuffix);
  const svc = scope.index.service(host);
  let port = d.port?.number;
  if (port === undefined || port === 0) port = svc !== undefined && svc.ports.length === 1 ? svc.ports[0].port : scope.port;
  const subset = d.subset === undefined || d.subset === '' ? undefined : d.subset;
  const out: ResolvedDestination = { host, port, cluster: outboundClusterName(port, subset, host) };
  if (subset !== undefined) out.subset = subset;
  return out;
}

/** The consistent-hash policy the destination's DestinationRule asks for, if any. */
export function destinationHashPolicy(dest: ResolvedDestination, scope: DestinationScope): HashPolicy | undefined {
  const dr = scope.index.destinationRule(dest.host, scope.proxyNamespace, scope.drLabels);
  if (dr === undefined) return undefined;
  const subset = dest.subset === undefined ? undefined : dr.subsets.find((s) => s.name === dest.subset);
  return hashPolicyOf(policyFor(dr, dest.port, subset));
}
