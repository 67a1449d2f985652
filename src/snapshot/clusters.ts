/**
 * The upstream part of the proxy snapshot: clusters and their endpoints, as plain JSON data the
 * control plane compiles from Services/ServiceEntries and DestinationRules.
 *
 * Vocabulary follows Istio/Envoy: a cluster is named `outbound|PORT|SUBSET|HOST` or
 * `inbound|PORT||`; endpoints are `ip:port`; field names are the DestinationRule ones with
 * durations converted to milliseconds. `cluster-defaults.ts` resolves Istio's defaults.
 */

import type { ClusterTlsConfig } from './tls.js';

/** One upstream host of a cluster. */
export interface EndpointConfig {
  /** IPv4/IPv6 literal (or a host name for DNS-style ServiceEntries resolved by the data path). */
  address: string;
  port: number;
  labels?: Record<string, string>;
  /** Load-balancing weight, >= 1 (Envoy's `load_balancing_weight`). Default 1. */
  weight?: number;
  /**
   * Readiness from the registry; `false` hosts get traffic only in panic mode. Default true.
   * Istio leaves unready endpoints out of the snapshot altogether; a snapshot that includes them
   * should set `healthyPanicThresholdPercent: 0`, or they receive traffic once fewer than half of
   * the hosts are ready (Envoy's default panic threshold).
   */
  healthy?: boolean;
  /** `region/zone/subzone`. */
  locality?: string;
  /** `istio` when the endpoint runs a sidecar accepting Istio mTLS (auto-mTLS). */
  tlsMode?: 'istio' | 'disabled';
  /** Identity the endpoint presents, e.g. `spiffe://cluster.local/ns/default/sa/reviews`. */
  serviceAccount?: string;
  /** Workload the endpoint belongs to, for telemetry labels. */
  workload?: { name: string; namespace: string };
}

/** Where a consistent-hash load balancer takes its key from (Istio `consistentHash`). */
export type HashKeySource =
  | { header: string }
  /**
   * Envoy semantics: cookie present → its value is the key; absent and `ttlMs` undefined → no key
   * (the pick is random); absent and `ttlMs` set → the proxy generates one and sets it on the
   * response (`ttlMs: 0` = session cookie).
   */
  | { cookie: { name: string; path?: string; ttlMs?: number } }
  | { sourceIp: true }
  | { queryParameter: string };

export type SimpleLbPolicyName = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'PASSTHROUGH';
export type HashLbPolicyName = 'RING_HASH' | 'MAGLEV';

