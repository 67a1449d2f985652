/** The options of `skiff up`, shared by its foreground and detached paths. */
import type { MeshTelemetryCliOptions } from '../telemetry/mesh-cli-options.js';

export interface UpOptions extends MeshTelemetryCliOptions {
  filename?: string[];
  images?: string;
  ingressPort: number;
  /** `--gateway-port`: further Gateway server ports → local ports. */
  gatewayPort?: Record<number, number>;
  apiPort: number;
  pushPort: number;
  /** Absent: skiffd's default (20001, skipped when taken). */
  dashboardPort?: number;
  /** `--port-offset N`: added to every fixed port not given explicitly (`up-ports.ts`). */
  portOffset?: number;
  stateDir?: string;
  namespace?: string;
  detach?: boolean;
  /** commander's negation of `--no-runtime`: false runs config only (store, API, push). */
  runtime: boolean;
  /** commander's negation of `--no-sidecars`. */
  sidecars: boolean;
  /** Log every push and proxy connection too. */
  verbose?: boolean;
  /** Seconds `--detach` waits for every workload to be ready. */
  timeout: number;
  /** `--ca-certs DIR`: a plugged-in CA laid out as Istio's cacerts; absent: a self-signed root in the state directory. */
  caCerts?: string;
  /** `--workload-cert-ttl`: lifetime of workload certificates in ms (default 24 h). */
  workloadCertTtl?: number;
}
