/**
 * What telemetry needs from a snapshot, resolved once when it is applied: the proxy's own
 * identity and peer-metadata header, each cluster's destination service (from its metadata or
 * Istio's cluster name) and span name, each endpoint's identity, and the service behind each route
 * name (for requests that end before a cluster is picked, such as fault aborts).
 */
import type { ProxySnapshot, ClusterConfig } from '../snapshot/index.js';
import { endpointKey } from '../snapshot/index.js';
import { encodePeerMetadata, identityOfEndpoint, identityOfWorkload, UNKNOWN_PEER } from './identity.js';
import type { PeerIdentity } from './identity.js';
import type { ServiceLabels } from './metrics/labels.js';

/** A destination service as the labels and the span name need it. */
export interface ServiceInfo extends ServiceLabels {
  /** Port from the cluster name, or '' when unknown. */
  readonly port: string;
  /** True when `host` is known (cluster metadata or name); false = fill from the request's Host. */
  readonly hostKnown: boolean;
}

export interface ClusterView {
  readonly name: string;
  readonly service: ServiceInfo | null;
  /** Endpoint identities by `ip:port` (the record's `upstreamHost`). */
  readonly endpoints: ReadonlyMap<string, PeerIdentity>;
}

/** Clusters whose name is itself the service name in Istio's labels. */
const SPECIAL_CLUSTERS = new Set(['BlackHoleCluster', 'PassthroughCluster', 'InboundPassthroughCluster', 'InboundPassthroughClusterIpv4', 'InboundPassthroughClusterIpv6']);

/** Istio's route names for the catch-all routes, and the service name they report. */
export const SPECIAL_ROUTES: ReadonlyMap<string, string> = new Map([
  ['block_all', 'BlackHoleCluster'],
  ['allow_any', 'PassthroughCluster'],
]);

function shortName(host: string): string {
  const dot = host.indexOf('.');
  return dot < 0 ? host : host.slice(0, dot);
}

/** The service of a cluster: metadata first, then Istio's `outbound|PORT|SUBSET|HOST` naming. */
export function serviceOfCluster(c: Pick<ClusterConfig, 'name' | 'metadata'>): ServiceInfo | null {
  if (SPECIAL_CLUSTERS.has(c.name)) return Object.freeze({ host: '', name: c.name, port: '', hostKnown: false });
  const parts = c.name.split('|');
  const port = parts.length === 4 && /^\d+$/.test(parts[1]) ? parts[1] : '';
  const host = c.metadata?.serviceHost ?? (parts.length === 4 && parts[0] === 'outbound' && parts[3] !== '' ? parts[3] : undefined);
  if (host === undefined) return port === '' ? null : Object.freeze({ host: '', name: '', port, hostKnown: false });
  return Object.freeze({ host, name: c.metadata?.serviceName ?? shortName(host), port, hostKnown: true });
}

/**
 * The service behind each inbound cluster, as Istio's inbound cluster metadata names it: the one
 * service whose endpoints (in this snapshot's outbound clusters) are this sidecar's inbound
 * listener serving that cluster. None when no service or several share the port.
 */
function inboundServices(snap: ProxySnapshot & { clusters: ClusterConfig[] }): Map<string, ServiceInfo> {
  const out = new Map<string, ServiceInfo>();
  const inbound = snap.listeners.filter((l) => l.direction === 'inbound');
  if (inbound.length === 0) return out;
  const byEndpoint = new Map<string, ServiceInfo | null>();
  for (const c of snap.clusters) {
    const svc = serviceOfCluster(c);
    if (svc === null || !svc.hostKnown || !c.name.startsWith('outbound|')) continue;
    for (const e of c.endpoints) {
      const key = endpointKey(e.address, e.port);
      const prev = byEndpoint.get(key);
      byEndpoint.set(key, prev === undefined || (prev !== null && prev.host === svc.host) ? (prev ?? svc) : null);
    }
  }
  const routeClusters = clustersByRouteConfig(snap);
  for (const l of inbound) {
    const svc = byEndpoint.get(endpointKey(l.address, l.port));
    if (svc === undefined || svc === null) continue;
    for (const n of listenerClusters(l, routeClusters)) if (n.startsWith('inbound|')) out.set(n, svc);
  }
  return out;
}

/** Route config name → the clusters its routes send to. */
function clustersByRouteConfig(snap: ProxySnapshot): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const rc of snap.routes) {
    out.set(rc.name, rc.virtualHosts.flatMap((vh) => vh.routes.flatMap((r) => (r.action.type === 'route' ? r.action.destinations.map((d) => d.cluster) : []))));
  }
  return out;
}

