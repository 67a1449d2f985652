/**
 * Where a request was headed before the sidecar took it. With iptables capture Envoy reads this from
 * the socket (SO_ORIGINAL_DST); in the local runtime the app names it itself, in the absolute-form
 * request line or the CONNECT target, so the authority is the original destination.
 */
import type { Cluster } from './cluster.js';
import type { PickContext } from './types.js';

/** `host:port` (IPv6 in brackets) to address and port; `defaultPort` when the authority names none. */
export function authorityTarget(authority: string, defaultPort: number): { address: string; port: number } {
  let host = authority;
  let port = defaultPort;
  const close = authority.lastIndexOf(']');
  const colon = authority.lastIndexOf(':');
  if (colon > close) {
    const n = Number(authority.slice(colon + 1));
    if (Number.isInteger(n) && n > 0 && n < 65536) port = n;
    host = authority.slice(0, colon);
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { address: host, port };
}

/**
 * The pick context for `cluster`: `base` as it is, plus the original destination when the cluster is
 * a PASSTHROUGH one (ALLOW_ANY outbound traffic, ServiceEntry with `resolution: NONE`): the
 * captured connection's own (`captured`, as Envoy's ORIGINAL_DST cluster reads the downstream
 * connection's restored address, whatever the Host), else the authority the app named.
 */
export function withOriginalDestination(cluster: Cluster, base: PickContext, authority: string, defaultPort: number, captured: { readonly address: string; readonly port: number } | null = null): PickContext {
  if (cluster.config.discovery !== 'original-dst') return base;
  return { ...base, originalDestination: captured ?? authorityTarget(authority, defaultPort) };
}
