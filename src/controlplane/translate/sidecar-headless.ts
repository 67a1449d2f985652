/**
 * A captured sidecar's listeners for the pods of headless Kubernetes Services (`clusterIP: None`).
 * A headless Service's name resolves to its pods' addresses, so its clients dial `podIP:port`
 * themselves and their sidecar sees that as the connection's original destination. As Istio writes
 * it, the sidecar then has a listener per pod and service port, `10.244.0.11_9080`, binding
 * nothing (`virtualOutbound` hands it the connection by original destination), which reaches that
 * very pod — no load balancing, whatever the DestinationRule's `loadBalancer` says:
 *
 * - an HTTP port serves the Service's routes (its VirtualService) for a Host that names the
 *   Service, or a name under it (a StatefulSet pod's `db-0.db`), as Istio matches them; any other
 *   Host (the pod's address itself) is served by the pod with the Service's default route;
 * - an opaque TCP port proxies to the pod (after the Service's `tcp` rules, which may name another
 *   service);
 * - an undeclared port sniffs: HTTP is served by the Service's routes under any Host (Istio's
 *   sniffed per-pod listeners take the one Service's virtual host as `*`), anything else proxied.
 *
 * Where a route goes to the Service itself (any of its subsets: a pod is what the client chose),
 * it goes to a cluster of that one pod, `outbound|9080|10.244.0.11|db.ns.svc.cluster.local`, with
 * the port's connection pool, outlier detection and TLS: automatic mutual TLS towards a pod with a
 * sidecar, plaintext to one without. Istio routes to the Service's ORIGINAL_DST cluster instead,
 * whose automatic TLS is decided for all the pods at once (mutual TLS only when every pod has a
 * sidecar); a cluster per pod lets each pod get what it accepts.
 *
 * The listeners depend only on what a sidecar sees and on the registry's pods, so they are built
 * once per shared sidecar part, beside the ClusterIP listeners, and follow the pods: a pod that
 * goes (or is no longer ready) leaves the Service's endpoints, and its listener and cluster go with
 * the next translation. The sidecar's own pod keeps its listener in the shared list, though its
 * app's connections to its own address are never captured (the rules let them through on lo).
 */
import { isHttpProtocol, isOpaqueProtocol } from '../../registry/protocol.js';
import type { ClusterConfigInput, ListenerConfig, Route, RouteConfig, TcpRoute, VirtualHost, WeightedCluster } from '../../snapshot/index.js';
import { endpointCluster, outboundClusterName } from './clusters.js';
import { httpListenerOptions } from './http-listener.js';
import { defaultRoute } from './http-routes.js';
import type { ConfigIndex } from './push-context.js';
import { endpointsOf, type MeshPort, type MeshService } from './services.js';
import type { SharedSidecarPart } from './sidecar-shared.js';
import type { CaptureListenerSet } from './types.js';

export interface HeadlessListeners extends CaptureListenerSet {
  /** One cluster per pod and port. */
  clusters: ClusterConfigInput[];
}

/**
 * The per-pod listeners, route configs, capture targets and clusters for the headless Services
 * `part`'s sidecars see. `taken` holds the destinations other listeners already stand for (and
 * receives these): one address and port is one listener's, the first Service's that claims it.
 */
export function headlessListeners(index: ConfigIndex, part: SharedSidecarPart, taken: Set<string>): HeadlessListeners {
  const out: HeadlessListeners = { listeners: [], routes: [], targets: [], clusters: [] };
  const outbound = part.routes[0];
  const namespace = part.scope.namespace;
  const clusterNames = new Set(part.clusters.map((c) => c.name));
  for (const svc of part.scope.services) {
    if (svc.source !== 'kubernetes' || svc.headless !== true || svc.selector === undefined) continue;
    for (const port of svc.ports) {
      if (port.protocol === 'UDP') continue;
      const vhost = outbound.virtualHosts.find((v) => v.name === `${svc.hostname}:${port.port}`);
      if (vhost === undefined) continue;
      for (const ep of endpointsOf(svc, port, undefined, index.workloads, index.mesh.trustDomain)) {
        const destination = ep.address.includes(':') ? `[${ep.address}]:${port.port}` : `${ep.address}:${port.port}`;
        const cluster = outboundClusterName(port.port, ep.address, svc.hostname);
        // A DestinationRule subset named like the pod's address would take the same cluster name.
        if (taken.has(destination) || clusterNames.has(cluster)) continue;
        taken.add(destination);
        clusterNames.add(cluster);
        const name = `${ep.address}_${port.port}`;
        // Its TLS secrets and warnings are the Service cluster's, which the shared part has already taken.
        out.clusters.push(endpointCluster(index, svc, port, ep, cluster, { namespace, labels: part.scope.labels }));
        const built = podListener(index, svc, port, vhost, { name, address: ep.address, cluster });
        out.listeners.push(built.listener);
        if (built.route !== undefined) out.routes.push(built.route);
        out.targets.push({ destination, listener: name });
      }
    }
  }
  return out;
}

