/**
 * PeerAuthentication resolved as Istio composes it for one workload: the mesh-wide policy (the
 * root namespace's, without selector), overridden by its namespace's (without selector), then by
 * the oldest workload policy whose selector matches it, whose `portLevelMtls` then overrides the
 * mode per container port. UNSET inherits from the level above; with no policy at all the mode is
 * PERMISSIVE. When several policies compete at one level the oldest wins, as in Istio.
 */
import type { PeerAuthenticationSpec } from '../../api/kinds/security/peer-authentication.js';
import { labelsMatch } from '../../registry/select.js';
import { ALPN, type FilterChainConfig, type ListenerConfig, type ServerTlsConfig } from '../../snapshot/index.js';
import type { ConfigIndex, PeerAuthenticationEntry } from './push-context.js';

/** The modes a listener enforces (UNSET is resolved away). */
export type MtlsMode = 'DISABLE' | 'PERMISSIVE' | 'STRICT';

/** Istio's mode with no PeerAuthentication at all. */
export const DEFAULT_MTLS_MODE: MtlsMode = 'PERMISSIVE';

/** The composed policy of one workload. */
export interface WorkloadPeerAuthentication {
  /** The mode of every port not named in `ports`. */
  mode: MtlsMode;
  /** Container port → its own mode (the workload policy's `portLevelMtls`). */
  ports: ReadonlyMap<number, MtlsMode>;
}

type Mode = NonNullable<NonNullable<PeerAuthenticationSpec['mtls']>['mode']>;

function resolved(mode: Mode | undefined, inherited: MtlsMode): MtlsMode {
  return mode === undefined || mode === 'UNSET' ? inherited : mode;
}

function isWide(pa: PeerAuthenticationEntry): boolean {
  return Object.keys(pa.spec.selector?.matchLabels ?? {}).length === 0;
}

/** The oldest namespace-wide policy of `namespace` (the list is oldest first). */
function wideIn(index: ConfigIndex, namespace: string): PeerAuthenticationEntry | undefined {
  return index.peerAuthentications.find((pa) => pa.namespace === namespace && isWide(pa));
}

/**
 * The mode the mesh-wide and namespace-wide policies give `namespace`, without any workload
 * policy: what a client infers for a destination service under automatic mTLS (Istio's
 * best-effort service mTLS mode, which reads no workload-level policy).
 */
export function namespaceMtlsMode(index: ConfigIndex, namespace: string): MtlsMode {
  const root = index.mesh.rootNamespace;
  const mesh = resolved(wideIn(index, root)?.spec.mtls?.mode, DEFAULT_MTLS_MODE);
  if (namespace === root) return mesh;
  return resolved(wideIn(index, namespace)?.spec.mtls?.mode, mesh);
}

/** The policy in force for a workload of `namespace` with `labels`. */
export function workloadPeerAuthentication(index: ConfigIndex, namespace: string, labels: Readonly<Record<string, string>>): WorkloadPeerAuthentication {
  const inherited = namespaceMtlsMode(index, namespace);
  const selected = index.peerAuthentications.find((pa) => pa.namespace === namespace && !isWide(pa) && labelsMatch(pa.spec.selector?.matchLabels ?? {}, labels));
  if (selected === undefined) return { mode: inherited, ports: new Map() };
  const mode = resolved(selected.spec.mtls?.mode, inherited);
  const ports = new Map<number, MtlsMode>();
  for (const [port, mtls] of Object.entries(selected.spec.portLevelMtls ?? {})) ports.set(Number(port), resolved(mtls.mode, mode));
  return { mode, ports };
}

/** The mode of one container port. */
export function portMtlsMode(policy: WorkloadPeerAuthentication, containerPort: number): MtlsMode {
  return policy.ports.get(containerPort) ?? policy.mode;
}

/**
 * The filter chains of an inbound listener under `mode`: none for DISABLE (every connection served
 * as it arrives, the listener's default), else one chain terminating Istio mutual TLS with the
 * workload certificate, verifying the client's chain against the mesh root — PERMISSIVE also
 * serves plaintext on the same port, STRICT resets it. TCP chains select Istio's in-mesh ALPN;
 * HTTP chains `h2` and `http/1.1`, which the clients' `istio-h2` / `istio-http/1.1` lists carry.
 */
export function inboundFilterChains(mode: MtlsMode, protocol: ListenerConfig['protocol']): FilterChainConfig[] | undefined {
  if (mode === 'DISABLE') return undefined;
  const tls: ServerTlsConfig = { mode: 'ISTIO_MUTUAL' };
  if (protocol === 'tcp') tls.alpn = [...ALPN.inMesh];
  return [{ name: mode === 'STRICT' ? 'mtls' : 'permissive', transport: { mode, tls } }];
}
