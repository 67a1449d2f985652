/**
 * Schema pieces and rule helpers shared by several Istio kinds: istio.type.v1beta1
 * WorkloadSelector and PolicyTargetReference, and the checks Istio applies to them.
 */
import type { Static } from 'typebox';
import { MapOf, Opt, Str, Strict } from '../schema-kit.js';
import type { Issue } from '../types.js';

/** `selector.matchLabels` (type.v1beta1.WorkloadSelector). */
export const WorkloadSelector = Strict(
  {
    matchLabels: Opt(
      MapOf(Str({ maxLength: 63 }), {
        maxProperties: 4096,
        description: 'One or more labels that indicate a specific set of pods/VMs on which a policy should be applied.',
      }),
    ),
  },
  { description: 'Criteria used to select the specific set of pods/VMs on which this configuration should be applied.' },
);
export type WorkloadSelector = Static<typeof WorkloadSelector>;

const DNS_SUBDOMAIN_OR_EMPTY = '^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** type.v1beta1.PolicyTargetReference (a Gateway API object the policy attaches to). */
export const PolicyTargetReference = Strict({
  group: Opt(Str({ maxLength: 253, pattern: DNS_SUBDOMAIN_OR_EMPTY, description: 'group is the group of the target resource.' })),
  kind: Str({ minLength: 1, maxLength: 63, pattern: '^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$', description: 'kind is kind of the target resource.' }),
  name: Str({ minLength: 1, maxLength: 253, description: 'name is the name of the target resource.' }),
  namespace: Opt(Str({ description: 'namespace is the namespace of the referent.' })),
});
export type PolicyTargetReference = Static<typeof PolicyTargetReference>;

type Path = Array<string | number>;

/** Istio's validateWorkloadSelector: no empty keys and no wildcards in keys or values. */
export function checkWorkloadSelector(selector: WorkloadSelector | undefined, path: Path): Issue[] {
  const out: Issue[] = [];
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) {
    const at = [...path, 'matchLabels', k];
    if (k === '') out.push({ severity: 'error', path: at, message: `empty key is not supported in selector: "${k}=${v}"` });
    if (k.includes('*') || v.includes('*')) {
      out.push({ severity: 'error', path: at, message: `wildcard is not supported in selector: "${k}=${v}"` });
    }
  }
  return out;
}

/** What a policy may attach to (Istio's allowedTargetRefs): `group/kind`, '' for the core group. */
const ALLOWED_TARGETS = ['/Service', 'networking.istio.io/ServiceEntry', 'gateway.networking.k8s.io/Gateway', 'gateway.networking.k8s.io/GatewayClass'];

/**
 * Istio's validatePolicyTargetReference: the namespace must be empty (no cross-namespace
 * references) and the target must be a Service, ServiceEntry, Gateway or GatewayClass.
 */
export function checkTargetRefs(spec: { targetRef?: PolicyTargetReference; targetRefs?: PolicyTargetReference[] }): Issue[] {
  const out: Issue[] = [];
  const check = (ref: PolicyTargetReference, path: Path): void => {
    if (ref.namespace !== undefined && ref.namespace !== '') {
      out.push({ severity: 'error', path: [...path, 'namespace'], message: 'cross namespace referencing is not currently supported' });
    }
    const target = `${ref.group ?? ''}/${ref.kind}`;
    if (!ALLOWED_TARGETS.includes(target)) {
      const allowed = ALLOWED_TARGETS.map((t) => t.replace(/^\//, '')).join(', ');
      out.push({ severity: 'error', path: [...path, 'kind'], message: `targetRef must be to one of ${allowed} but was ${target.replace(/^\//, '')}` });
    }
  };
  if (spec.targetRef) check(spec.targetRef, ['spec', 'targetRef']);
  spec.targetRefs?.forEach((ref, i) => check(ref, ['spec', 'targetRefs', i]));
  return out;
}

/** Parses an IP address or CIDR the way Go's netip does for Istio's ipBlocks; returns a problem or undefined. */
export function ipOrCidrProblem(v: string): string | undefined {
  const [addr = '', bits, extra] = v.split('/');
  if (extra !== undefined) return `bad CIDR range (${v})`;
  const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(addr);
  const ipv6 = !ipv4 && isIPv6(addr);
  if (bits === undefined) return ipv4 || ipv6 ? undefined : `bad IP address (${v})`;
  const max = ipv4 ? 32 : ipv6 ? 128 : -1;
  if (max < 0 || !/^\d{1,3}$/.test(bits) || Number(bits) > max) return `bad CIDR range (${v})`;
  return undefined;
}

function isIPv6(s: string): boolean {
  if (!s.includes(':')) return false;
  try {
    return new URL(`http://[${s}]/`).hostname !== '';
  } catch {
    return false;
  }
}
