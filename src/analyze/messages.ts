/**
 * The messages `skiff analyze` can report, each with a stable code. Where Istio has a message
 * with the same meaning, Skiff reuses Istio's code, name, level and wording
 * (istio/istio pkg/config/analysis/msg/messages.yaml), so documentation and CI filters written
 * for `istioctl analyze` keep working. Checks Istio does not have use `SKF` codes.
 */

export type Level = 'Error' | 'Warning' | 'Info';

export interface MessageType {
  code: string;
  name: string;
  level: Level;
  description: string;
}

function type(code: string, name: string, level: Level, description: string): MessageType {
  return { code, name, level, description };
}

export const MessageTypes = {
  InternalError: type(
    'IST0001',
    'InternalError',
    'Error',
    'There was an internal error in the toolchain. This is almost always a bug in the implementation.',
  ),
  ReferencedResourceNotFound: type(
    'IST0101',
    'ReferencedResourceNotFound',
    'Error',
    'A resource being referenced does not exist. A Gateway selector is satisfied by the ingress gateway ' +
      'Skiff always runs (namespace istio-system, labels istio=ingressgateway, app=istio-ingressgateway).',
  ),
  SchemaValidationError: type('IST0106', 'SchemaValidationError', 'Error', 'The resource has a schema validation error.'),
  ConflictingMeshGatewayVirtualServiceHosts: type(
    'IST0109',
    'ConflictingMeshGatewayVirtualServiceHosts',
    'Error',
    'Conflicting hosts on VirtualServices associated with mesh gateway',
  ),
  ConflictingSidecarWorkloadSelectors: type(
    'IST0110',
    'ConflictingSidecarWorkloadSelectors',
    'Error',
    'A Sidecar resource selects the same workloads as another Sidecar resource',
  ),
  MultipleSidecarsWithoutWorkloadSelectors: type(
    'IST0111',
    'MultipleSidecarsWithoutWorkloadSelectors',
    'Error',
    'More than one sidecar resource in a namespace has no workload selector',
  ),
  VirtualServiceDestinationPortSelectorRequired: type(
    'IST0112',
    'VirtualServiceDestinationPortSelectorRequired',
    'Error',
    'A VirtualService routes to a service with more than one port exposed, but does not specify which to use.',
  ),
  PortNameIsNotUnderNamingConvention: type(
    'IST0118',
    'PortNameIsNotUnderNamingConvention',
    'Info',
    'Port name is not under naming convention. Protocol detection is applied to the port.',
  ),
  NoMatchingWorkloadsFound: type(
    'IST0127',
    'NoMatchingWorkloadsFound',
    'Warning',
    "There aren't workloads matching the resource labels",
  ),
  VirtualServiceUnreachableRule: type(
    'IST0130',
    'VirtualServiceUnreachableRule',
    'Warning',
    'A VirtualService rule will never be used because a previous rule uses the same match.',
  ),
  VirtualServiceIneffectiveMatch: type(
    'IST0131',
    'VirtualServiceIneffectiveMatch',
    'Info',
    'A VirtualService rule match duplicates a match in a previous rule.',
  ),
  VirtualServiceHostNotFoundInGateway: type(
    'IST0132',
    'VirtualServiceHostNotFoundInGateway',
    'Warning',
    'Host defined in VirtualService not found in Gateway.',
  ),
  InvalidGatewayCredential: type(
    'IST0161',
    'InvalidGatewayCredential',
    'Error',
    'The credential provided for the Gateway resource is invalid; the server using it is not served.',
  ),
  SchemaWarning: type('IST0133', 'SchemaWarning', 'Warning', 'The resource has a schema validation warning.'),
  UnknownDestinationRuleHost: type(
    'IST0174',
    'UnknownDestinationRuleHost',
    'Warning',
    'Host defined in destination rule does not match any services in the mesh.',
  ),
  UnsupportedKind: type('SKF0001', 'UnsupportedKind', 'Warning', 'The resource is of a kind Skiff does not implement; it is ignored.'),
  InvalidInput: type('SKF0002', 'InvalidInput', 'Error', 'An input file could not be read or is not well-formed YAML/JSON.'),
  ConflictingDestinationRulesHost: type(
    'SKF0003',
    'ConflictingDestinationRulesHost',
    'Warning',
    'Several DestinationRules for one host in one namespace define the same subset, or each a top-level traffic policy; only the first takes effect.',
  ),
  DuplicateResource: type(
    'SKF0004',
    'DuplicateResource',
    'Warning',
    'The same resource (kind, namespace and name) is defined more than once; the last definition wins.',
  ),
  NotEnforced: type(
    'SKF0005',
    'NotEnforced',
    'Warning',
    'The resource is stored, but Skiff does not enforce its kind, or this field of it, yet; the mesh behaves as if it were absent.',
  ),
  MTLSPolicyConflict: type('IST0113', 'MTLSPolicyConflict', 'Error', 'A DestinationRule and Policy are in conflict with regards to mTLS.'),
  AutoMtlsToDisabledPort: type(
    'SKF0009',
    'AutoMtlsToDisabledPort',
    'Error',
    'A PeerAuthentication disables mutual TLS for a workload or port, but clients of its Service still use automatic mutual TLS (which reads only namespace and mesh policies), so their requests fail; a DestinationRule with tls mode DISABLE for the host (or port) fixes it.',
  ),
  LeftOutOfProxyConfig: type(
    'SKF0006',
    'LeftOutOfProxyConfig',
    'Error',
    "The running skiffd holds the resource but leaves it out of every proxy's config (it fails its schema, or translating it fails), so that the rest of the mesh keeps its config.",
  ),
  HttpFieldOnTcpPort: type(
    'SKF0007',
    'HttpFieldOnTcpPort',
    'Warning',
    'An AuthorizationPolicy rule uses an HTTP-only field on a TCP port: Istio drops the rule of an ALLOW policy (nothing is allowed by it) and the field of a DENY policy (the rule matches every connection).',
  ),
  PrincipalNotFound: type(
    'SKF0008',
    'PrincipalNotFound',
    'Warning',
    'An AuthorizationPolicy principal names a namespace or service account no workload runs as, so it never matches.',
  ),
  UnfetchableJwks: type(
    'SKF0010',
    'UnfetchableJwks',
    'Warning',
    "A RequestAuthentication's jwksUri cannot be fetched by the proxies that use it: until a fetch works, every token of its issuer is refused (401 \"Jwks remote fetch is failed\"), or verified with the keys an earlier fetch got.",
  ),
} as const satisfies Record<string, MessageType>;

