/**
 * The services a proxy can address, in one model: Kubernetes Services from the registry and the
 * hosts of ServiceEntries (config), each with its ports, protocol, visibility, and the endpoints
 * of a port (optionally narrowed to a subset's labels).
 */
import type { ServiceEntrySpec } from '../../api/kinds/networking/service-entry.js';
import type { WorkloadEntry } from '../../api/kinds/networking/workload-entry.js';
import type { Resource } from '../../api/types.js';
import { parseProtocol, servicePortProtocol, type Protocol } from '../../registry/protocol.js';
import { containerPortFor, labelsMatch, selects } from '../../registry/select.js';
import type { Service, WorkloadInstance } from '../../registry/types.js';
import type { EndpointConfig } from '../../snapshot/index.js';

export interface MeshPort {
  port: number;
  /** Port name ('' when the Service's only port has none). */
  name: string;
  protocol: Protocol;
  /** Kubernetes: container port number or name. ServiceEntry: the endpoint port when set. */
  targetPort?: number | string;
}

export interface MeshService {
  hostname: string;
  namespace: string;
  /** Service or ServiceEntry name. */
  name: string;
  source: 'kubernetes' | 'serviceentry';
  ports: MeshPort[];
  exportTo?: readonly string[];
  location: 'MESH_INTERNAL' | 'MESH_EXTERNAL';
  /** STATIC: listed or selected endpoints; DNS: endpoint addresses are names; NONE: the original destination. */
  resolution: 'STATIC' | 'DNS' | 'NONE';
  /** Workloads selected (Kubernetes selector, ServiceEntry workloadSelector); absent: none. */
  selector?: Readonly<Record<string, string>>;
  /** ServiceEntry `endpoints`. */
  entries?: readonly WorkloadEntry[];
  /** A Kubernetes Service's cluster IPs (none when headless or ExternalName): what a captured sidecar stands for. */
  clusterIPs?: readonly string[];
  /** A headless Kubernetes Service (`clusterIP: None`): a captured sidecar stands for each of its pods instead. */
  headless?: boolean;
  /** A ServiceEntry's `addresses`, IPs or CIDR blocks as written: what a captured sidecar stands for on its TCP ports. */
  addresses?: readonly string[];
}

export function fromKubernetes(s: Service): MeshService {
  const out: MeshService = {
    hostname: s.hostname,
    namespace: s.namespace,
    name: s.name,
    source: 'kubernetes',
    ports: s.ports
      .filter((p) => p.protocol !== 'UDP')
      .map((p) => ({ port: p.port, name: p.name ?? '', protocol: servicePortProtocol(p), targetPort: p.targetPort })),
    location: 'MESH_INTERNAL',
    resolution: 'STATIC',
  };
  if (s.exportTo !== undefined) out.exportTo = s.exportTo;
  if (s.selector !== undefined) out.selector = s.selector;
  if (s.clusterIPs !== undefined && s.clusterIPs.length > 0) out.clusterIPs = s.clusterIPs;
  if (s.headless === true) out.headless = true;
  return out;
}

/** One MeshService per host of the ServiceEntry. */
export function fromServiceEntry(r: Resource, namespace: string): MeshService[] {
  const spec = r.spec as ServiceEntrySpec;
  const ports: MeshPort[] = (spec.ports ?? []).map((p) => {
    const port: MeshPort = { port: p.number, name: p.name, protocol: parseProtocol(p.protocol) };
    if (p.targetPort !== undefined) port.targetPort = p.targetPort;
    return port;
  });
  const resolution = spec.resolution === 'DNS' || spec.resolution === 'DNS_ROUND_ROBIN' || spec.resolution === 'DYNAMIC_DNS' ? 'DNS' : spec.resolution === 'STATIC' ? 'STATIC' : 'NONE';
  return spec.hosts.map((host) => {
    const out: MeshService = {
      hostname: host,
      namespace,
      name: r.metadata.name,
      source: 'serviceentry',
      ports,
      location: spec.location ?? 'MESH_EXTERNAL',
      resolution,
    };
    if (spec.exportTo !== undefined) out.exportTo = spec.exportTo;
    if (spec.workloadSelector?.labels !== undefined) out.selector = spec.workloadSelector.labels;
    if (spec.endpoints !== undefined) out.entries = spec.endpoints;
    if (spec.addresses !== undefined && spec.addresses.length > 0) out.addresses = spec.addresses;
    return out;
  });
}

/** Istio's identity of a workload: its SPIFFE id in the mesh's trust domain (MeshConfig `trustDomain`). */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/**
 * The endpoints of one port: ready workload instances the service selects (at their mesh port),
 * or the ServiceEntry's listed endpoints, or — DNS without endpoints — the host itself. Instances
 * that are not ready are left out, as Istio does.
 */
