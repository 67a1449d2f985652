/**
 * How services and workload instances relate: a Service selects the instances of its namespace
 * whose labels contain its selector, and each service port reaches a container port (by number or
 * by the container port's name).
 */
import type { Service, ServicePort, WorkloadInstance } from './types.js';

/** An equality selector matches labels that carry every one of its pairs (an empty one matches all). */
export function labelsMatch(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const key of Object.keys(selector)) if (labels[key] !== selector[key]) return false;
  return true;
}

/**
 * True when `service` selects `workload`: same namespace and the selector's labels are a subset of
 * the workload's. A Service without a selector selects nothing (its endpoints are managed elsewhere).
 */
export function selects(service: Pick<Service, 'namespace' | 'selector'>, workload: Pick<WorkloadInstance, 'namespace' | 'labels'>): boolean {
  if (service.selector === undefined || service.namespace !== workload.namespace) return false;
  return labelsMatch(service.selector, workload.labels);
}

/** The workload instances a service selects (ready or not). */
export function selectedWorkloads(service: Service, workloads: readonly WorkloadInstance[]): WorkloadInstance[] {
  return workloads.filter((w) => selects(service, w));
}

/** The services that select a workload instance. */
export function servicesOf(workload: WorkloadInstance, services: readonly Service[]): Service[] {
  return services.filter((s) => selects(s, workload));
}

/**
 * The container port a service port reaches on one workload: the number itself, or the container
 * port carrying that name. Undefined when the name is unknown to the workload (Kubernetes then has
 * no endpoint on it).
 */
export function containerPortFor(port: Pick<ServicePort, 'targetPort'>, workload: Pick<WorkloadInstance, 'containerPortNames'>): number | undefined {
  if (typeof port.targetPort === 'number') return port.targetPort;
  // Kubernetes accepts a number written as a string only as a name; a digit string names nothing.
  for (const [cp, name] of Object.entries(workload.containerPortNames ?? {})) {
    if (name === port.targetPort) return Number(cp);
  }
  return undefined;
}

/** Where mesh traffic for a service port arrives on a workload (its sidecar's inbound listener). */
export function meshAddressFor(port: Pick<ServicePort, 'targetPort'>, workload: WorkloadInstance): { address: string; port: number } | undefined {
  const cp = containerPortFor(port, workload);
  if (cp === undefined) return undefined;
  const meshPort = workload.meshPorts[cp];
  return meshPort === undefined ? undefined : { address: workload.address, port: meshPort };
}
