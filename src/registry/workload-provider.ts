/**
 * What runs the workloads, as the control plane sees it: it is handed the workload resources
 * (Deployments, Pods, ...) of the config, runs them, publishes one workload instance per pod
 * into the registry (`WorkloadSink`), and reports its pods and the gateway proxies it runs. The
 * local runtime is one such provider; on Kubernetes the kubelet runs the pods and no provider is
 * needed (the registry's instances come from the EndpointSlice/Pod informers instead).
 */
import type { Resource } from '../api/types.js';
import type { LocalServicePort, Registry, WorkloadSink } from './types.js';

/**
 * A pod's STATUS as kubectl shows it: its phase, or why it waits (`ImageNotMapped`: no local
 * program stands for its image; `CreateContainerConfigError`: its env or command cannot be built).
 */
export type PodPhase = 'Pending' | 'Running' | 'CrashLoopBackOff' | 'Terminating' | 'Completed' | 'Error' | 'ImageNotMapped' | 'CreateContainerConfigError';

export interface PodPorts {
  /** Container port → the app's local port. */
  app: Record<number, number>;
  /** Container port → the sidecar's inbound port (the mesh endpoint); equals `app` without sidecars. */
  mesh: Record<number, number>;
  /** The sidecar's outbound listener (the app's HTTP_PROXY); absent without sidecar. */
  outbound?: number;
  /** The proxy's admin port; absent without sidecar. */
  admin?: number;
  /**
   * The sidecar's loopback port for each service port of the pod's namespace (as of the pod's
   * start), for clients that ignore HTTP_PROXY; absent without sidecar.
   */
  services?: LocalServicePort[];
}

export interface PodStatus {
  name: string;
  namespace: string;
  /** The owning Deployment's name; absent for a bare Pod. */
  deployment?: string;
  /** `workload` for manifest pods, `gateway` for the ingress gateway. */
  kind: 'workload' | 'gateway';
  ready: boolean;
  status: PodPhase;
  restarts: number;
  /** ISO time the pod (its first process) started. */
  startedAt: string;
  ports: PodPorts;
  labels: Record<string, string>;
  serviceAccount: string;
  image?: string;
  /** The app container's name (absent for the gateway). */
  container?: string;
  /** Process ids (app and proxy) while they run. */
  pids: { app?: number; proxy?: number };
  /** Why the pod is not ready or not running, when known (`exit code 1`, `readiness probe failed: HTTP 503`). */
  reason?: string;
}

/** A gateway proxy the provider runs, as the control plane's translation sees it. */
export interface GatewayTarget {
  /** Proxy id the gateway connects with. */
  id: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  listenAddress: string;
  /** Gateway server port (as written in a Gateway resource) → the local port it listens on. */
  portMap: Record<number, number>;
}

/** What a workload provider is given when skiffd starts it. */
export interface WorkloadProviderContext {
  /** Where it publishes one workload instance per pod. */
  registry: WorkloadSink;
  /** The registry as translation reads it (Services and endpoints), for pods without a sidecar to reach Services. */
  services?: Pick<Registry, 'snapshot'>;
  /** The push URL the proxies it starts connect to. */
  controlPlaneUrl: string;
  stateDir: string;
}

export interface WorkloadProvider {
  /** Makes the running set match `resources` (all of them: what is absent is stopped). Resolves once processes are spawned. */
  sync(resources: readonly Resource[]): Promise<void>;
  pods(): PodStatus[];
  gateways(): GatewayTarget[];
  /** Resolves when every pod of the desired state (and the gateway) is ready; rejects after `timeoutMs` naming those that are not. */
  waitReady(timeoutMs: number): Promise<void>;
  /** Stops every process and waits until they have exited. */
  stop(): Promise<void>;
  /**
   * A proxy it runs (by proxy id) refused its config, with the proxy's reason: the provider may
   * mend what is its own doing (the local runtime replaces a replica whose ports were taken).
   */
  proxyRejected?(proxyId: string, reason: string): void;
  /**
   * The pod a proxy's credential (its bootstrap token) was handed to: the only identity the
   * control plane's CA signs for that proxy. Undefined for a credential the provider never issued.
   * Absent on providers whose pods prove themselves otherwise (Kubernetes' service-account tokens).
   */
  identityOfCredential?(credential: string): { namespace: string; serviceAccount: string } | undefined;
}
