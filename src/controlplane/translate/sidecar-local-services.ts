/**
 * A sidecar's local service listeners: one loopback port per service port the workload was given
 * (`SidecarInfo.localServices`), for clients that ignore HTTP_PROXY. What connects there is routed
 * exactly as a request for that service through the outbound listener is — the same routes,
 * taken from the shared outbound route config — only the service is known from the port rather
 * than from the Host header, as Istio's per-port outbound listeners know it from the original
 * destination. HTTP ports serve HTTP, opaque ports proxy TCP, undeclared ones sniff. A captured
 * sidecar's ClusterIP listeners (`sidecar-capture.ts`) are built the same way.
 */
import { isHttpProtocol, isOpaqueProtocol } from '../../registry/protocol.js';
import type { ListenerConfig, RouteConfig, TcpRoute, VirtualHost } from '../../snapshot/index.js';
import { outboundClusterName } from './clusters.js';
import { toFqdn } from './hosts.js';
import { httpListenerOptions } from './http-listener.js';
import type { ConfigIndex } from './push-context.js';
import type { MeshService } from './services.js';
import type { SidecarTarget } from './types.js';

export interface LocalServiceListeners {
  listeners: ListenerConfig[];
  routes: RouteConfig[];
}

/**
 * Route configs built from one shared outbound route config, by service port and use (`local|`
 * for loopback ports, `captured|` for a captured sidecar's ClusterIP listeners): sidecars of one
 * scope get the same objects, so the push encodes each once.
 */
const pinned = new WeakMap<RouteConfig, Map<string, RouteConfig>>();

function pinnedRouteConfig(outbound: RouteConfig, vhost: VirtualHost, prefix: string): RouteConfig {
  let byName = pinned.get(outbound);
  if (byName === undefined) {
    byName = new Map();
    pinned.set(outbound, byName);
  }
  const name = `${prefix}|${vhost.name}`;
  let config = byName.get(name);
  if (config === undefined) {
    config = { name, virtualHosts: [{ name: vhost.name, domains: ['*'], routes: vhost.routes }] };
    byName.set(name, config);
  }
  return config;
}

/** The CONNECT route of an opaque port as TCP routes: the same weighted clusters, drawn per connection. */
function tcpRoutesOf(vhost: VirtualHost): TcpRoute[] {
  const action = vhost.routes[0]?.action;
  if (action?.type !== 'route') return [];
  return [{ destinations: action.destinations.map((d) => ({ cluster: d.cluster, weight: d.weight })) }];
}

/** Where a service port's listener is and what it is called. */
export interface ServicePortListenerPlace {
  name: string;
  address: string;
  port: number;
  /** false: the listener stands for a captured destination and binds nothing. */
  bindToPort?: boolean;
  /** The prefix of its route config's name. */
  routePrefix: 'local' | 'captured';
}

/**
 * A listener that serves one service port as the outbound listener serves a request for it: the
 * port's virtual host's routes under any Host (the service is known from where the connection
 * went), TCP routes for an opaque port, both for an undeclared one (sniffed). Undefined when the
 * outbound routes have no virtual host for the port (the service is not visible).
 */
export function servicePortListener(index: ConfigIndex, outbound: RouteConfig, service: MeshService, servicePort: number, place: ServicePortListenerPlace): { listener: ListenerConfig; route?: RouteConfig } | undefined {
  const vhost = outbound.virtualHosts.find((v) => v.name === `${service.hostname}:${servicePort}`);
  const port = service.ports.find((p) => p.port === servicePort);
  if (vhost === undefined || port === undefined) return undefined;
  const listener: ListenerConfig = {
    name: place.name,
    address: place.address,
    port: place.port,
    direction: 'outbound',
    protocol: isHttpProtocol(port.protocol) ? 'http' : isOpaqueProtocol(port.protocol) ? 'tcp' : 'auto',
  };
  if (place.bindToPort === false) listener.bindToPort = false;
  if (listener.protocol === 'tcp') {
    listener.tcp = { routes: tcpRoutesOf(vhost) };
    return { listener };
  }
  const route = pinnedRouteConfig(outbound, vhost, place.routePrefix);
  listener.http = httpListenerOptions(index.mesh, route.name);
  // Sniffed as not HTTP: the service's default cluster, as Istio's undeclared ports fall back to TCP.
  if (listener.protocol === 'auto') listener.tcp = { routes: [{ destinations: [{ cluster: outboundClusterName(servicePort, undefined, service.hostname), weight: 100 }] }] };
  return { listener, route };
}

/**
 * The listeners (and their route configs) for `target`'s local service ports. A service port the
 * sidecar cannot see (absent, or outside its Sidecar's egress) gets no listener: a client there
 * is refused, as it would fail to resolve the name in a pod.
 */
export function buildLocalServiceListeners(index: ConfigIndex, target: SidecarTarget, outbound: RouteConfig): LocalServiceListeners {
  const w = target.workload;
  const out: LocalServiceListeners = { listeners: [], routes: [] };
  for (const local of w.sidecar?.localServices ?? []) {
    const hostname = toFqdn(local.service, w.namespace, index.mesh.domainSuffix);
    const service = index.service(hostname);
    if (service === undefined) continue;
    const built = servicePortListener(index, outbound, service, local.port, { name: `local_${hostname}_${local.port}`, address: w.address, port: local.localPort, routePrefix: 'local' });
    if (built === undefined) continue;
    out.listeners.push(built.listener);
    if (built.route !== undefined) out.routes.push(built.route);
  }
  return out;
}
