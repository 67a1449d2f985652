/**
 * A sidecar's outbound side: one HTTP listener (the app's HTTP_PROXY) whose route config has a
 * virtual host per visible service port — HTTP ports routed by the host's VirtualService `http`
 * rules, opaque TCP ports reached through CONNECT and routed by its `tcp` rules — plus the hosts
 * of mesh VirtualServices that name no service, and the catch-all for everything else
 * (PassthroughCluster under ALLOW_ANY; BlackHoleCluster under REGISTRY_ONLY: a 502 for HTTP, a
 * closed tunnel for CONNECT).
 */
import { isOpaqueProtocol } from '../../registry/protocol.js';
import type { Route, RouteConfig, VirtualHost, VirtualHostConnect, ListenerConfig } from '../../snapshot/index.js';
import { BLACKHOLE_CLUSTER, outboundClusterName, PASSTHROUGH_CLUSTER } from './clusters.js';
import { destinationHashPolicy } from './destinations.js';
import { httpListenerOptions } from './http-listener.js';
import { defaultRoute, httpRoutesOf, type RouteScope } from './http-routes.js';
import type { ConfigIndex, VirtualServiceEntry } from './push-context.js';
import type { MeshPort, MeshService } from './services.js';
import { virtualServiceFor, type SidecarScope } from './sidecar-scope.js';
import { tcpDestinationsOf, tlsDestinationsFor } from './tcp-routes.js';
import type { SidecarTarget } from './types.js';

export const OUTBOUND_LISTENER = 'virtualOutbound';
export const OUTBOUND_ROUTE_CONFIG = 'outbound';

/**
 * The names a caller may use for a service port: Kubernetes services by `name` (same namespace
 * only, as resolv.conf search paths give), `name.ns`, `name.ns.svc` and the FQDN, each with
 * `:port`; without a port only for port 80, which is what an absolute URL without one means. A
 * headless Service also takes every name under those (`*.name:port`), as Istio writes it: its
 * pods' own DNS names (a StatefulSet's `db-0.db`) are below the Service's.
 */
export function serviceDomains(svc: MeshService, port: number, proxyNs: string, domainSuffix: string): string[] {
  const names = [svc.hostname];
  const suffix = `.svc.${domainSuffix}`;
  if (svc.source === 'kubernetes' && svc.hostname.endsWith(suffix)) {
    const nameNs = svc.hostname.slice(0, -suffix.length);
    names.push(`${nameNs}.svc`, nameNs);
    if (svc.namespace === proxyNs) names.push(svc.name);
  }
  const out: string[] = [];
  for (const n of names) {
    if (port === 80) out.push(n);
    out.push(`${n}:${port}`);
  }
  if (svc.headless === true) {
    const count = out.length;
    for (let i = 0; i < count; i++) out.push(`*.${out[i]}`);
  }
  return out;
}

/** Adds a virtual host, keeping only domains no earlier one took (the router rejects duplicates). */
class VirtualHosts {
  readonly list: VirtualHost[] = [];
  private readonly taken = new Set<string>();

  add(name: string, domains: readonly string[], routes: Route[], connect?: VirtualHostConnect): void {
    const free = domains.filter((d) => !this.taken.has(d.toLowerCase()));
    if (free.length === 0) return;
    for (const d of free) this.taken.add(d.toLowerCase());
    const vhost: VirtualHost = { name, domains: free, routes };
    if (connect !== undefined) vhost.connect = connect;
    this.list.push(vhost);
  }

  has(domain: string): boolean {
    return this.taken.has(domain.toLowerCase());
  }
}

/** The outbound listener of the workload's sidecar; its routes are `OUTBOUND_ROUTE_CONFIG`. */
export function outboundListener(index: ConfigIndex, target: SidecarTarget): ListenerConfig {
  const w = target.workload;
  return {
    name: OUTBOUND_LISTENER,
    address: w.address,
    port: w.sidecar!.outboundPort,
    direction: 'outbound',
    protocol: 'http',
    http: httpListenerOptions(index.mesh, OUTBOUND_ROUTE_CONFIG),
  };
}

/**
 * The outbound route config. It reads the workload only through `scope` (namespace, Sidecar
 * resource, labels as selectors see them), so sidecars with equal scopes share it.
 */
