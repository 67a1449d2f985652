/**
 * The service registry's model: the services of the mesh (from Kubernetes Services) and the
 * workload instances behind them, as the control plane's translation reads them (`Registry`),
 * and how providers publish into it (`ServiceSink`, `WorkloadSink`): the Service sync of
 * `service-sync.ts` publishes services, whatever runs the workloads (the local runtime; on
 * Kubernetes, an EndpointSlice/Pod informer) publishes workload instances.
 */

/** A port of a service, as a Kubernetes Service declares it. */
export interface ServicePort {
  /** Port name; its prefix (`http-`, `grpc-`, `tcp-`, ...) tells Istio the protocol. */
  name?: string;
  /** The service port clients address (`reviews:9080`). */
  port: number;
  /** The container port (number) or the name of a container port the traffic goes to. */
  targetPort: number | string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  /** Kubernetes `appProtocol` (`http`, `http2`, `grpc`, `tcp`, `kubernetes.io/h2c`, ...). */
  appProtocol?: string;
}

/** A service of the mesh: the name clients use and the workloads it selects. */
export interface Service {
  name: string;
  namespace: string;
  /** Fully qualified host: `name.namespace.svc.cluster.local`. */
  hostname: string;
  ports: ServicePort[];
  /** Labels a workload must carry (all of them) to be an endpoint; absent: no endpoints selected. */
  selector?: Record<string, string>;
  labels?: Record<string, string>;
  /**
   * Namespaces the service is visible from (the Service annotation `networking.istio.io/exportTo`):
   * `.` its own, `*` all, or names. Absent: every namespace.
   */
  exportTo?: string[];
  /**
   * The Service's cluster IPs (`spec.clusterIPs`, else `spec.clusterIP`): the addresses a captured
   * client's connections to the service are sent to, by which its sidecar knows them. Absent for
   * a headless Service (`clusterIP: None`), an ExternalName one, and where the API server assigns
   * none (the local runtime's Services).
   */
  clusterIPs?: string[];
  /**
   * A headless Service (`clusterIP: None`): its name resolves to the addresses of its pods, which
   * clients dial themselves, so a captured client's sidecar stands for each pod's address and port
   * rather than for a cluster IP.
   */
  headless?: boolean;
}

/** Container port number → a number (a local port) or a name. Keys are decimal strings in JSON. */
export type PortMap = Record<number, number>;

/** The sidecar proxy running next to a workload instance. */
export interface SidecarInfo {
  /** The outbound listener: the app's `HTTP_PROXY`. */
  outboundPort: number;
  /** The proxy's admin port. */
  adminPort: number;
  /** The proxy's identity towards the control plane (`name.namespace`, as Istio's proxy id). */
  proxyId: string;
  /**
   * Loopback ports the sidecar serves as one service port each, for clients that ignore
   * HTTP_PROXY: a connection to `localPort` is routed as traffic to `service:port` (a Kubernetes
   * Service of the workload's namespace) is. The local runtime announces them to the app in its
   * environment (`<SVC>_SERVICE_LOCAL_PORT`).
   */
  localServices?: LocalServicePort[];
  /**
   * Present when the pod's traffic is captured by iptables (an injected Kubernetes pod): its TCP
   * connections out are redirected to `outboundPort` and those in to `inboundPort`, so the sidecar
   * serves Istio's capture listeners (`virtualOutbound`, `virtualInbound`) instead of an HTTP_PROXY
   * listener and per-port listeners. It lives here, with the sidecar's other ports, because it is
   * what the sidecar's pod is set up to do (its `istio-init` rules), known from the pod where the
   * instance is published, and it decides the shape of every listener translation writes for
   * that sidecar. The local runtime's sidecars have none: their apps reach them as HTTP_PROXY.
   */
  capture?: SidecarCapture;
}

/** The ports a captured pod's connections are redirected to (istio-iptables' `-p` and `-z`). */
export interface SidecarCapture {
  /** Where inbound connections to the pod are redirected (15006). */
  inboundPort: number;
}

export interface LocalServicePort {
  /** Kubernetes Service name, in the workload's namespace. */
  service: string;
  /** The service port, and its name when it has one. */
  port: number;
  portName?: string;
  localPort: number;
}

/** One running instance of a workload (a pod; a replica in the local runtime). */
export interface WorkloadInstance {
  /** Pod name, e.g. `reviews-v2-7d79d5bd5d-8zzqd`. */
  name: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string;
  /** Where the instance is reached: 127.0.0.1 in the local runtime. */
  address: string;
  /** Readiness gates the instance as an endpoint. */
  ready: boolean;
  /**
   * Container port → the port where mesh traffic for it arrives (the sidecar's inbound listener;
   * the app port itself when there is no sidecar).
   */
  meshPorts: PortMap;
  /** Container port → the port the app itself listens on (the sidecar's inbound forwards there). */
  appPorts: PortMap;
  /** Container port → its name (`http`), for Services whose targetPort is a name. */
  containerPortNames?: Record<number, string>;
  sidecar?: SidecarInfo;
}

/** An immutable view of the registry at one moment. */
export interface RegistrySnapshot {
  services: Service[];
  workloads: WorkloadInstance[];
}

/** A source of services and workload instances, with change notifications: what translation reads. */
export interface Registry {
  /** The current services and workloads; the same object until the next change. */
  snapshot(): RegistrySnapshot;
  /** Calls `fn` after every change; returns a function that unsubscribes. */
  onChange(fn: () => void): () => void;
}

/**
 * How a provider of services publishes them. Each provider removes only what it published;
 * services are keyed by namespace and name.
 */
export interface ServiceSink {
  upsertService(service: Service): void;
  /** False when there was no such service. */
  removeService(namespace: string, name: string): boolean;
}

/**
 * How a provider of workload instances publishes them: one instance per pod (replica), keyed by
 * namespace and name, its readiness updated as probes decide, removed when the pod goes.
 */
export interface WorkloadSink {
  upsertWorkload(workload: WorkloadInstance): void;
  /** False when there was no such instance. */
  removeWorkload(namespace: string, name: string): boolean;
  /** Marks an instance ready or not (an unknown one is ignored). */
  setReady(namespace: string, name: string, ready: boolean): void;
}

/** A registry providers publish into and translation reads from (`MemoryRegistry`). */
export type PublishedRegistry = Registry & ServiceSink & WorkloadSink;
