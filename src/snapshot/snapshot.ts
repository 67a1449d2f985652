/**
 * The proxy snapshot: the complete, plain-JSON configuration of one proxy (node identity,
 * listeners, route configs, clusters, telemetry settings) as the control plane or a file provides
 * it. Each part's shape lives in its own file; `validate.ts` checks a snapshot whole.
 */
import type { AuthorizationConfig } from './authorization.js';
import type { ClusterConfig, ClusterConfigInput } from './clusters.js';
import type { ListenerConfig } from './listeners.js';
import type { RequestAuthenticationConfig } from './request-authentication.js';
import type { RouteConfig } from './routes.js';
import type { TelemetryConfig } from './telemetry.js';
import type { TlsSecret } from './tls.js';

export interface WorkloadIdentity {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string;
}

export interface NodeConfig {
  id: string;
  kind: 'sidecar' | 'gateway';
  workload?: WorkloadIdentity;
}

export interface ProxySnapshot {
  version: string;
  node: NodeConfig;
  listeners: ListenerConfig[];
  routes: RouteConfig[];
  /** As provided; `validateSnapshot` returns them with every default resolved. */
  clusters: (ClusterConfigInput | ClusterConfig)[];
  /** Access logging and tracing (`telemetry.ts`); absent = the proxy's command-line defaults. */
  telemetry?: TelemetryConfig;
  /**
   * Named certificates, keys and CA bundles that listeners' and clusters' TLS take by name
   * (`{secret: name}`), as Envoy takes SDS secrets: gateway credentials from Kubernetes Secrets.
   */
  secrets?: TlsSecret[];
  /**
   * The AuthorizationPolicies in force on the proxy's server side (`authorization.ts`): a
   * sidecar's inbound listeners, a gateway's listeners. Absent: none.
   */
  authorization?: AuthorizationConfig;
  /** The JWT rules of the RequestAuthentications in force, on the same listeners (`request-authentication.ts`). */
  requestAuthentication?: RequestAuthenticationConfig;
}

/** A snapshot as validation returns it: every cluster with its defaults resolved. */
export type ResolvedSnapshot = ProxySnapshot & { clusters: ClusterConfig[] };
