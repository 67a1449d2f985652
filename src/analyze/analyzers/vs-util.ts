/** Walks the destinations and gateway references of a VirtualService, with the field path of each. */
import type { Destination } from '../../api/kinds/networking/common.js';
import type { VirtualServiceSpec } from '../../api/kinds/networking/virtual-service.js';
import type { LoadedResource } from '../../config/finding.js';

export type FieldPath = Array<string | number>;

export interface DestinationRef {
  destination: Destination;
  /** Path of the `destination` object. */
  path: FieldPath;
  mirror: boolean;
}

export function vsSpec(lr: LoadedResource): VirtualServiceSpec {
  return lr.resource.spec as VirtualServiceSpec;
}

/** Every route and mirror destination of the VirtualService. */
export function destinationsOf(spec: VirtualServiceSpec): DestinationRef[] {
  const out: DestinationRef[] = [];
  (spec.http ?? []).forEach((rule, i) => {
    (rule.route ?? []).forEach((r, j) => out.push({ destination: r.destination, path: ['spec', 'http', i, 'route', j, 'destination'], mirror: false }));
    if (rule.mirror) out.push({ destination: rule.mirror, path: ['spec', 'http', i, 'mirror'], mirror: true });
    (rule.mirrors ?? []).forEach((m, j) => out.push({ destination: m.destination, path: ['spec', 'http', i, 'mirrors', j, 'destination'], mirror: true }));
  });
  for (const proto of ['tcp', 'tls'] as const) {
    (spec[proto] ?? []).forEach((rule, i) => {
      (rule.route ?? []).forEach((r, j) => out.push({ destination: r.destination, path: ['spec', proto, i, 'route', j, 'destination'], mirror: false }));
    });
  }
  return out;
}

export interface GatewayRef {
  name: string;
  path: FieldPath;
}

/** Gateway names referenced at the top level and in matches (`mesh` included). */
export function gatewayRefsOf(spec: VirtualServiceSpec): GatewayRef[] {
  const out: GatewayRef[] = (spec.gateways ?? []).map((name, i) => ({ name, path: ['spec', 'gateways', i] }));
  for (const proto of ['http', 'tcp', 'tls'] as const) {
    (spec[proto] ?? []).forEach((rule, i) => {
      (rule.match ?? []).forEach((m, j) => {
        (m.gateways ?? []).forEach((name, k) => out.push({ name, path: ['spec', proto, i, 'match', j, 'gateways', k] }));
      });
    });
  }
  return out;
}

export const MESH_GATEWAY = 'mesh';

/** `name` or `namespace/name` → the Gateway's namespace and name (short names are relative to the VirtualService). */
export function resolveGatewayName(ref: string, vsNamespace: string): { namespace: string; name: string } {
  const slash = ref.indexOf('/');
  if (slash >= 0) return { namespace: ref.slice(0, slash), name: ref.slice(slash + 1) };
  // Legacy FQDN form `name.namespace.svc.cluster.local`.
  const dot = ref.indexOf('.');
  if (dot >= 0) return { namespace: ref.slice(dot + 1).split('.')[0] ?? vsNamespace, name: ref.slice(0, dot) };
  return { namespace: vsNamespace, name: ref };
}

/** True when the VirtualService applies to sidecars (no gateways, or `mesh` among them). */
export function appliesToMesh(spec: VirtualServiceSpec): boolean {
  return (spec.gateways ?? []).length === 0 || (spec.gateways ?? []).includes(MESH_GATEWAY);
}