interface PodPlace {
  name: string;
  address: string;
  /** The pod's own cluster. */
  cluster: string;
}

function podListener(index: ConfigIndex, svc: MeshService, port: MeshPort, vhost: VirtualHost, place: PodPlace): { listener: ListenerConfig; route?: RouteConfig } {
  const toPod = podRewriter(svc.hostname, place.cluster);
  const listener: ListenerConfig = {
    name: place.name,
    address: place.address,
    port: port.port,
    direction: 'outbound',
    protocol: isHttpProtocol(port.protocol) ? 'http' : isOpaqueProtocol(port.protocol) ? 'tcp' : 'auto',
    bindToPort: false,
  };
  if (listener.protocol === 'tcp') {
    listener.tcp = { routes: tcpRoutes(vhost, toPod) };
    return { listener };
  }
  const routes = vhost.routes.map((r) => rewriteRoute(r, toPod));
  const virtualHosts: VirtualHost[] =
    listener.protocol === 'http'
      ? [
          { name: vhost.name, domains: vhost.domains, routes },
          // A Host that names no name of the Service: the connection's destination still names the pod.
          { name: place.name, domains: ['*'], routes: [defaultRoute(place.cluster, true, undefined, index.mesh.defaultHttpRetry)] },
        ]
      : [{ name: vhost.name, domains: ['*'], routes }];
  const route: RouteConfig = { name: `captured|${place.name}`, virtualHosts };
  listener.http = httpListenerOptions(index.mesh, route.name);
  // Sniffed as not HTTP: the pod itself.
  if (listener.protocol === 'auto') listener.tcp = { routes: [{ destinations: [{ cluster: place.cluster, weight: 100 }] }] };
  return { listener, route };
}

/** Maps the Service's own clusters (any port, any subset) to the pod's cluster; other clusters stay. */
function podRewriter(host: string, podCluster: string): (cluster: string) => string {
  const suffix = `|${host}`;
  return (cluster) => (cluster.startsWith('outbound|') && cluster.endsWith(suffix) && cluster.split('|').length === 4 ? podCluster : cluster);
}

/** The destinations with the Service's own clusters made the pod's (which has one host: no hash policy). */
function rewriteDestinations(dests: readonly WeightedCluster[], toPod: (cluster: string) => string): WeightedCluster[] | undefined {
  let out: WeightedCluster[] | undefined;
  dests.forEach((d, i) => {
    const cluster = toPod(d.cluster);
    if (cluster === d.cluster) return;
    out ??= dests.slice();
    const { hashPolicy: _hash, ...rest } = d;
    out[i] = { ...rest, cluster };
  });
  return out;
}

/** `r` itself when nothing in it goes to the Service, else a copy that goes to the pod. */
function rewriteRoute(r: Route, toPod: (cluster: string) => string): Route {
  if (r.action.type !== 'route') return r;
  const destinations = rewriteDestinations(r.action.destinations, toPod);
  const mirrors = r.action.mirrors?.some((m) => toPod(m.cluster) !== m.cluster) === true ? r.action.mirrors.map((m) => ({ ...m, cluster: toPod(m.cluster) })) : undefined;
  if (destinations === undefined && mirrors === undefined) return r;
  return { ...r, action: { ...r.action, destinations: destinations ?? r.action.destinations, ...(mirrors === undefined ? {} : { mirrors }) } };
}

/** An opaque port's CONNECT route as TCP routes, the Service's clusters made the pod's. */
function tcpRoutes(vhost: VirtualHost, toPod: (cluster: string) => string): TcpRoute[] {
  const action = vhost.routes[0]?.action;
  if (action?.type !== 'route') return [];
  return [{ destinations: action.destinations.map((d) => ({ cluster: toPod(d.cluster), weight: d.weight })) }];
}
