/**
 * Two VirtualServices for sidecars (the `mesh` gateway) must not define the same host in the
 * same scope (IST0109): Istio cannot merge them and which one wins is undefined. VirtualServices
 * bound to other gateways are merged by Istio, so they are not reported.
 */
import type { LoadedResource } from '../../config/finding.js';
import type { Analyzer } from '../context.js';
import { NETWORKING, fullName, namespaceOf } from '../context.js';
import { toFqdn } from '../hosts.js';
import { MessageTypes, text } from '../messages.js';
import { appliesToMesh, vsSpec } from './vs-util.js';

export const vsMeshConflicts: Analyzer = {
  name: 'virtualservice.ConflictingMeshGatewayHostsAnalyzer',
  description: 'Checks if multiple virtual services associated with the mesh gateway have conflicting hosts',
  analyze(ctx) {
    // Key: the namespaces the host is visible in (or `*`) plus the fully qualified host.
    const byScopedHost = new Map<string, { host: string; list: LoadedResource[] }>();
    for (const lr of ctx.all(NETWORKING, 'VirtualService')) {
      const spec = vsSpec(lr);
      if (!appliesToMesh(spec)) continue;
      const ns = namespaceOf(lr.resource);
      const exportTo = spec.exportTo ?? [];
      const scopes = exportTo.length === 0 || exportTo.includes('*') ? ['*'] : [...new Set(exportTo.map((e) => (e === '.' ? ns : e)))];
      for (const scope of scopes) {
        for (const h of new Set((spec.hosts ?? []).map((h) => toFqdn(h, ns)))) {
          const key = `${scope}/${h}`;
          const entry = byScopedHost.get(key) ?? { host: h, list: [] };
          entry.list.push(lr);
          byScopedHost.set(key, entry);
        }
      }
    }
    for (const { host, list } of byScopedHost.values()) {
      if (list.length < 2) continue;
      const names = list.map((lr) => fullName(lr.resource)).join(',');
      for (const lr of list) ctx.report(MessageTypes.ConflictingMeshGatewayVirtualServiceHosts, lr, text.conflictingMeshGatewayHosts(names, host));
    }
  },
};