export type LbPolicy =
  | {
      policy: SimpleLbPolicyName;
      /** LEAST_REQUEST only: hosts sampled per pick (Envoy `choice_count`). Default 2. */
      choiceCount?: number;
    }
  | ({ policy: 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN' } & Partial<BackendUtilizationConfig>)
  | {
      policy: HashLbPolicyName;
      hash: HashKeySource;
      /** RING_HASH: minimum ring entries (Envoy default 1024, max 8M). */
      minimumRingSize?: number;
      /** MAGLEV: lookup table size, a prime (Envoy default 65537). */
      tableSize?: number;
    };

/**
 * Envoy's client-side weighted round robin (Istio's `loadBalancer.backendUtilization`): each
 * endpoint weighted by the load it reports in ORCA form on its responses (the
 * `endpoint-load-metrics` header), weight = qps / (utilization + eps / qps × errorUtilizationPenalty).
 */
export interface BackendUtilizationConfig {
  /** How often weights are recomputed from the reports. Envoy's default 1 s, at least 100 ms. */
  weightUpdatePeriodMs: number;
  /** A host that has not reported for this long goes back to the default weight. Default 3 min. */
  weightExpirationPeriodMs: number;
  /** Blackout: a host's weight is used only once it has reported for this long. Default 10 s. */
  blackoutPeriodMs: number;
  /** Multiplier of eps / qps in the utilization (Istio's percent / 100). Default 1. */
  errorUtilizationPenalty: number;
  /** ORCA named metrics whose maximum is the utilization when application_utilization is not reported. */
  metricNamesForComputingUtilization: string[];
}

/**
 * DestinationRule `connectionPool` (tcp + http) flattened, durations in ms. Every field is
 * resolved by `withDefaults`; the Istio defaults are in `CONNECTION_POOL_DEFAULTS`.
 */
export interface ConnectionPoolConfig {
  /** tcp.maxConnections: connections to all hosts of the cluster (HTTP/1.1 and TCP). */
  maxConnections: number;
  /** tcp.connectTimeout. */
  connectTimeoutMs: number;
  /** tcp.idleTimeout for opaque TCP proxying; 0 disables. */
  tcpIdleTimeoutMs: number;
  /** tcp.maxConnectionDuration; 0 = none. */
  maxConnectionDurationMs: number;
  /** http.http1MaxPendingRequests: requests queued waiting for a connection. */
  http1MaxPendingRequests: number;
  /** http.http2MaxRequests: active requests to all hosts (HTTP/1.1 and HTTP/2). */
  http2MaxRequests: number;
  /** http.maxRequestsPerConnection: 0 = unlimited, 1 = no keep-alive. */
  maxRequestsPerConnection: number;
  /** http.maxRetries: retries outstanding to all hosts at a time. */
  maxRetries: number;
  /** http.idleTimeout for upstream pooled connections; 0 disables. */
  idleTimeoutMs: number;
  /** http.maxConcurrentStreams per HTTP/2 connection. */
  maxConcurrentStreams: number;
  /** http.h2UpgradePolicy resolved to a boolean: upgrade HTTP/1.1 to HTTP/2 upstream. */
  h2Upgrade: boolean;
  /** http.useClientProtocol. */
  useClientProtocol: boolean;
}

/** DestinationRule `outlierDetection`, durations in ms; defaults in `OUTLIER_DETECTION_DEFAULTS`. */
export interface OutlierDetectionConfig {
  /** Consecutive 5xx (and, unsplit, local-origin failures) before ejection; 0 disables. Default 5. */
  consecutive5xxErrors: number;
  /** Consecutive 502/503/504 (and, unsplit, connect failures/timeouts); 0 disables. Default 0. */
  consecutiveGatewayErrors: number;
  /** Consecutive local-origin failures; only with `splitExternalLocalOriginErrors`. Default 5. */
  consecutiveLocalOriginFailures: number;
  /** Count connect failures/timeouts/resets apart from HTTP statuses. Default false. */
  splitExternalLocalOriginErrors: boolean;
  /** Ejection sweep interval. Default 10s. */
  intervalMs: number;
  /** Ejection lasts baseEjectionTime × times ejected. Default 30s. */
  baseEjectionTimeMs: number;
  /** Cap on one ejection (Envoy `max_ejection_time`): max(300s, baseEjectionTime). */
  maxEjectionTimeMs: number;
  /** Most hosts that may be ejected at once, in percent. Default 10. */
  maxEjectionPercent: number;
  /**
   * Below this healthy percentage the cluster balances across all hosts, ejected or not
   * (Istio maps it to Envoy's healthy panic threshold). Default 0 = never.
   */
  minHealthPercent: number;
}

/** Metadata carried for telemetry labels and admin output. */
export interface ClusterMetadata {
  serviceHost?: string;
  serviceName?: string;
  serviceNamespace?: string;
  subset?: string;
}

/** A fully resolved cluster, as `withDefaults` returns it. */
export interface ClusterConfig {
  /** `outbound|9080|v1|reviews.default.svc.cluster.local`, `inbound|9080||`, `PassthroughCluster`. */
  name: string;
  /** `static`: endpoints listed; `original-dst`: connect to the request's original destination. */
  discovery: 'static' | 'original-dst';
  protocol: 'http1' | 'http2' | 'auto' | 'tcp';
  endpoints: EndpointConfig[];
  lb: LbPolicy;
  connectionPool: ConnectionPoolConfig;
  /** Absent: outlier detection off. */
  outlierDetection?: OutlierDetectionConfig;
  /**
   * Envoy's healthy panic threshold in percent: when fewer hosts than this are healthy and not
   * ejected, balance across all hosts. 50 by default; Istio sets it to `minHealthPercent` when
   * outlier detection is configured (so 0, panic off, unless the user raises it).
   */
  healthyPanicThresholdPercent: number;
  metadata?: ClusterMetadata;
  /** TLS originated towards the endpoints (`tls.ts`); absent or DISABLE: plaintext. */
  tls?: ClusterTlsConfig;
  /**
   * The source address of the cluster's upstream connections (Envoy's
   * `upstream_bind_config.source_address`); absent: the system picks it. A captured sidecar's
   * inbound clusters leave from 127.0.0.6, which the capture rules let through to the app instead
   * of redirecting them back to the inbound capture port.
   */
  upstreamBindAddress?: string;
}

/** What the control plane or a snapshot file provides; `withDefaults` fills in the rest. */
export interface ClusterConfigInput {
  name: string;
  discovery?: ClusterConfig['discovery'];
  protocol?: ClusterConfig['protocol'];
  endpoints?: EndpointConfig[];
  lb?: LbPolicy;
  connectionPool?: Partial<ConnectionPoolConfig>;
  outlierDetection?: Partial<OutlierDetectionConfig>;
  healthyPanicThresholdPercent?: number;
  metadata?: ClusterMetadata;
  tls?: ClusterTlsConfig;
  upstreamBindAddress?: string;
}

/** An endpoint's `ip:port` key, with IPv6 literals bracketed as in Envoy's admin output. */
export function endpointKey(address: string, port: number): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]:${port}` : `${address}:${port}`;
}