/** The clusters a listener's HTTP routes or TCP routes send to. */
function listenerClusters(l: ProxySnapshot['listeners'][number], routeClusters: ReadonlyMap<string, string[]>): string[] {
  return [...(l.http !== undefined ? (routeClusters.get(l.http.routeConfig) ?? []) : []), ...(l.tcp?.routes ?? []).flatMap((r) => r.destinations.map((d) => d.cluster))];
}

export class SnapshotView {
  readonly nodeId: string;
  readonly gateway: boolean;
  readonly local: PeerIdentity;
  /** `x-envoy-peer-metadata` announcing this proxy; null without a workload identity. */
  readonly localMetadata: string | null;
  /** `<app>.<namespace>`: the span's service name (Istio's service cluster). */
  readonly serviceName: string;
  readonly clusters: ReadonlyMap<string, ClusterView>;
  /** Route name → service, when every destination of every route of that name is one service. */
  readonly routeServices: ReadonlyMap<string, ServiceInfo>;
  /**
   * Inbound listener name → the one service its routes reach. A request a listener filter
   * answers (RBAC, JWT, ext_authz) has no route yet in Skiff, where Envoy's filters have already
   * resolved it (they read its per-route config) and Istio labels it with the route's service.
   */
  readonly inboundListenerServices: ReadonlyMap<string, ServiceInfo>;
  readonly version: string;

  constructor(snap: ProxySnapshot & { clusters: ClusterConfig[] }) {
    this.version = snap.version;
    this.nodeId = snap.node.id;
    this.gateway = snap.node.kind === 'gateway';
    this.local = identityOfWorkload(snap.node.workload);
    this.localMetadata = snap.node.workload === undefined ? null : encodePeerMetadata(this.local);
    this.serviceName = this.local === UNKNOWN_PEER ? snap.node.id : `${this.local.app === 'unknown' ? this.local.workload : this.local.app}.${this.local.namespace}`;

    const clusters = new Map<string, ClusterView>();
    const inbound = inboundServices(snap);
    for (const c of snap.clusters) {
      const endpoints = new Map<string, PeerIdentity>();
      for (const e of c.endpoints) {
        const id = identityOfEndpoint(e);
        if (id !== undefined) endpoints.set(endpointKey(e.address, e.port), id);
      }
      const own = serviceOfCluster(c);
      clusters.set(c.name, Object.freeze({ name: c.name, service: own?.hostKnown === true ? own : (inbound.get(c.name) ?? own), endpoints }));
    }
    this.clusters = clusters;

    // A route name maps to a service only when it cannot be ambiguous.
    const routeServices = new Map<string, ServiceInfo | null>();
    for (const rc of snap.routes) {
      for (const vh of rc.virtualHosts) {
        for (const route of vh.routes) {
          if (route.action.type !== 'route') continue;
          let svc: ServiceInfo | null | undefined;
          for (const d of route.action.destinations) {
            const s = clusters.get(d.cluster)?.service ?? null;
            svc = svc === undefined ? s : svc !== null && s !== null && svc.host === s.host && svc.hostKnown ? svc : null;
          }
          const names = [route.name, ...(route.match ?? []).flatMap((m) => (m.name === undefined ? [] : [`${route.name}.${m.name}`]))];
          for (const n of names) {
            if (n === undefined || svc === undefined) continue;
            const prev = routeServices.get(n);
            routeServices.set(n, prev === undefined ? svc : prev !== null && svc !== null && prev.host === svc.host ? prev : null);
          }
        }
      }
    }
    const resolved = new Map<string, ServiceInfo>();
    for (const [n, s] of routeServices) if (s !== null && s.hostKnown) resolved.set(n, s);
    this.routeServices = resolved;

    const listenerServices = new Map<string, ServiceInfo>();
    const routeClusters = clustersByRouteConfig(snap);
    for (const l of snap.listeners) {
      if (l.direction !== 'inbound') continue;
      let svc: ServiceInfo | null | undefined;
      for (const n of listenerClusters(l, routeClusters)) {
        const s = clusters.get(n)?.service ?? null;
        svc = svc === undefined ? s : svc !== null && s !== null && svc.host === s.host ? svc : null;
      }
      if (svc !== undefined && svc !== null && svc.hostKnown) listenerServices.set(l.name, svc);
    }
    this.inboundListenerServices = listenerServices;
  }
}
