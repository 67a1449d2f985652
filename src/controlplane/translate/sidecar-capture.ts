/**
 * The capture listeners of a sidecar whose pod's traffic iptables redirects (`SidecarInfo.capture`,
 * an injected Kubernetes pod), as Istio writes them for Envoy:
 *
 * - `virtualOutbound` on 0.0.0.0:15001, where the app's connections arrive, hands each by its
 *   original destination to a listener that binds no port and stands for one Service
 *   `ClusterIP:port` (Istio's `10.96.0.50_9080`), which routes it as the outbound routes route that
 *   service port — HTTP ports by the port's virtual host (its VirtualService), under any Host, since
 *   the destination already names the service; opaque ports by its TCP destinations. A connection
 *   to any other address on an HTTP port of a visible service (a ServiceEntry host's, which has no
 *   address of its own) goes to that port's listener, `0.0.0.0_80`, which routes by Host among the
 *   services on the port (`sidecar-port-listeners.ts`): an unknown Host passes through to the
 *   original destination under ALLOW_ANY and gets a 502 under REGISTRY_ONLY. A connection to any
 *   other port goes where it was going (PassthroughCluster) under ALLOW_ANY, or is closed
 *   (BlackHoleCluster) under REGISTRY_ONLY.
 * - `virtualInbound` on 0.0.0.0:15006, where connections to the pod arrive, hands each by its
 *   destination port to the inbound listener of that container port (`sidecar-inbound.ts`); a port
 *   no listener takes goes to the app as it was addressed (InboundPassthroughCluster, an
 *   original-destination cluster leaving from 127.0.0.6, so the capture rules do not send it back
 *   to 15006), under the workload's PeerAuthentication mode.
 *
 * `virtualOutbound` also targets a listener per address (IP or CIDR block) and TCP port of each
 * visible ServiceEntry with `addresses` (`sidecar-entry-addresses.ts`), and a listener per pod and
 * port of each visible headless Service (`sidecar-headless.ts`), whose clients dial the pods'
 * addresses themselves.
 *
 * The ClusterIP, ServiceEntry address, pod and per-port listeners depend only on what a sidecar
 * sees, so they are built once per shared sidecar part and handed to every sidecar of that scope as
 * the same objects, as are the pods' clusters, which follow the scope's outbound clusters in one
 * shared list.
 */
import type { ClusterConfigInput, ListenerConfig, RouteConfig } from '../../snapshot/index.js';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER } from './clusters.js';
import { inboundFilterChains, workloadPeerAuthentication } from './peer-authentication.js';
import type { ConfigIndex } from './push-context.js';
import { inboundSourceFor } from './sidecar-inbound.js';
import { entryAddressListeners } from './sidecar-entry-addresses.js';
import { headlessListeners } from './sidecar-headless.js';
import { servicePortListener } from './sidecar-local-services.js';
import { portListeners } from './sidecar-port-listeners.js';
import { OUTBOUND_LISTENER } from './sidecar-outbound.js';
import type { SharedSidecarPart } from './sidecar-shared.js';
import type { CaptureListenerSet, SidecarTarget } from './types.js';

export const VIRTUAL_OUTBOUND = OUTBOUND_LISTENER;
export const VIRTUAL_INBOUND = 'virtualInbound';
export const INBOUND_PASSTHROUGH_CLUSTER = 'InboundPassthroughCluster';

/** Every address the capture listeners bind (the rules redirect to the port, whatever the destination). */
const ANY_ADDRESS = '0.0.0.0';

interface CapturedServiceListeners extends CaptureListenerSet {
  /** The scope's outbound clusters, then the clusters of the headless Services' pods. */
  clusters: readonly ClusterConfigInput[];
  /** `virtualOutbound` and the listeners above, by the outbound capture port: one list per scope. */
  outboundByPort: Map<number, readonly ListenerConfig[]>;
}

const byPart = new WeakMap<SharedSidecarPart, CapturedServiceListeners>();

/**
 * A listener per visible Kubernetes Service ClusterIP and port, then per ServiceEntry address and
 * TCP port, per pod and port of each visible headless Service, and per HTTP port, with the capture
 * targets naming them.
 */
