/**
 * Which proxy is asking: from a connected proxy's hello to the translation's target. A sidecar
 * is the workload instance whose `sidecar.proxyId` is the proxy's node id; a gateway is the one
 * the runtime runs with that id, else (a gateway started by hand, or a gateway pod on
 * Kubernetes) described by its hello, listening on `handStartedGatewayAddress`.
 */
import type { ConnectedProxy } from './push/types.js';
import type { RegistrySnapshot, WorkloadInstance } from '../registry/types.js';
import type { GatewayTarget as RuntimeGateway } from '../registry/workload-provider.js';
import type { ProxyTarget } from './translate/types.js';
import { gatewayPortMap } from './translate/types.js';

/** Workload instances by sidecar proxy id, per registry snapshot (a push looks up every proxy in one). */
const byId = new WeakMap<RegistrySnapshot, Map<string, WorkloadInstance>>();

function sidecarsById(registry: RegistrySnapshot): Map<string, WorkloadInstance> {
  let map = byId.get(registry);
  if (map === undefined) {
    map = new Map();
    // The first instance with an id wins, as the linear search it replaces did.
    for (const w of registry.workloads) if (w.sidecar !== undefined && !map.has(w.sidecar.proxyId)) map.set(w.sidecar.proxyId, w);
    byId.set(registry, map);
  }
  return map;
}

/**
 * Where a gateway skiffd does not run listens by default: loopback, so that one started by hand
 * on a developer's machine is not exposed to its network.
 */
export const HAND_STARTED_GATEWAY_ADDRESS = '127.0.0.1';

/** The translation target for `proxy`; throws (the push server reports it) when none fits. */
export function proxyTarget(proxy: ConnectedProxy, registry: RegistrySnapshot, gateways: readonly RuntimeGateway[], handStartedGatewayAddress = HAND_STARTED_GATEWAY_ADDRESS): ProxyTarget {
  if (proxy.node.kind === 'gateway') {
    const known = gateways.find((g) => g.id === proxy.id);
    if (known !== undefined) {
      return { kind: 'gateway', id: known.id, name: known.name, namespace: known.namespace, labels: known.labels, listenAddress: known.listenAddress, portMap: known.portMap };
    }
    const w = proxy.node.workload;
    if (w === undefined) throw new Error(`gateway ${proxy.id} is not run by skiffd and its hello names no workload (name, namespace, labels)`);
    return {
      kind: 'gateway',
      id: proxy.id,
      name: w.name,
      namespace: w.namespace,
      labels: w.labels,
      serviceAccount: w.serviceAccount,
      listenAddress: handStartedGatewayAddress,
      portMap: gatewayPortMap(),
    };
  }
  const workload = sidecarsById(registry).get(proxy.id);
  if (workload === undefined) throw new Error(`no workload instance in the registry has a sidecar with proxy id ${proxy.id}`);
  return { kind: 'sidecar', id: proxy.id, workload };
}
