/**
 * PeerAuthentication on a sidecar's inbound ports: the policies composed for the workload as
 * Istio composes them (`composePeerAuthentication`, beside the kind: mesh-wide in the root
 * namespace, then namespace, then the oldest matching workload policy and its `portLevelMtls`;
 * UNSET inherits; PERMISSIVE with none), and the filter chains each port's mode asks for.
 */
import { composePeerAuthentication, namespaceMtlsMode as composeNamespaceMode } from '../../api/kinds/security/peer-authentication.js';
import type { ComposedPeerAuthentication, EffectiveMtlsMode } from '../../api/kinds/security/peer-authentication.js';
import { ALPN, type FilterChainConfig, type ListenerConfig, type ServerTlsConfig } from '../../snapshot/index.js';
import type { ConfigIndex } from './push-context.js';

export type MtlsMode = EffectiveMtlsMode;
export type WorkloadPeerAuthentication = ComposedPeerAuthentication;

/** The mode a destination namespace's mesh-wide and namespace-wide policies give it (what automatic mTLS infers). */
export function namespaceMtlsMode(index: ConfigIndex, namespace: string): MtlsMode {
  return composeNamespaceMode(index.peerAuthentications, index.mesh.rootNamespace, namespace);
}

/** The policy in force for a workload of `namespace` with `labels`. */
export function workloadPeerAuthentication(index: ConfigIndex, namespace: string, labels: Readonly<Record<string, string>>): WorkloadPeerAuthentication {
  return composePeerAuthentication(index.peerAuthentications, index.mesh.rootNamespace, namespace, labels);
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
