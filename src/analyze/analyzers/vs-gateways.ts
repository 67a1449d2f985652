/**
 * Gateways a VirtualService names must exist (IST0101 "gateway"), and each must expose at least
 * one of the VirtualService's hosts (IST0132), as Istio's GatewayAnalyzer checks.
 */
import type { GatewaySpec } from '../../api/kinds/networking/gateway.js';
import type { LoadedResource } from '../../config/finding.js';
import type { Analyzer } from '../context.js';
import { NETWORKING, fullName, namespaceOf } from '../context.js';
import { hostsOverlap } from '../hosts.js';
import { MessageTypes, text } from '../messages.js';
import { MESH_GATEWAY, gatewayRefsOf, resolveGatewayName, vsSpec } from './vs-util.js';

export const vsGateways: Analyzer = {
  name: 'virtualservice.GatewayAnalyzer',
  description: 'Checks the gateways associated with each virtual service',
  analyze(ctx) {
    const gateways = new Map<string, LoadedResource>();
    for (const lr of ctx.all(NETWORKING, 'Gateway')) gateways.set(fullName(lr.resource), lr);
    for (const lr of ctx.all(NETWORKING, 'VirtualService')) {
      const spec = vsSpec(lr);
      const ns = namespaceOf(lr.resource);
      const reported = new Set<string>();
      for (const ref of gatewayRefsOf(spec)) {
        if (ref.name === MESH_GATEWAY) continue;
        const { namespace, name } = resolveGatewayName(ref.name, ns);
        const key = `${namespace}/${name}`;
        const gw = gateways.get(key);
        if (!gw) {
          if (!reported.has(key)) ctx.report(MessageTypes.ReferencedResourceNotFound, lr, text.referencedResourceNotFound('gateway', ref.name), ref.path);
          reported.add(key);
          continue;
        }
        // Host coverage is about the VirtualService's own host list, so only top-level references are checked.
        if (ref.path[1] !== 'gateways' || reported.has(key)) continue;
        reported.add(key);
        const hosts = spec.hosts ?? [];
        if (hosts.length > 0 && !gatewayExposes(gw, hosts, ns)) {
          ctx.report(MessageTypes.VirtualServiceHostNotFoundInGateway, lr, text.hostNotFoundInGateway(hosts, fullName(lr.resource), key), ref.path);
        }
      }
    }
  },
};

/**
 * Whether any server host of the Gateway (`[namespace/]dnsName`; `./` is the Gateway's namespace,
 * `*\/` any namespace) visible to the VirtualService's namespace overlaps one of `vsHosts`.
 */
function gatewayExposes(gw: LoadedResource, vsHosts: readonly string[], vsNamespace: string): boolean {
  const spec = gw.resource.spec as GatewaySpec;
  const gwNs = namespaceOf(gw.resource);
  for (const server of spec.servers ?? []) {
    for (const entry of server.hosts) {
      const slash = entry.indexOf('/');
      const scope = slash >= 0 ? entry.slice(0, slash) : '*';
      const host = slash >= 0 ? entry.slice(slash + 1) : entry;
      const ns = scope === '.' ? gwNs : scope;
      if (ns !== '*' && ns !== vsNamespace) continue;
      if (vsHosts.some((h) => hostsOverlap(host, h))) return true;
    }
  }
  return false;
}