function capturedServiceListeners(index: ConfigIndex, part: SharedSidecarPart): CapturedServiceListeners {
  let out = byPart.get(part);
  if (out !== undefined) return out;
  out = { listeners: [], routes: [], targets: [], clusters: part.clusters, outboundByPort: new Map() };
  const outbound = part.routes[0];
  const seen = new Set<string>();
  for (const svc of part.scope.services) {
    if (svc.source !== 'kubernetes' || svc.clusterIPs === undefined) continue;
    for (const ip of svc.clusterIPs) {
      for (const port of svc.ports) {
        const destination = ip.includes(':') ? `[${ip}]:${port.port}` : `${ip}:${port.port}`;
        // One address:port is one Service's; a second claiming it (a misconfigured registry) is left out.
        if (seen.has(destination)) continue;
        const name = `${ip}_${port.port}`;
        const built = servicePortListener(index, outbound, svc, port.port, { name, address: ip, port: port.port, bindToPort: false, routePrefix: 'captured' });
        if (built === undefined) continue;
        seen.add(destination);
        out.listeners.push(built.listener);
        if (built.route !== undefined) out.routes.push(built.route);
        out.targets.push({ destination, listener: name });
      }
    }
  }
  // In this order: ServiceEntry addresses, then pods (each claims what is not yet `seen`), and last
  // what any other address on an HTTP port falls back to, routed by Host.
  const entries = entryAddressListeners(index, part, seen);
  const pods = headlessListeners(index, part, seen);
  if (pods.clusters.length > 0) out.clusters = [...part.clusters, ...pods.clusters];
  for (const set of [entries, pods, portListeners(index, part)]) {
    out.listeners.push(...set.listeners);
    out.routes.push(...set.routes);
    out.targets.push(...set.targets);
  }
  byPart.set(part, out);
  return out;
}

export interface CaptureListeners {
  /**
   * `virtualOutbound` and the listeners it hands connections to: the same list for every sidecar of
   * one scope (and capture port), so the push encodes it once.
   */
  sharedListeners: readonly ListenerConfig[];
  /** `virtualInbound`. */
  listeners: ListenerConfig[];
  /** Those listeners' route configs: the same list for every sidecar of one scope. */
  routes: readonly RouteConfig[];
  /** The scope's outbound clusters and its headless Services' pod clusters: the same list for every sidecar of one scope. */
  sharedClusters: readonly ClusterConfigInput[];
  clusters: ClusterConfigInput[];
}

/**
 * The capture listeners of a captured sidecar, given its shared part and its inbound listeners
 * (which `virtualInbound` targets by port).
 */
export function buildCaptureListeners(index: ConfigIndex, target: SidecarTarget, part: SharedSidecarPart, inbound: readonly ListenerConfig[]): CaptureListeners {
  const w = target.workload;
  const sidecar = w.sidecar!;
  const capture = sidecar.capture!;
  const ips = capturedServiceListeners(index, part);
  let sharedListeners = ips.outboundByPort.get(sidecar.outboundPort);
  if (sharedListeners === undefined) {
    const fallback = part.scope.outboundTrafficPolicy === 'REGISTRY_ONLY' ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER;
    const virtualOutbound: ListenerConfig = {
      name: VIRTUAL_OUTBOUND,
      address: ANY_ADDRESS,
      port: sidecar.outboundPort,
      direction: 'outbound',
      protocol: 'tcp',
      tcp: { routes: [{ destinations: [{ cluster: fallback, weight: 100 }] }] },
      capture: { targets: ips.targets },
    };
    sharedListeners = [virtualOutbound, ...ips.listeners];
    ips.outboundByPort.set(sidecar.outboundPort, sharedListeners);
  }
  const virtualInbound: ListenerConfig = {
    name: VIRTUAL_INBOUND,
    address: ANY_ADDRESS,
    port: capture.inboundPort,
    direction: 'inbound',
    protocol: 'tcp',
    tcp: { routes: [{ destinations: [{ cluster: INBOUND_PASSTHROUGH_CLUSTER, weight: 100 }] }] },
    capture: { targets: inbound.map((l) => ({ destination: `:${l.port}`, listener: l.name })) },
  };
  // A port no inbound listener takes is still the workload's: its PeerAuthentication mode applies.
  const chains = inboundFilterChains(workloadPeerAuthentication(index, w.namespace, w.labels).mode, 'tcp');
  if (chains !== undefined) virtualInbound.filterChains = chains;
  const passthrough: ClusterConfigInput = { name: INBOUND_PASSTHROUGH_CLUSTER, discovery: 'original-dst', protocol: 'tcp', upstreamBindAddress: inboundSourceFor(w.address) };
  return { sharedListeners, listeners: [virtualInbound], routes: ips.routes, sharedClusters: ips.clusters, clusters: [passthrough] };
}
