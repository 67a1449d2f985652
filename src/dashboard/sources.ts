/**
 * What the dashboard shows, as plain JSON shapes, and the interface skiffd implements to feed it.
 * The dashboard server (`server.ts`) only reads through `DashboardSources`, so it can be tested
 * against any implementation and skiffd keeps the figures (`src/controlplane/observe/`).
 */
import type { Resource } from '../api/types.js';

/** A node of the service graph: a workload (app + version), a service, or traffic from outside the mesh. */
export interface GraphNode {
  /** Stable across refreshes: `workload:<ns>/<workload>`, `service:<host>`, `unknown`. */
  id: string;
  kind: 'workload' | 'service' | 'unknown';
  namespace: string;
  /** `app` / `version` labels (canonical service and revision) for workloads. */
  app?: string;
  version?: string;
  workload?: string;
  /** Fully qualified host for services, e.g. `reviews.default.svc.cluster.local`. */
  service?: string;
  /** From the error rate of the requests it receives: under 0.1 % healthy, under 20 % degraded, else failing; idle without traffic. */
  health: 'healthy' | 'degraded' | 'failing' | 'idle';
}

/** An edge: requests from `source` to `target` over the window. */
export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  protocol: 'http' | 'grpc' | 'tcp';
  /** Requests (HTTP/gRPC) or connections (TCP) per second. */
  rate: number;
  /** Share of requests answered 5xx (or a non-OK grpc status), 0..1; 0 for TCP. */
  errorRate: number;
  /**
   * Share of requests a rate limit answered (429 with response flag RL), 0..1; 0 for TCP. Their
   * own category: the limit did its job, so they are not errors of the destination.
   */
  rateLimitedRate: number;
  /** Requests a rate limit answered over the window (the count behind `rateLimitedRate`). */
  rateLimited: number;
  /**
   * Requests authorization denied over the window: Envoy's RBAC filter (AuthorizationPolicy ALLOW
   * and DENY) answers 403 — gRPC PERMISSION_DENIED — with no response flag, ext_authz (CUSTOM
   * policies) sets flag UAEX. Their own category, as rate limits are: the policy did its job, so
   * they are not errors of the destination. 0 for TCP.
   */
  denied: number;
  /** `denied` as a share of the edge's requests, 0..1. */
  deniedRate: number;
  /** Who denied whom, one entry per deciding proxy, caller and filter, most requests first. */
  denials: EdgeDenial[];
  /** Latency percentiles from the histogram buckets; null without requests or for TCP. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Requests per second by response code, e.g. { "200": 9.5, "503": 0.5 }. */
  byCode: Record<string, number>;
  /** Requests per second by response flags other than `-`, e.g. { "UO": 0.2 }. */
  byFlags: Record<string, number>;
  /** TCP bytes per second, sent + received; 0 for HTTP. */
  bytesPerSecond: number;
  /**
   * Share of the requests (connections) the destination's proxy received over mutual TLS, 0..1
   * (its `connection_security_policy="mutual_tls"`): the graph draws a padlock when it is above 0,
   * as Kiali does.
   */
  mtlsShare: number;
  health: 'healthy' | 'degraded' | 'failing' | 'idle';
}

/**
 * Requests of one caller one proxy denied. Istio's metrics do not name the policy that decided
 * (Envoy puts it in the access log's response code details only), so this says where to ask:
 * `skiff authz explain` on `workload` with the caller's `principal` names the policy and rule.
 */
export interface EdgeDenial {
  /** The filter that denied: RBAC (ALLOW/DENY policies) or ext_authz (CUSTOM policies). */
  by: 'rbac' | 'ext_authz';
  /** The workload whose proxy denied (the destination's sidecar, or the gateway), and its namespace. */
  workload: string;
  namespace: string;
  /** The caller's identity as that proxy saw it (`source_principal`, e.g. `spiffe://cluster.local/ns/default/sa/curl`); `unknown` for a plaintext caller. */
  principal: string;
  /** Denied requests over the window. */
  requests: number;
}

