/**
 * A captured sidecar's per-port HTTP listeners, Istio's `0.0.0.0_80`: for every HTTP port P of the
 * services a sidecar sees — ServiceEntry hosts (`httpbin.org`, resolution DNS, no addresses) as
 * well as Kubernetes Services — one listener that binds nothing and that `virtualOutbound` hands a
 * captured connection to port P when no listener stands for its exact address (a ClusterIP, a
 * headless Service's pod, a ServiceEntry address). Its routes pick the service by Host among the
 * virtual hosts of every service on port P (the same route objects as the scope's outbound
 * routes), and a Host no service has goes where the outbound routes send one: `allow_any`
 * (PassthroughCluster, the connection's original destination) under ALLOW_ANY, `block_all` (502)
 * under REGISTRY_ONLY.
 *
 * A Host names a service on that port with or without `:P` (Istio's per-port route configs take
 * both), since the connection already says which port it went to. Headless Services are left out:
 * their pods' own listeners (`sidecar-headless.ts`) stand for their addresses, and Istio's route to
 * a headless Service goes to the address the app dialled, never balanced to another pod.
 */
import { isHttpProtocol } from '../../registry/protocol.js';
import type { RouteConfig, VirtualHost } from '../../snapshot/index.js';
import { httpListenerOptions } from './http-listener.js';
import type { ConfigIndex } from './push-context.js';
import type { SharedSidecarPart } from './sidecar-shared.js';
import type { CaptureListenerSet } from './types.js';

/** Every address: the listener takes a port's connections whatever address they went to. */
const ANY_ADDRESS = '0.0.0.0';
/** The outbound routes' last virtual hosts, for a Host outside the registry (`sidecar-outbound.ts`). */
const FALLBACK_VHOSTS = new Set(['allow_any', 'block_all']);

/** The listeners' names: Istio's, the any-address and the port. */
export function portListenerName(port: number): string {
  return `${ANY_ADDRESS}_${port}`;
}

/**
 * The per-port listeners of the services `part`'s sidecars see, with `:P` targets, which the capture
 * hand-off takes when no `address:P` target matches.
 */
export function portListeners(index: ConfigIndex, part: SharedSidecarPart): CaptureListenerSet {
  const out: CaptureListenerSet = { listeners: [], routes: [], targets: [] };
  const outbound = part.routes[0];
  const vhostsByName = new Map(outbound.virtualHosts.map((v) => [v.name, v]));
  const fallback = outbound.virtualHosts.filter((v) => FALLBACK_VHOSTS.has(v.name));
  // Port → the virtual hosts of its HTTP services, in the outbound routes' order (first claims a domain).
  const byPort = new Map<number, VirtualHost[]>();
  for (const svc of part.scope.services) {
    // A headless Service's clients dial its pods, each of which has a listener of its own; an
    // address that is no ready pod's is outside the registry, as it is without this listener.
    if (svc.headless === true) continue;
    for (const port of svc.ports) {
      if (!isHttpProtocol(port.protocol)) continue;
      const vhost = vhostsByName.get(`${svc.hostname}:${port.port}`);
      if (vhost === undefined) continue;
      let list = byPort.get(port.port);
      if (list === undefined) byPort.set(port.port, (list = []));
      if (!list.includes(vhost)) list.push(vhost);
    }
  }
  for (const [port, vhosts] of [...byPort].sort((a, b) => a[0] - b[0])) {
    const name = portListenerName(port);
    const route: RouteConfig = { name: String(port), virtualHosts: [...portVirtualHosts(vhosts, port), ...fallback] };
    out.routes.push(route);
    out.listeners.push({ name, address: ANY_ADDRESS, port, direction: 'outbound', protocol: 'http', bindToPort: false, http: httpListenerOptions(index.mesh, route.name) });
    out.targets.push({ destination: `:${port}`, listener: name });
  }
  return out;
}

/**
 * The virtual hosts of one port with each name taken with and without `:port`; a domain an earlier
 * virtual host already has is left to it (the router refuses a domain twice).
 */
function portVirtualHosts(vhosts: readonly VirtualHost[], port: number): VirtualHost[] {
  const suffix = `:${port}`;
  const taken = new Set<string>();
  const out: VirtualHost[] = [];
  for (const v of vhosts) {
    const domains: string[] = [];
    for (const d of v.domains) {
      const bare = d.endsWith(suffix) ? d.slice(0, -suffix.length) : d;
      for (const name of [bare, `${bare}${suffix}`]) {
        const key = name.toLowerCase();
        if (taken.has(key)) continue;
        taken.add(key);
        domains.push(name);
      }
    }
    if (domains.length > 0) out.push({ ...v, domains });
  }
  return out;
}