export function buildOutboundRouteConfig(index: ConfigIndex, scope: SidecarScope, warn: (m: string) => void): RouteConfig {
  const vhosts = new VirtualHosts();
  const routeScope = (port: number): RouteScope => ({
    index,
    gateway: 'mesh',
    port,
    proxyNamespace: scope.namespace,
    proxyLabels: scope.labels,
    drLabels: scope.labels,
    warn,
  });

  for (const svc of scope.services) {
    const vs = virtualServiceFor(scope.virtualServices, svc.hostname);
    for (const port of svc.ports) {
      if (port.protocol === 'UDP') continue;
      const routes = serviceRoutes(svc, port, vs, routeScope(port.port));
      vhosts.add(`${svc.hostname}:${port.port}`, serviceDomains(svc, port.port, scope.namespace, index.mesh.domainSuffix), routes, connectOf(svc, port));
    }
  }

  // Mesh VirtualService hosts outside the registry still route (Istio gives them virtual hosts too).
  for (const vs of scope.virtualServices) {
    for (const host of vs.hosts) {
      if (host === '*' || index.service(host) !== undefined || vhosts.has(host)) continue;
      if (virtualServiceFor(scope.virtualServices, host) !== vs) continue;
      const routes = httpRoutesOf(vs, routeScope(80));
      if (routes.length > 0) vhosts.add(host, [host], routes);
    }
  }

  if (scope.outboundTrafficPolicy === 'REGISTRY_ONLY') {
    // Istio's BlackHoleCluster: HTTP gets a 502; a CONNECT tunnel (the local stand-in for a
    // captured TCP connection) goes to the cluster without endpoints, which closes it at once,
    // as Envoy's TCP proxy does on Istio's listeners.
    vhosts.add('block_all', ['*'], [
      { name: 'block_all', match: [{ method: { exact: 'CONNECT' } }], action: { type: 'route', destinations: [{ cluster: BLACKHOLE_CLUSTER, weight: 100 }] } },
      { name: 'block_all', match: [], action: { type: 'direct', status: 502 } },
    ]);
  } else {
    vhosts.add('allow_any', ['*'], [{ name: 'allow_any', match: [], action: { type: 'route', destinations: [{ cluster: PASSTHROUGH_CLUSTER, weight: 100 }] } }]);
  }
  return { name: OUTBOUND_ROUTE_CONFIG, virtualHosts: vhosts.list };
}

/** Routes for one service port: its VirtualService's rules, else the default route. */
function serviceRoutes(svc: MeshService, port: MeshPort, vs: VirtualServiceEntry | undefined, scope: RouteScope): Route[] {
  const cluster = outboundClusterName(port.port, undefined, svc.hostname);
  const hash = destinationHashPolicy({ host: svc.hostname, port: port.port, cluster }, scope);
  if (isOpaqueProtocol(port.protocol)) {
    // Opaque TCP arrives as CONNECT host:port: one route, the connection's cluster drawn by weight.
    // TLS ports take the `tls` rule for the service's name first, as Envoy matches the SNI.
    const tls = port.protocol === 'TLS' || port.protocol === 'HTTPS';
    const dests = vs === undefined ? undefined : ((tls ? tlsDestinationsFor(vs, scope, svc.hostname) : undefined) ?? tcpDestinationsOf(vs, scope));
    if (vs === undefined || dests === undefined) return [defaultRoute(cluster, false, hash)];
    return [{ name: `${vs.name}.${vs.namespace}`, match: [], action: { type: 'route', destinations: dests } }];
  }
  if (vs === undefined || (vs.spec.http ?? []).length === 0) return [defaultRoute(cluster, true, hash, scope.index.mesh.defaultHttpRetry)];
  return httpRoutesOf(vs, scope);
}

/**
 * A CONNECT to a port that speaks HTTP (or may: undeclared ports are sniffed) stands for the
 * connection iptables would have captured to it, which Envoy serves on the port's HTTP listener
 * request by request: the sidecar serves the requests inside the tunnel through the port's
 * routes. Opaque ports stay byte tunnels.
 */
function connectOf(svc: MeshService, port: MeshPort): VirtualHostConnect | undefined {
  if (isOpaqueProtocol(port.protocol)) return undefined;
  return { serve: 'http', tcpCluster: outboundClusterName(port.port, undefined, svc.hostname) };
}
