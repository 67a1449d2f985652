/**
 * The proxy's check of a snapshot: the contract's validation (`src/snapshot`) with every route
 * config compiled into the route table the listeners will serve, and every TLS setting compiled
 * (certificates read and checked, secure contexts built), so nothing can fail while applying it.
 */
import { ALPN, RouteConfigError, SnapshotError, validateSnapshot, type ValidSnapshot } from '../snapshot/index.js';
import { AuthzEngine } from './filters/authz/engine.js';
import type { HttpFilter } from './filters/http-filter.js';
import { jwtFilter } from './filters/jwt/jwt-filter.js';
import { compileRouteConfig, type RouteTable } from './http/route/compile.js';
import type { ServerTls } from './listener/server-tls.js';
import { compileServerTls } from './listener/server-tls.js';
import { CompiledCache } from './tls/compiled-cache.js';
import { WorkloadSecrets } from './tls/workload-secrets.js';
import type { UpstreamTls } from './upstream/upstream-tls.js';
import { compileUpstreamTls } from './upstream/upstream-tls.js';

/** A validated snapshot with its route tables and TLS compiled. */
export interface CheckedSnapshot extends ValidSnapshot<RouteTable> {
  /** Per cluster name, the TLS it originates (clusters in plaintext have none). */
  upstreamTls: Map<string, UpstreamTls>;
  /** Per listener name, per filter chain name, the TLS the chain terminates. */
  serverTls: Map<string, Map<string, ServerTls>>;
  /** The snapshot's authorization policies compiled for HTTP requests and for TCP connections; null without any. */
  authz: { http: AuthzEngine; tcp: AuthzEngine } | null;
  /** The JWT filter of the snapshot's RequestAuthentication rules (one for every server-side listener, sharing its cache); null without rules. */
  jwt: HttpFilter | null;
}

/** How long a client has to complete a TLS handshake with a listener. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** What TLS is compiled with: the proxy's identity, and what earlier snapshots compiled. */
export class TlsCompiler {
  readonly upstream = new CompiledCache<UpstreamTls>();
  readonly server = new CompiledCache<ServerTls>();
  constructor(readonly secrets: WorkloadSecrets = new WorkloadSecrets()) {}
}

/**
 * Validates a snapshot (as parsed from JSON) and compiles its route tables and TLS; throws
 * `SnapshotError`. `tls` carries the proxy's identity and reuses what earlier checks compiled.
 */
export function checkSnapshot(input: unknown, tls: TlsCompiler = new TlsCompiler()): CheckedSnapshot {
  const valid = validateSnapshot(input, compileRouteConfig);
  const { snapshot } = valid;
  const named = new Map((snapshot.secrets ?? []).map((s) => [s.name, s]));
  const upstreamTls = new Map<string, UpstreamTls>();
  snapshot.clusters.forEach((c, i) => {
    if (c.tls === undefined) return;
    const compiled = compileUpstreamTls(c.tls, `clusters[${i}].tls`, tls.secrets, tls.upstream, named);
    if (compiled !== null) upstreamTls.set(c.name, compiled);
  });
  const serverTls = new Map<string, Map<string, ServerTls>>();
  snapshot.listeners.forEach((l, i) => {
    const chains = new Map<string, ServerTls>();
    l.filterChains?.forEach((chain, j) => {
      const config = chain.transport?.tls;
      if (config === undefined) return;
      const protocol = chain.protocol ?? l.protocol;
      const at = `listeners[${i}].filterChains[${j}].transport.tls`;
      chains.set(chain.name, compileServerTls(config, at, protocol === 'tcp' ? [] : ALPN.http, tls.secrets, tls.server, TLS_HANDSHAKE_TIMEOUT_MS, named));
    });
    if (chains.size > 0) serverTls.set(l.name, chains);
  });
  const rules = snapshot.requestAuthentication;
  return { ...valid, upstreamTls, serverTls, authz: compileAuthz(snapshot.authorization), jwt: rules === undefined || rules.rules.length === 0 ? null : jwtFilter(rules) };
}

function compileAuthz(config: CheckedSnapshot['snapshot']['authorization']): CheckedSnapshot['authz'] {
  if (config === undefined || config.policies.length === 0) return null;
  try {
    return { http: new AuthzEngine(config, 'http'), tcp: new AuthzEngine(config, 'tcp') };
  } catch (err) {
    if (err instanceof RouteConfigError) throw new SnapshotError(`authorization.${err.path}`, err.reason);
    throw err;
  }
}
