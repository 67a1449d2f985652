/**
 * The local runtime's public shapes: its options, the status of each pod it runs, the ingress
 * gateway it offers to the control plane, and the runtime handle itself.
 */
import type { Resource } from '../api/types.js';
import type { MemoryRegistry } from '../registry/memory.js';
import type { ImageEntry } from './image-map.js';

/** Container images → local commands (samples/images.yaml, parsed by `loadImageMap`). */
export type ImageMap = readonly ImageEntry[];

export interface LocalRuntimeOptions {
  /** Receives Services and one WorkloadInstance per replica. */
  registry: MemoryRegistry;
  /** Logs go to `<stateDir>/logs/<ns>/<pod>/{app,proxy}.log`; the pod table to `<stateDir>/runtime/pods.json`. */
  stateDir: string;
  /** Working directory of every app; relative paths in commands are relative to it. */
  repoRoot: string;
  /** Image map for containers without a `skiff.dev/command` annotation. */
  images?: ImageMap;
  /** The push URL sidecars and the gateway connect to (`skiff proxy --control-plane`). */
  controlPlaneUrl: string;
  /** Where the ingress gateway serves Gateway ports 80 and 8080. Default 8080. */
  ingressPort?: number;
  /** Further gateway ports: Gateway port → local port (e.g. 31400 → 31400). */
  ingressPorts?: Record<number, number>;
  /** One line at a time: the apps' output (`[pod] line`) and the runtime's events. */
  log: (line: string) => void;
  /** Run each replica with its sidecar (default). false: apps only, reached directly. */
  sidecars?: boolean;
  /** Start the ingress gateway process (default true; forced off without sidecars). */
  gateway?: boolean;
  /** Forward the proxies' own output to `log` too (default false: it stays in proxy.log). */
  logProxies?: boolean;
  /** Crash-restart backoff: first delay and cap, in ms. Default 1000 and 30000. */
  backoffMs?: { initial: number; max: number };
  /** Upper bound on a pod's terminationGracePeriodSeconds, in ms. Default 10000. */
  maxGraceMs?: number;
  /**
   * Time between taking a replica out of the registry and signalling it, so every proxy has
   * stopped sending it requests. Default 1000 ms; stop() does not wait.
   */
  deregisterDelayMs?: number;
  /**
   * Take over the processes a previous runtime of the same state dir left running (after its
   * host was killed) when they still match the desired state. Default true.
   */
  adopt?: boolean;
  /** The argv that runs `skiff` (default: this Node.js and this installation's bin/skiff.js). */
  skiffCommand?: string[];
}

export type PodPhase = 'Pending' | 'Running' | 'CrashLoopBackOff' | 'Terminating' | 'Completed' | 'Error';

export interface PodPorts {
  /** Container port → the app's local port. */
  app: Record<number, number>;
  /** Container port → the sidecar's inbound port (the mesh endpoint); equals `app` without sidecars. */
  mesh: Record<number, number>;
  /** The sidecar's outbound listener (the app's HTTP_PROXY); absent without sidecar. */
  outbound?: number;
  /** The proxy's admin port; absent without sidecar. */
  admin?: number;
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
  /** Process ids (app and proxy) while they run. */
  pids: { app?: number; proxy?: number };
  /** Why the pod is not ready or not running, when known (`exit code 1`, `readiness probe failed: HTTP 503`). */
  reason?: string;
}

/** The ingress gateway as the control plane's translation sees it. */
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

export interface LocalRuntime {
  /** Makes the running set match `resources` (all of them: what is absent is stopped). Resolves once processes are spawned. */
  sync(resources: readonly Resource[]): Promise<void>;
  pods(): PodStatus[];
  gateways(): GatewayTarget[];
  /** Resolves when every pod of the desired state (and the gateway) is ready; rejects after `timeoutMs` naming those that are not. */
  waitReady(timeoutMs: number): Promise<void>;
  /** The log file of a pod's app or proxy (the gateway has only `proxy`; `app` names it too). */
  logFile(pod: string, container: 'app' | 'proxy', namespace?: string): string;
  /** The environment `skiff exec` gives a command run "inside" a workload (deployment or pod name). */
  execEnv(workload: { name: string; namespace?: string }): Record<string, string>;
  /** Stops every process and waits until they have exited. */
  stop(): Promise<void>;
}
