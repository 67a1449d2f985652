/**
 * The service registry: services, workload instances, how they select each other, and the
 * in-memory registry the local runtime feeds.
 */
export type { PortMap, Registry, RegistrySnapshot, Service, ServicePort, SidecarCapture, SidecarInfo, WorkloadInstance } from './types.js';
export { MemoryRegistry } from './memory.js';
export { containerPortFor, labelsMatch, meshAddressFor, selectedWorkloads, selects, servicesOf } from './select.js';
export { DEFAULT_DOMAIN_SUFFIX, EXPORT_TO_ANNOTATION, serviceClusterIPs, serviceFromResource, serviceHostname } from './kube.js';
export { isHttpProtocol, isOpaqueProtocol, parseProtocol, servicePortProtocol } from './protocol.js';
export type { Protocol } from './protocol.js';
