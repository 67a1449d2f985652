/**
 * A sidecar's local service listeners: one loopback port per service port the workload was given
 * (`SidecarInfo.localServices`), for clients that ignore HTTP_PROXY. What connects there is routed
 * exactly as a request for that service through the outbound listener is — the same routes,
 * taken from the shared outbound route config — only the service is known from the port rather
 * than from the Host header, as Istio's per-port outbound listeners know it from the original
 * destination. HTTP ports serve HTTP, opaque ports proxy TCP, undeclared ones sniff.
 */
import { isHttpProtocol, isOpaqueProtocol } from '../../registry/protocol.js';
import type { ListenerConfig, RouteConfig, TcpRoute, VirtualHost } from '../../snapshot/index.js';
import { outboundClusterName } from './clusters.js';
import { toFqdn } from './hosts.js';
import { httpListenerOptions } from './http-listener.js';
import type { ConfigIndex } from './push-context.js';
import type { SidecarTarget } from './types.js';

export interface LocalServiceListeners {
  listeners: ListenerConfig[];
  routes: RouteConfig[];
}

/**
 * Route configs built from one shared outbound route config, by service port: sidecars of one
 * scope get the same objects, so the push encodes each once.
 */
const pinned = new WeakMap<RouteConfig, Map<string, RouteConfig>>();

function pinnedRouteConfig(outbound: RouteConfig, vhost: VirtualHost): RouteConfig {
  let byName = pinned.get(outbound);
  if (byName === undefined) {
    byName = new Map();
    pinned.set(outbound, byName);
  }
  let config = byName.get(vhost.name);
  if (config === undefined) {
    config = { name: `local|${vhost.name}`, virtualHosts: [{ name: vhost.name, domains: ['*'], routes: vhost.routes }] };
    byName.set(vhost.name, config);
  }
  return config;
}

/** The CONNECT route of an opaque port as TCP routes: the same weighted clusters, drawn per connection. */
function tcpRoutesOf(vhost: VirtualHost): TcpRoute[] {
  const action = vhost.routes[0]?.action;
  if (action?.type !== 'route') return [];
  return [{ destinations: action.destinations.map((d) => ({ cluster: d.cluster, weight: d.weight })) }];
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
    const vhost = outbound.virtualHosts.find((v) => v.name === `${hostname}:${local.port}`);
    const port = index.service(hostname)?.ports.find((p) => p.port === local.port);
    if (vhost === undefined || port === undefined) continue;
    const listener: ListenerConfig = {
      name: `local_${hostname}_${local.port}`,
      address: w.address,
      port: local.localPort,
      direction: 'outbound',
      protocol: isHttpProtocol(port.protocol) ? 'http' : isOpaqueProtocol(port.protocol) ? 'tcp' : 'auto',
    };
    if (listener.protocol === 'tcp') listener.tcp = { routes: tcpRoutesOf(vhost) };
    else {
      const config = pinnedRouteConfig(outbound, vhost);
      listener.http = httpListenerOptions(index.mesh, config.name);
      out.routes.push(config);
      // Sniffed as not HTTP: the service's default cluster, as Istio's undeclared ports fall back to TCP.
      if (listener.protocol === 'auto') listener.tcp = { routes: [{ destinations: [{ cluster: outboundClusterName(local.port, undefined, hostname), weight: 100 }] }] };
    }
    out.listeners.push(listener);
  }
  return out;
}
