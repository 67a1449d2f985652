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