export function endpointsOf(
  svc: MeshService,
  port: MeshPort,
  subsetLabels: Readonly<Record<string, string>> | undefined,
  workloads: readonly WorkloadInstance[],
  trustDomain: string,
): EndpointConfig[] {
  if (svc.resolution === 'NONE' && svc.selector === undefined) return [];
  if (svc.selector !== undefined) return cachedWorkloadEndpoints(svc, port, subsetLabels, workloads, trustDomain);
  if (svc.entries !== undefined && svc.entries.length > 0) return entryEndpoints(svc, port, subsetLabels, trustDomain);
  if (svc.resolution === 'DNS' && !svc.hostname.includes('*') && subsetLabels === undefined) {
    return [{ address: svc.hostname, port: typeof port.targetPort === 'number' ? port.targetPort : port.port }];
  }
  return [];
}

/**
 * Selecting a service's workloads is the same work for every proxy of one push (the registry's
 * workload list and the service objects are shared by the push's index), and with many services
 * and proxies it dominates translation; so selections are kept per workload list and service.
 * Each caller gets its own copies, since snapshots are built and changed independently.
 */
const selections = new WeakMap<readonly WorkloadInstance[], WeakMap<MeshService, Map<string, EndpointConfig[]>>>();

function cachedWorkloadEndpoints(
  svc: MeshService,
  port: MeshPort,
  subsetLabels: Readonly<Record<string, string>> | undefined,
  workloads: readonly WorkloadInstance[],
  trustDomain: string,
): EndpointConfig[] {
  let byService = selections.get(workloads);
  if (byService === undefined) selections.set(workloads, (byService = new WeakMap<MeshService, Map<string, EndpointConfig[]>>()));
  let byKey = byService.get(svc);
  if (byKey === undefined) byService.set(svc, (byKey = new Map<string, EndpointConfig[]>()));
  const key = `${port.port}|${String(port.targetPort)}|${trustDomain}|${subsetLabels === undefined ? '' : JSON.stringify(Object.entries(subsetLabels).sort())}`;
  let found = byKey.get(key);
  if (found === undefined) byKey.set(key, (found = workloadEndpoints(svc, port, subsetLabels, workloads, trustDomain)));
  return found.map((ep) => ({ ...ep, labels: ep.labels === undefined ? undefined : { ...ep.labels }, workload: ep.workload === undefined ? undefined : { ...ep.workload } }));
}

function workloadEndpoints(
  svc: MeshService,
  port: MeshPort,
  subsetLabels: Readonly<Record<string, string>> | undefined,
  workloads: readonly WorkloadInstance[],
  trustDomain: string,
): EndpointConfig[] {
  const out: EndpointConfig[] = [];
  // A ServiceEntry's target port is an endpoint port; without one, the service port is used.
  const target = { targetPort: port.targetPort ?? port.port };
  for (const w of workloads) {
    if (!w.ready || !selects({ namespace: svc.namespace, selector: svc.selector }, w)) continue;
    if (subsetLabels !== undefined && !labelsMatch(subsetLabels, w.labels)) continue;
    const cp = containerPortFor(target, w);
    const meshPort = cp === undefined ? undefined : w.meshPorts[cp];
    if (meshPort === undefined) continue;
    const ep: EndpointConfig = {
      address: w.address,
      port: meshPort,
      labels: { ...w.labels },
      tlsMode: w.sidecar !== undefined ? 'istio' : 'disabled',
      serviceAccount: spiffeId(trustDomain, w.namespace, w.serviceAccount),
      workload: { name: w.name, namespace: w.namespace },
    };
    out.push(ep);
  }
  return out;
}

function entryEndpoints(
  svc: MeshService,
  port: MeshPort,
  subsetLabels: Readonly<Record<string, string>> | undefined,
  trustDomain: string,
): EndpointConfig[] {
  const out: EndpointConfig[] = [];
  for (const e of svc.entries ?? []) {
    // Unix domain sockets and network-only entries have no address the data path can dial.
    if (e.address === undefined || e.address.startsWith('unix://')) continue;
    const labels = e.labels ?? {};
    if (subsetLabels !== undefined && !labelsMatch(subsetLabels, labels)) continue;
    const ep: EndpointConfig = {
      address: e.address,
      port: e.ports?.[port.name] ?? (typeof port.targetPort === 'number' ? port.targetPort : port.port),
    };
    if (e.labels !== undefined) ep.labels = { ...e.labels };
    if (e.weight !== undefined && e.weight > 0) ep.weight = e.weight;
    if (e.locality !== undefined) ep.locality = e.locality;
    if (e.serviceAccount !== undefined) ep.serviceAccount = spiffeId(trustDomain, svc.namespace, e.serviceAccount);
    out.push(ep);
  }
  return out;
}
