/**
 * The local runtime's public shapes: its options and the runtime handle itself, a workload
 * provider (`src/registry/workload-provider.ts` has the pod status and gateway shapes it reports).
 */
import type { Registry, WorkloadSink } from '../registry/types.js';
import type { WorkloadProvider } from '../registry/workload-provider.js';
import type { ImageEntry } from './image-map.js';

export type { GatewayTarget, PodPhase, PodPorts, PodStatus } from '../registry/workload-provider.js';

/** Container images → local commands (samples/images.yaml, parsed by `loadImageMap`). */
export type ImageMap = readonly ImageEntry[];

export interface LocalRuntimeOptions {
  /** Receives one WorkloadInstance per replica (Services reach the registry through its Service sync). */
  registry: WorkloadSink;
  /**
   * Services and endpoints as the registry holds them: pods without a sidecar reach Services
   * through the runtime's per-namespace service proxy (`service-proxy.ts`), which resolves them here.
   */
  services?: Pick<Registry, 'snapshot'>;
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

/** The local runtime: a workload provider that runs pods as local processes, with its own verbs. */
export interface LocalRuntime extends WorkloadProvider {
  /** The log file of a pod's app or proxy (the gateway has only `proxy`; `app` names it too). */
  logFile(pod: string, container: 'app' | 'proxy', namespace?: string): string;
  /** The environment `skiff exec` gives a command run "inside" a workload (deployment or pod name). */
  execEnv(workload: { name: string; namespace?: string }): Record<string, string>;
}
