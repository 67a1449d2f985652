/**
 * A sidecar's inbound side: for every container port the workload exposes to the mesh, a
 * listener on its mesh port that forwards to the app's own port through an `inbound|port||`
 * cluster. The protocol is that of the Service port targeting the container port (HTTP routes,
 * opaque TCP, or detected per connection when undeclared or declared differently by two Services).
 * Its filter chains enforce the workload's PeerAuthentication per port (`peer-authentication.ts`).
 *
 * A captured sidecar (`SidecarInfo.capture`) takes the container port itself: its listeners bind
 * nothing and stand for the port on the inbound capture listener (`sidecar-capture.ts`), and its
 * clusters reach the app at the pod's address from `INBOUND_SOURCE_IPV4` — Istio's 127.0.0.6,
 * which the capture rules let through, where a connection from the proxy's uid to the pod's own
 * address would be redirected back to the inbound capture port.
 */
import type { ConnectionPoolSettings } from '../../api/kinds/networking/connection-pool.js';
import { isHttpProtocol, isOpaqueProtocol, type Protocol } from '../../registry/protocol.js';
import { containerPortFor, selects } from '../../registry/select.js';
import type { RouteConfig, ListenerConfig, ClusterConfigInput } from '../../snapshot/index.js';
import { clusterProtocol, inboundClusterName } from './clusters.js';
import { connectionPoolOf } from './destination-policy.js';
import { httpListenerOptions } from './http-listener.js';
import { inboundFilterChains, portMtlsMode, workloadPeerAuthentication } from './peer-authentication.js';
import type { ConfigIndex, SidecarEntry } from './push-context.js';
import type { MeshService } from './services.js';
import type { SidecarTarget } from './types.js';

/** The source address of a captured sidecar's connections to its app (Envoy's upstream bind address in Istio). */
export const INBOUND_SOURCE_IPV4 = '127.0.0.6';
export const INBOUND_SOURCE_IPV6 = '::6';

/** The source address a captured sidecar's inbound side connects to `address` from. */
export function inboundSourceFor(address: string): string {
  return address.includes(':') ? INBOUND_SOURCE_IPV6 : INBOUND_SOURCE_IPV4;
}

export interface SidecarInbound {
  listeners: ListenerConfig[];
  routes: RouteConfig[];
  clusters: ClusterConfigInput[];
}

/**
 * Kubernetes services by one `key=value` of their selector (the first key), and those with an
 * empty selector: the candidates for a workload are found through its own labels instead of by
 * testing every service, which a push would otherwise do for each of a thousand sidecars.
 */
interface SelectorIndex {
  byLabel: Map<string, MeshService[]>;
  selectAll: MeshService[];
}

const selectorIndexes = new WeakMap<ConfigIndex, SelectorIndex>();

function selectorIndex(index: ConfigIndex): SelectorIndex {
  let out = selectorIndexes.get(index);
  if (out === undefined) {
    out = { byLabel: new Map(), selectAll: [] };
    for (const svc of index.services) {
      if (svc.source !== 'kubernetes' || svc.selector === undefined) continue;
      const first = Object.keys(svc.selector).sort()[0];
      if (first === undefined) {
        out.selectAll.push(svc);
        continue;
      }
      const key = `${first}=${svc.selector[first]}`;
      const list = out.byLabel.get(key);
      if (list === undefined) out.byLabel.set(key, [svc]);
      else list.push(svc);
    }
    selectorIndexes.set(index, out);
  }
  return out;
}

/** The Kubernetes services that select the workload. */
function servicesSelecting(index: ConfigIndex, w: SidecarTarget['workload']): MeshService[] {
  const idx = selectorIndex(index);
  const out = idx.selectAll.filter((svc) => selects(svc, w));
  for (const [k, v] of Object.entries(w.labels)) {
    for (const svc of idx.byLabel.get(`${k}=${v}`) ?? []) if (selects(svc, w)) out.push(svc);
  }
  return out;
}

/** The protocol the Services selecting the workload declare for a container port. */
function inboundProtocol(index: ConfigIndex, target: SidecarTarget, containerPort: number): Protocol {
  const w = target.workload;
  const declared = new Set<Protocol>();
  for (const svc of servicesSelecting(index, w)) {
    for (const p of svc.ports) if (containerPortFor({ targetPort: p.targetPort ?? p.port }, w) === containerPort) declared.add(p.protocol);
  }
  return declared.size === 1 ? [...declared][0] : 'UNKNOWN';
}

/** Sidecar `ingress[].connectionPool` for the port, else `inboundConnectionPool`. */
function inboundPool(sidecar: SidecarEntry | undefined, containerPort: number): ConnectionPoolSettings | undefined {
  const spec = sidecar?.spec;
  return spec?.ingress?.find((i) => i.port.number === containerPort)?.connectionPool ?? spec?.inboundConnectionPool;
}

/**
 * `sidecar`: the Sidecar resource in force for the workload, if any (its `ingress` settings apply);
 * `withPolicies`: authorization policies apply, so each listener says which port they name.
 */
export function buildSidecarInbound(index: ConfigIndex, target: SidecarTarget, sidecar: SidecarEntry | undefined, withPolicies = false): SidecarInbound {
  const w = target.workload;
  const captured = w.sidecar?.capture !== undefined;
  const out: SidecarInbound = { listeners: [], routes: [], clusters: [] };
  const peerAuthentication = workloadPeerAuthentication(index, w.namespace, w.labels);
  const ports = Object.keys(w.meshPorts)
    .map(Number)
    .sort((a, b) => a - b);
  for (const cp of ports) {
    const meshPort = w.meshPorts[cp];
    const appPort = w.appPorts[cp];
    // Without interception (mesh port = app port, not captured) there is nothing to listen on.
    if (appPort === undefined || (meshPort === appPort && !captured)) continue;
    const protocol = inboundProtocol(index, target, cp);
    const cluster = inboundClusterName(cp);
    const c: ClusterConfigInput = {
      name: cluster,
      protocol: clusterProtocol(protocol),
      endpoints: [{ address: captured ? w.address : '127.0.0.1', port: appPort }],
      metadata: { serviceNamespace: w.namespace },
    };
    if (captured) c.upstreamBindAddress = inboundSourceFor(w.address);
    const pool = connectionPoolOf(inboundPool(sidecar, cp));
    if (pool !== undefined && Object.keys(pool).length > 0) c.connectionPool = pool;
    out.clusters.push(c);

    const listener: ListenerConfig = {
      name: `inbound_${cp}`,
      address: w.address,
      port: meshPort,
      direction: 'inbound',
      protocol: isHttpProtocol(protocol) ? 'http' : isOpaqueProtocol(protocol) ? 'tcp' : 'auto',
    };
    if (captured) listener.bindToPort = false;
    // Policies name the container port the mesh port stands for.
    if (withPolicies) listener.policyPort = cp;
    if (listener.protocol !== 'tcp') {
      listener.http = httpListenerOptions(index.mesh, cluster);
      out.routes.push({
        name: cluster,
        virtualHosts: [
          {
            name: `inbound|http|${cp}`,
            domains: ['*'],
            routes: [{ name: 'default', match: [], action: { type: 'route', destinations: [{ cluster, weight: 100 }] } }],
          },
        ],
      });
    }
    if (listener.protocol !== 'http') listener.tcp = { routes: [{ destinations: [{ cluster, weight: 100 }] }] };
    const chains = inboundFilterChains(portMtlsMode(peerAuthentication, cp), listener.protocol);
    if (chains !== undefined) listener.filterChains = chains;
    out.listeners.push(listener);
  }
  return out;
}