/** Istio's documentation page for an IST code; Skiff's own codes are documented in `skiff analyze --help`. */
export function documentationUrl(code: string): string | undefined {
  return code.startsWith('IST') ? `https://istio.io/latest/docs/reference/config/analysis/${code.toLowerCase()}/` : undefined;
}

/** Go's `%q`: a double-quoted string with escapes (JSON's quoting is the same for what appears here). */
export function q(s: string): string {
  return JSON.stringify(s);
}

/** Go's `%v` of a string slice: `[a b c]`. */
export function list(items: readonly string[]): string {
  return `[${items.join(' ')}]`;
}

/** Message texts, in Istio's wording. */
export const text = {
  referencedResourceNotFound: (reftype: string, refval: string) => `Referenced ${reftype} not found: ${q(refval)}`,
  invalidGatewayCredential: (credential: string, reason: string) => `The credential ${q(credential)} of the Gateway is invalid: ${reason}`,
  schemaValidationError: (err: string) => `Schema validation error: ${err}`,
  schemaWarning: (err: string) => `Schema validation warning: ${err}`,
  conflictingMeshGatewayHosts: (virtualServices: string, host: string) =>
    `The VirtualServices ${virtualServices} associated with mesh gateway define the same host ${host} which can lead to undefined behavior. ` +
    'This can be fixed by merging the conflicting VirtualServices into a single resource.',
  conflictingSidecarSelectors: (sidecars: readonly string[], namespace: string, pod: string) =>
    `The Sidecars ${list(sidecars)} in namespace ${q(namespace)} select the same workload pod ${q(pod)}, which can lead to undefined behavior.`,
  multipleSidecarsWithoutSelectors: (sidecars: readonly string[], namespace: string) =>
    `The Sidecars ${list(sidecars)} in namespace ${q(namespace)} have no workload selector, which can lead to undefined behavior.`,
  portSelectorRequired: (host: string, ports: readonly number[]) =>
    `This VirtualService routes to a service ${q(host)} that exposes multiple ports ${list(ports.map(String))}. ` +
    'Specifying a port in the destination is required to disambiguate.',
  portNameNotUnderConvention: (portName: string, port: number, targetPort: string) =>
    `Port name ${portName} (port: ${port}, targetPort: ${targetPort}) doesn't follow the naming convention of Istio port.`,
  noMatchingWorkloads: (labels: string) => `No matching workloads for this resource with the following labels: ${labels}`,
  unreachableRule: (ruleno: string, reason: string) => `VirtualService rule ${ruleno} not used (${reason}).`,
  ineffectiveMatch: (ruleno: string, matchno: string, dupno: string) =>
    `VirtualService rule ${ruleno} match ${matchno} is not used (duplicate/overlapping match in rule ${dupno}).`,
  hostNotFoundInGateway: (hosts: readonly string[], virtualService: string, gateway: string) =>
    `one or more host ${list(hosts)} defined in VirtualService ${virtualService} not found in Gateway ${gateway}.`,
  unknownDestinationRuleHost: (host: string) => `The host ${host} defined in the DestinationRule does not match any services in the mesh.`,
  conflictingDestinationRules: (rules: readonly string[], host: string, what: string) =>
    `The DestinationRules ${rules.join(',')} for host ${host} each define ${what}; only the first one takes effect. ` +
    'Merge them into a single DestinationRule.',
  duplicateResource: (where: string) => `This resource is also defined at ${where}; the last definition wins.`,
  mtlsPolicyConflict: (host: string, destinationRule: string, mtls: boolean, policy: string) =>
    `A DestinationRule and Policy are in conflict with regards to mTLS for host ${host}. The DestinationRule ${q(destinationRule)} specifies that mTLS must be ${String(mtls)} but the policy object specifies ${policy}.`,
  autoMtlsToDisabledPort: (workload: string, port: number, host: string, servicePort: number) =>
    `Mutual TLS is disabled for ${workload} port ${port}, but clients of ${host}:${servicePort} use automatic mutual TLS and will fail; add a DestinationRule for ${host} with tls mode DISABLE (on port ${servicePort}).`,
  kindNotEnforced: (kind: string, effect: string) => `${kind} is stored but not enforced by Skiff yet: ${effect}.`,
  fieldNotEnforced: (kind: string, field: string, effect: string) => `${kind} field ${field} is stored but not enforced by Skiff yet: ${effect}.`,
};
