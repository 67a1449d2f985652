/**
 * security.istio.io PeerAuthentication: schema (istio/api security/v1beta1/peer_authentication.proto)
 * and the checks of Istio's ValidatePeerAuthentication (plus the CRD's CEL rules).
 */
import type { Static } from 'typebox';
import { Enum, MapOf, Opt, Strict } from '../../schema-kit.js';
import type { Issue, KindDef, Resource } from '../../types.js';
import { WorkloadSelector, checkWorkloadSelector } from '../common.js';

const MutualTLS = Strict(
  {
    mode: Opt(Enum(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'] as const, {
      description: 'Defines the mTLS mode used for peer authentication.',
    })),
  },
  { description: 'Mutual TLS settings for workload.' },
);

export const PeerAuthenticationSpec = Strict(
  {
    selector: Opt(WorkloadSelector),
    mtls: Opt(MutualTLS),
    portLevelMtls: Opt(MapOf(MutualTLS, { minProperties: 1, description: 'Port specific mutual TLS settings.' })),
  },
  { description: 'Peer authentication configuration for workloads.' },
);
export type PeerAuthenticationSpec = Static<typeof PeerAuthenticationSpec>;

export function peerAuthenticationRules(r: Resource): Issue[] {
  const spec = r.spec as PeerAuthenticationSpec;
  const out: Issue[] = checkWorkloadSelector(spec.selector, ['spec', 'selector']);
  if (spec.portLevelMtls !== undefined) {
    if (Object.keys(spec.selector?.matchLabels ?? {}).length === 0) {
      out.push({
        severity: 'error',
        path: ['spec', 'portLevelMtls'],
        message: 'portLevelMtls requires selector: mesh- and namespace-wide peer authentication cannot have port level mTLS',
      });
    }
    for (const port of Object.keys(spec.portLevelMtls)) {
      if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
        out.push({ severity: 'error', path: ['spec', 'portLevelMtls', port], message: `port must be between 1-65535 (got "${port}")` });
      }
    }
  }
  return out;
}

export const peerAuthentication: KindDef = {
  group: 'security.istio.io',
  kind: 'PeerAuthentication',
  plural: 'peerauthentications',
  versions: ['v1', 'v1beta1'],
  namespaced: true,
  schema: PeerAuthenticationSpec,
  rules: peerAuthenticationRules,
};

/** The modes a workload's port ends up with (UNSET resolved away). */
export type EffectiveMtlsMode = 'DISABLE' | 'PERMISSIVE' | 'STRICT';

/** Istio's mode with no PeerAuthentication at all. */
export const DEFAULT_MTLS_MODE: EffectiveMtlsMode = 'PERMISSIVE';

/** A PeerAuthentication as the composition reads it. */
export interface PeerAuthenticationPolicy {
  namespace: string;
  spec: PeerAuthenticationSpec;
}

/** The composed policy of one workload: a mode, and per container port the modes that differ. */
export interface ComposedPeerAuthentication {
  mode: EffectiveMtlsMode;
  ports: ReadonlyMap<number, EffectiveMtlsMode>;
}

type Mode = NonNullable<NonNullable<PeerAuthenticationSpec['mtls']>['mode']>;

function resolvedMode(mode: Mode | undefined, inherited: EffectiveMtlsMode): EffectiveMtlsMode {
  return mode === undefined || mode === 'UNSET' ? inherited : mode;
}

function isWide(p: PeerAuthenticationPolicy): boolean {
  return Object.keys(p.spec.selector?.matchLabels ?? {}).length === 0;
}

/**
 * The mode mesh-wide and namespace-wide policies give `namespace` (`policies` oldest first): the
 * oldest policy without selector in the root namespace, overridden by the oldest one without
 * selector in `namespace`; UNSET inherits; none at all is PERMISSIVE. This is also what a client
 * infers for a destination under automatic mTLS, which reads no workload policy.
 */
export function namespaceMtlsMode(policies: readonly PeerAuthenticationPolicy[], rootNamespace: string, namespace: string): EffectiveMtlsMode {
  const mesh = resolvedMode(policies.find((p) => p.namespace === rootNamespace && isWide(p))?.spec.mtls?.mode, DEFAULT_MTLS_MODE);
  if (namespace === rootNamespace) return mesh;
  return resolvedMode(policies.find((p) => p.namespace === namespace && isWide(p))?.spec.mtls?.mode, mesh);
}

/**
 * Istio's composition for one workload of `namespace` with `labels` (`policies` oldest first):
 * the namespace's mode, overridden by the oldest workload policy of that namespace whose selector
 * matches, whose `portLevelMtls` then sets single container ports (UNSET inheriting the
 * workload's mode).
 */
export function composePeerAuthentication(policies: readonly PeerAuthenticationPolicy[], rootNamespace: string, namespace: string, labels: Readonly<Record<string, string>>): ComposedPeerAuthentication {
  const inherited = namespaceMtlsMode(policies, rootNamespace, namespace);
  const selected = policies.find((p) => p.namespace === namespace && !isWide(p) && Object.entries(p.spec.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v));
  if (selected === undefined) return { mode: inherited, ports: new Map() };
  const mode = resolvedMode(selected.spec.mtls?.mode, inherited);
  const ports = new Map<number, EffectiveMtlsMode>();
  for (const [port, mtls] of Object.entries(selected.spec.portLevelMtls ?? {})) ports.set(Number(port), resolvedMode(mtls.mode, mode));
  return { mode, ports };
}
