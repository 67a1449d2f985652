/**
 * Host names as Istio resolves them: short names are relative to the namespace of the resource
 * that writes them (`reviews` in `default` is `reviews.default.svc.cluster.local`), wildcards
 * (`*.example.com`) overlap the names they cover, and `exportTo` limits where a host is visible.
 * Also the index of the hosts the set provides (Services and ServiceEntries).
 */
import type { ServiceSpec } from '../api/kinds/kube/core.js';
import type { ServiceEntrySpec } from '../api/kinds/networking/service-entry.js';
import type { LoadedResource } from '../config/finding.js';
import type { AnalysisContext} from './context.js';
import { CORE, NETWORKING, namespaceOf } from './context.js';
import { BUILTIN_SERVICES } from './builtins.js';

export const CLUSTER_DOMAIN = 'cluster.local';

/** Istio's ConvertHostToFQDN: names with a dot (or wildcards) are already fully qualified. */
export function toFqdn(host: string, namespace: string): string {
  if (host.includes('.') || host.includes('*')) return host;
  return `${host}.${namespace}.svc.${CLUSTER_DOMAIN}`;
}

export function serviceFqdn(name: string, namespace: string): string {
  return `${name}.${namespace}.svc.${CLUSTER_DOMAIN}`;
}

/** True when two host names (either may be a `*.suffix` wildcard, or `*`) have a name in common. */
export function hostsOverlap(a: string, b: string): boolean {
  const aWild = a.startsWith('*');
  const bWild = b.startsWith('*');
  if (aWild && bWild) {
    const as = a.slice(1);
    const bs = b.slice(1);
    return as.length < bs.length ? bs.endsWith(as) : as.endsWith(bs);
  }
  if (aWild) return b.endsWith(a.slice(1));
  if (bWild) return a.endsWith(b.slice(1));
  return a === b;
}

/**
 * Whether something in `ownerNs` exported to `exportTo` is visible from `viewerNs`
 * (absent or empty exportTo, and `*`, mean every namespace; `.` means the owner's own).
 */
export function isVisible(exportTo: readonly string[] | undefined, ownerNs: string, viewerNs: string): boolean {
  if (exportTo === undefined || exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || (e === '.' ? ownerNs === viewerNs : e === viewerNs));
}

/** A host some resource provides, with the ports it serves. */
export interface ProvidedHost {
  host: string;
  namespace: string;
  exportTo?: readonly string[];
  ports: readonly number[];
  /** The Service or ServiceEntry that provides it (absent for hosts Skiff's runtime provides). */
  provider?: LoadedResource;
}

/** Every host the set provides, plus the ones Skiff's runtime always provides. */
export function providedHosts(ctx: AnalysisContext): ProvidedHost[] {
  const out: ProvidedHost[] = BUILTIN_SERVICES.map((s) => ({ host: serviceFqdn(s.name, s.namespace), namespace: s.namespace, ports: s.ports }));
  for (const lr of ctx.all(CORE, 'Service')) {
    const r = lr.resource;
    const spec = r.spec as ServiceSpec;
    const exportAnnotation = r.metadata.annotations?.['networking.istio.io/exportTo'];
    const exportTo = exportAnnotation?.split(',').map((s) => s.trim()).filter((s) => s !== '');
    out.push({
      host: serviceFqdn(r.metadata.name, namespaceOf(r)),
      namespace: namespaceOf(r),
      ...(exportTo ? { exportTo } : {}),
      ports: (spec.ports ?? []).map((p) => p.port),
      provider: lr,
    });
  }
  for (const lr of ctx.all(NETWORKING, 'ServiceEntry')) {
    const spec = lr.resource.spec as ServiceEntrySpec;
    const ns = namespaceOf(lr.resource);
    for (const h of spec.hosts) {
      out.push({
        host: toFqdn(h, ns),
        namespace: ns,
        ...(spec.exportTo ? { exportTo: spec.exportTo } : {}),
        ports: (spec.ports ?? []).map((p) => p.number),
        provider: lr,
      });
    }
  }
  return out;
}

/**
 * The provider of `host` (as written in a resource in `viewerNs`), if any: an exact name first,
 * then a wildcard ServiceEntry host covering it, as Istio's analyzers look hosts up.
 */
export function findHost(hosts: readonly ProvidedHost[], host: string, viewerNs: string): ProvidedHost | undefined {
  const fqdn = toFqdn(host, viewerNs);
  const visible = hosts.filter((h) => isVisible(h.exportTo, h.namespace, viewerNs));
  const exact = visible.find((h) => h.host === fqdn);
  if (exact) return exact;
  const bare = fqdn.startsWith('*') ? fqdn.slice(1) : fqdn;
  return visible.find((h) => h.host.startsWith('*') && bare.endsWith(h.host.slice(1)));
}
