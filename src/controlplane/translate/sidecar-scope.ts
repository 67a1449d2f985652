/**
 * What one sidecar sees (Istio's SidecarScope): the Sidecar resource that applies to its workload
 * (one in its namespace selecting it, else its namespace's default, else the root namespace's),
 * the services and VirtualServices its egress hosts admit among those exported to its namespace,
 * and its outbound traffic policy.
 */
import { labelsMatch } from '../../registry/select.js';
import type { WorkloadInstance } from '../../registry/types.js';
import { hostCovers, namespacedHostAdmits, parseNamespacedHost, specificity, type NamespacedHost } from './hosts.js';
import type { ConfigIndex, SidecarEntry, VirtualServiceEntry } from './push-context.js';
import type { MeshService } from './services.js';
import type { MeshOptions } from './types.js';

export interface SidecarScope {
  namespace: string;
  labels: Readonly<Record<string, string>>;
  /** The Sidecar resource in force, if any. */
  sidecar?: SidecarEntry;
  services: MeshService[];
  /** VirtualServices bound to `mesh` the sidecar may use, in precedence order. */
  virtualServices: VirtualServiceEntry[];
  outboundTrafficPolicy: MeshOptions['outboundTrafficPolicy'];
}

/** Istio's choice of Sidecar resource for a workload. */
export function sidecarFor(index: ConfigIndex, workload: Pick<WorkloadInstance, 'namespace' | 'labels'>): SidecarEntry | undefined {
  const inNs = index.sidecars.filter((s) => s.namespace === workload.namespace);
  const selecting = inNs.find((s) => s.spec.workloadSelector?.labels !== undefined && labelsMatch(s.spec.workloadSelector.labels, workload.labels));
  if (selecting !== undefined) return selecting;
  const nsDefault = inNs.find((s) => s.spec.workloadSelector?.labels === undefined);
  if (nsDefault !== undefined) return nsDefault;
  return index.sidecars.find((s) => s.namespace === index.mesh.rootNamespace && s.spec.workloadSelector?.labels === undefined);
}

export function buildSidecarScope(index: ConfigIndex, workload: Pick<WorkloadInstance, 'namespace' | 'labels'>): SidecarScope {
  const sidecar = sidecarFor(index, workload);
  const ns = workload.namespace;
  // Egress hosts with `.` mean the namespace of the workload, also for a root-namespace Sidecar.
  const egress: NamespacedHost[] | undefined = sidecar?.spec.egress?.flatMap((e) => e.hosts.map((h) => parseNamespacedHost(h, ns)));
  const admits = (namespace: string, host: string): boolean => egress === undefined || egress.some((e) => namespacedHostAdmits(e, namespace, host));
  const services = index.servicesVisibleFrom(ns).filter((s) => admits(s.namespace, s.hostname));
  const virtualServices = index
    .virtualServicesVisibleFrom(ns)
    .filter((v) => v.gateways.includes('mesh') && v.hosts.some((h) => admits(v.namespace, h)));
  const scope: SidecarScope = {
    namespace: ns,
    labels: workload.labels,
    services,
    virtualServices,
    outboundTrafficPolicy: sidecar?.spec.outboundTrafficPolicy?.mode ?? index.mesh.outboundTrafficPolicy,
  };
  if (sidecar !== undefined) scope.sidecar = sidecar;
  return scope;
}

/**
 * The VirtualService for a host: one naming it exactly, else the one whose wildcard covers it
 * most specifically; earlier in precedence order wins a tie.
 */
export function virtualServiceFor(vss: readonly VirtualServiceEntry[], host: string): VirtualServiceEntry | undefined {
  let best: VirtualServiceEntry | undefined;
  let bestScore = -1;
  for (const vs of vss) {
    for (const h of vs.hosts) {
      if (h === host) return vs;
      if (hostCovers(h, host) && specificity(h) > bestScore) {
        best = vs;
        bestScore = specificity(h);
      }
    }
  }
  return best;
}
