/**
 * Host names as Istio compares them: short names made fully qualified relative to the namespace
 * of the resource that writes them, `*.suffix` wildcards, `exportTo` visibility, and the
 * `namespace/host` form of Gateway servers and Sidecar egress hosts.
 */

/** Istio's ConvertHostToFQDN: a name without dots (and not a wildcard) is `name.ns.svc.<suffix>`. */
export function toFqdn(host: string, namespace: string, domainSuffix: string): string {
  if (host.includes('.') || host.includes('*')) return host;
  return `${host}.${namespace}.svc.${domainSuffix}`;
}

/** True when `pattern` (exact, `*.suffix` or `*`) covers the concrete or wildcard `host`. */
export function hostCovers(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*')) {
    const suffix = pattern.slice(1);
    // `*.example.com` covers `a.example.com` and the narrower wildcard `*.a.example.com`.
    return host.startsWith('*') ? host.slice(1).endsWith(suffix) : host.endsWith(suffix) && host.length > suffix.length;
  }
  return pattern === host;
}

/**
 * The hosts two names have in common, as the narrower of the two, or undefined. Gateways use it
 * to intersect server hosts with VirtualService hosts (`*` ∩ `a.com` = `a.com`).
 */
export function hostIntersection(a: string, b: string): string | undefined {
  if (hostCovers(a, b)) return b;
  if (hostCovers(b, a)) return a;
  return undefined;
}

/** Length of the fixed part, so a longer match is the more specific one. */
export function specificity(host: string): number {
  if (host === '*') return 0;
  return host.startsWith('*') ? host.length - 1 : host.length + 1;
}

/**
 * Whether something in `ownerNs` exported to `exportTo` is visible from `viewerNs`
 * (absent or empty: everywhere; `*` all; `.` the owner's namespace; `~` nowhere).
 */
export function isExportedTo(exportTo: readonly string[] | undefined, ownerNs: string, viewerNs: string): boolean {
  if (exportTo === undefined || exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || (e === '.' ? ownerNs === viewerNs : e === viewerNs));
}

/** `ns/host` as Gateway servers and Sidecar egress hosts write it; a bare host is in any namespace. */
export interface NamespacedHost {
  /** `*` any namespace, `~` none, or a namespace name (`.` already resolved). */
  namespace: string;
  host: string;
}

/** Parses `ns/host`, resolving `.` to `ownNs`. */
export function parseNamespacedHost(value: string, ownNs: string): NamespacedHost {
  const slash = value.indexOf('/');
  if (slash < 0) return { namespace: '*', host: value };
  const ns = value.slice(0, slash);
  return { namespace: ns === '.' ? ownNs : ns, host: value.slice(slash + 1) };
}

/** True when the `ns/host` entry admits a host defined in namespace `ns`. */
export function namespacedHostAdmits(entry: NamespacedHost, namespace: string, host: string): boolean {
  if (entry.namespace === '~') return false;
  if (entry.namespace !== '*' && entry.namespace !== namespace) return false;
  return hostCovers(entry.host, host) || (host.startsWith('*') && hostCovers(host, entry.host));
}
