/**
 * Kubernetes Services as registry services: from a validated `Service` resource (defaults applied
 * as the API server does: `targetPort` = `port`, protocol TCP) to the registry's `Service`.
 */
import type { ServiceSpec } from '../api/kinds/kube/core.js';
import type { Resource } from '../api/types.js';
import type { Service, ServicePort } from './types.js';

export const DEFAULT_DOMAIN_SUFFIX = 'cluster.local';

/** Annotation Istio reads for a Service's visibility. */
export const EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';

/** `name.namespace.svc.cluster.local`. */
export function serviceHostname(name: string, namespace: string, domainSuffix = DEFAULT_DOMAIN_SUFFIX): string {
  return `${name}.${namespace}.svc.${domainSuffix}`;
}

/**
 * Converts a validated Kubernetes Service. Throws when `resource` is not a v1 Service.
 * ExternalName Services and Services without ports still convert (they have no endpoints).
 */
export function serviceFromResource(resource: Resource, opts: { defaultNamespace?: string; domainSuffix?: string } = {}): Service {
  if (resource.kind !== 'Service' || !(resource.apiVersion === 'v1' || resource.apiVersion.endsWith('/v1'))) {
    throw new Error(`${resource.kind}/${resource.metadata.name}: not a Kubernetes Service (apiVersion ${resource.apiVersion})`);
  }
  const spec = (resource.spec ?? {}) as ServiceSpec;
  const namespace = resource.metadata.namespace ?? opts.defaultNamespace ?? 'default';
  const name = resource.metadata.name;
  const ports: ServicePort[] = (spec.ports ?? []).map((p) => {
    const out: ServicePort = { port: p.port, targetPort: p.targetPort ?? p.port, protocol: p.protocol ?? 'TCP' };
    if (p.name !== undefined && p.name !== '') out.name = p.name;
    if (p.appProtocol !== undefined && p.appProtocol !== '') out.appProtocol = p.appProtocol;
    return out;
  });
  const service: Service = { name, namespace, hostname: serviceHostname(name, namespace, opts.domainSuffix), ports };
  if (spec.selector !== undefined && spec.type !== 'ExternalName') service.selector = { ...spec.selector };
  if (resource.metadata.labels !== undefined) service.labels = { ...resource.metadata.labels };
  const clusterIPs = serviceClusterIPs(spec);
  if (clusterIPs.length > 0) service.clusterIPs = clusterIPs;
  if (isHeadless(spec)) service.headless = true;
  const exportTo = resource.metadata.annotations?.[EXPORT_TO_ANNOTATION];
  if (exportTo !== undefined && exportTo.trim() !== '') {
    service.exportTo = exportTo
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }
  return service;
}

/**
 * The cluster IPs of a Service spec: `clusterIPs` (dual-stack, the primary first), else
 * `clusterIP`; none for a headless Service (`None`) or an ExternalName one, whose names resolve to
 * the endpoints or another name rather than to an address the sidecar stands for.
 */
export function serviceClusterIPs(spec: ServiceSpec): string[] {
  if (spec.type === 'ExternalName') return [];
  const ips = spec.clusterIPs !== undefined && spec.clusterIPs.length > 0 ? spec.clusterIPs : spec.clusterIP !== undefined ? [spec.clusterIP] : [];
  return ips.filter((ip) => ip !== '' && ip !== 'None');
}

/** `clusterIP: None` (or `clusterIPs: [None]`) on a Service that is not ExternalName. */
export function isHeadless(spec: ServiceSpec): boolean {
  if (spec.type === 'ExternalName') return false;
  return spec.clusterIP === 'None' || spec.clusterIPs?.[0] === 'None';
}