export interface ServiceGraph {
  /** Epoch milliseconds of the newest figures used. */
  timestamp: number;
  windowSeconds: number;
  namespaces: string[];
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface GraphQuery {
  /** Only nodes in these namespaces, and edges touching them; all when absent or empty. */
  namespaces?: string[];
  /** Rate window, seconds (default 60). */
  windowSeconds?: number;
}

/** One span as the collector keeps it (Zipkin v2's model). */
export interface TraceSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind: 'CLIENT' | 'SERVER';
  /** `<app>.<namespace>` of the proxy that reported it. */
  serviceName: string;
  /** Microseconds since the epoch. */
  timestampUs: number;
  durationUs: number;
  error: boolean;
  tags: Record<string, string>;
}

export interface TraceSummary {
  traceId: string;
  /** The root span's service and name (the earliest span when the root is missing). */
  rootService: string;
  rootName: string;
  startUs: number;
  durationUs: number;
  spanCount: number;
  services: string[];
  error: boolean;
}

/** An applied resource with what `skiff analyze` says of it. */
export interface ConfigEntry {
  resource: Resource;
  messages: { code: string; level: 'Error' | 'Warning' | 'Info'; message: string }[];
}

/** A row of `skiff proxy-status`. */
export interface ProxyRow {
  id: string;
  kind: string;
  workload?: string;
  namespace?: string;
  version?: string;
  status: string;
  adminUrl?: string;
  metricsUrl?: string;
}

/** A rate-limit filter on a listener, as `skiff proxy-config ratelimit` lists it. */
export interface RateLimitFilterRow {
  listener: string;
  filter: 'envoy.filters.http.local_ratelimit' | 'envoy.filters.http.ratelimit';
  statPrefix: string;
  /** Local: the token bucket, enabled and enforced shares, descriptors. Global: domain, service cluster, timeout, fail open or closed. */
  settings: string;
}

/** A virtual host (`route` is `*`) or route with its own local limit or `rate_limits`. */
export interface RateLimitRouteRow {
  routeConfig: string;
  virtualHost: string;
  route: string;
  /** Its own token bucket, or `-`. */
  local: string;
  /** The descriptors its `rate_limits` actions make, one `[...]` per entry, or `-`. */
  descriptors: string;
}

/** The rate-limit filters of one proxy; both lists empty when no rate-limit patch applies to it. */
export interface RateLimitListing {
  filters: RateLimitFilterRow[];
  routes: RateLimitRouteRow[];
}

/** An edge of the graph touching a proxy's workload, with the requests a rate limit answered on it (429, flag RL). */
export interface RateLimitedEdge {
  id: string;
  source: string;
  target: string;
  /** Requests over the window, and their share of the edge. */
  rateLimited: number;
  rateLimitedRate: number;
}

/** One proxy's rate-limit filters in force, with the 429s its workload's edges counted. */
export interface ProxyRateLimits {
  /** The proxy as `/api/proxies` lists it. */
  proxy: ProxyRow;
  /** The graph node of its workload (`workload:<namespace>/<workload>`, the Deployment for its pods), null when it announced none. */
  node: string | null;
  /** What its `/config_dump` says; null when it could not be read (`error` says why). */
  listing: RateLimitListing | null;
  error?: string;
  /** The edges into and out of its workload's node carrying rate-limited requests, over the window. */
  rateLimitedEdges: RateLimitedEdge[];
}

export interface RateLimitsAnswer {
  windowSeconds: number;
  proxies: ProxyRateLimits[];
}

export interface DashboardSources {
  graph(query: GraphQuery): ServiceGraph | Promise<ServiceGraph>;
  /** Newest first. */
  traces(opts: { limit: number; service?: string }): TraceSummary[] | Promise<TraceSummary[]>;
  trace(traceId: string): TraceSpan[] | undefined | Promise<TraceSpan[] | undefined>;
  config(): ConfigEntry[] | Promise<ConfigEntry[]>;
  proxies(): ProxyRow[] | Promise<ProxyRow[]>;
  /** Every connected proxy's rate-limit filters, read from the proxy itself, and the 429s (RL) on its workload's edges over `query.windowSeconds`. */
  rateLimits(query: GraphQuery): RateLimitsAnswer | Promise<RateLimitsAnswer>;
}
