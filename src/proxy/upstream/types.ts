/**
 * The runtime interfaces the request path uses to pick, limit and judge upstream hosts. What a
 * snapshot says about clusters and endpoints is in `src/snapshot/clusters.ts`.
 */
import type { EndpointConfig } from '../../snapshot/index.js';

/** Time source; inject a manual one in tests to run on virtual time. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimer(fn: () => void, ms: number): TimerHandle;
}

export interface TimerHandle {
  cancel(): void;
}

/** Uniform random number in [0, 1). */
export type Random = () => number;

/** Per-host counters, named as in Envoy's admin `/clusters` output. */
export interface EndpointStats {
  cx_active: number;
  cx_total: number;
  cx_connect_fail: number;
  rq_active: number;
  rq_total: number;
  rq_success: number;
  rq_error: number;
  rq_timeout: number;
}

/** A host at runtime. The object stays the same across cluster updates that keep its `ip:port`. */
export interface Endpoint {
  /** `ip:port` (IPv6 in brackets). */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  /** Latest config for this host. */
  readonly config: EndpointConfig;
  readonly weight: number;
  /** Readiness from the registry. */
  readonly healthy: boolean;
  /** Ejected by outlier detection. */
  readonly ejected: boolean;
  /** Removed by a cluster update: no new requests; pooled connections close when idle. */
  readonly draining: boolean;
  /** Requests in flight; the request path increments/decrements it (LEAST_REQUEST reads it). */
  activeRequests: number;
  readonly stats: EndpointStats;
  /**
   * Envoy's admin `/clusters` `health_flags`: `healthy`, or `/`-joined reasons among
   * `/failed_eds_health`, `/failed_outlier_check`, `/pending_dynamic_removal`.
   */
  healthFlags(): string;
}

export interface PickContext {
  /**
   * Consistent-hash key (header value, cookie, source IP, query parameter; see `hashKeyFor`).
   * Absent under RING_HASH/MAGLEV: a random host, as Envoy does.
   */
  hashKey?: string | number;
  /**
   * Hosts to avoid (retries: Istio's default `previous_hosts` retry predicate). A preference:
   * an excluded host is still returned when nothing else is available.
   */
  exclude?: Endpoint | ReadonlySet<Endpoint>;
  /** PASSTHROUGH / original-dst clusters: where the downstream connection was headed. */
  originalDestination?: { address: string; port: number };
}

/** A load-balancing algorithm over one fixed host set (rebuilt when the set changes). */
export interface LoadBalancer {
  pick(ctx: PickContext): Endpoint | undefined;
}
