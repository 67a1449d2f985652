/**
 * The route part of the proxy snapshot: plain, JSON-serialisable data that the control plane
 * produces from Istio VirtualServices (Istio's vocabulary kept), and the error a route config
 * that cannot be compiled raises.
 */
import type { RouteRateLimits } from './ratelimit.js';

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

/**
 * Istio `StringMatch`: exactly one of `exact`, `prefix`, `regex` (RE2, whole-string).
 * Exact and prefix are case-sensitive (except URIs under `ignoreUriCase`).
 */
export type StringMatch = { exact: string } | { prefix: string } | { regex: string };

/**
 * A header or query parameter condition. `{ present: true }` is Istio's empty match (`{}`);
 * `{ regex: '*' }` and `{}` are accepted too and also mean presence, as in Istio.
 */
export type HeaderMatch = StringMatch | { present: true } | Record<string, never>;

/** Istio `HTTPMatchRequest`: every condition set in one block must hold (AND). */
export interface RouteMatch {
  /** Name of the match block, for logs (Istio `match[].name`). */
  name?: string;
  /** Matched against the request path: prefix on the raw path, exact/regex without the query. */
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  /** Matched against the Host / :authority value as sent, port included. */
  authority?: StringMatch;
  /**
   * Keys are lowercase header names; `uri`, `scheme`, `method`, `authority` are ignored (Istio).
   * `@request.auth.claims.<name>` keys match claims of the validated JWT instead.
   */
  headers?: Record<string, HeaderMatch>;
  /** The block does not match if any of these header conditions holds. */
  withoutHeaders?: Record<string, HeaderMatch>;
  /** Query parameters, first occurrence, percent-decoded. `{ exact: '' }` matches `?key`. */
  queryParams?: Record<string, HeaderMatch>;
  /** Listener / destination port the request arrived on. */
  port?: number;
  /** Every label must be present on the calling workload with this value. */
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  /** Gateway names (`namespace/name` or `name`), or `mesh` for sidecars. */
  gateways?: string[];
  /** Makes `uri` exact and prefix matching ASCII case-insensitive. */
  ignoreUriCase?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------------------------

/** Istio `Headers.HeaderOperations`; values are literal strings. Names are matched case-insensitively. */
export interface HeaderOps {
  /** Overwrite (or add) the header. */
  set?: Record<string, string>;
  /** Append a value (the header may end up repeated). */
  add?: Record<string, string>;
  /** Remove the header. Applied before `set` and `add`. */
  remove?: string[];
}

/**
 * Istio `LoadBalancerSettings.ConsistentHashLB` key source, copied onto the destination by the
 * control plane from the DestinationRule of that destination; the load balancer consumes it.
 */
export type HashPolicy =
  | { httpHeaderName: string }
  | { httpCookie: { name: string; path?: string; ttlMs?: number } }
  | { useSourceIp: true }
  | { httpQueryParameterName: string };

/** Istio `HTTPRouteDestination` after resolution to a cluster name. */
export interface WeightedCluster {
  /** Cluster name, e.g. `outbound|9080|v2|reviews.default.svc.cluster.local`. */
  cluster: string;
  /** Relative weight; with two or more destinations, 0 gets no traffic. Ignored for a single one. */
  weight: number;
  requestHeaders?: HeaderOps;
  responseHeaders?: HeaderOps;
  hashPolicy?: HashPolicy;
}

/** Envoy retry conditions Istio accepts in `retryOn`. */
export type RetryOn =
  | '5xx'
  | 'gateway-error'
  | 'reset'
  | 'reset-before-request'
  | 'connect-failure'
  | 'envoy-ratelimited'
  | 'retriable-4xx'
  | 'refused-stream'
  | 'retriable-status-codes'
  | 'retriable-headers'
  | 'http3-post-connect-failure'
  | 'cancelled'
  | 'deadline-exceeded'
  | 'internal'
  | 'resource-exhausted'
  | 'unavailable';

/** Istio `HTTPRetry` in the form Envoy applies it. */
export interface RetryPolicy {
  /** Retries after the first try (total tries = attempts + 1); 0 disables retries. */
  attempts: number;
  /** Per-try timeout; absent = the route timeout. */
  perTryTimeoutMs?: number;
  retryOn: readonly RetryOn[];
  /** Status codes retried under `retriable-status-codes`. */
  retriableStatusCodes: readonly number[];
  /** Retry on endpoints of other localities too. */
  retryRemoteLocalities?: boolean;
  /**
   * Prefer hosts not tried yet for retries (Envoy's previous_hosts predicate, 5 selection
   * attempts). Absent = true, Istio's default, except for consistent-hash destinations.
   */
  retryIgnorePreviousHosts?: boolean;
  /** Base interval of the jittered exponential backoff (Envoy: 25 ms). */
  backoffBaseMs: number;
  /** Cap of the backoff; absent = 10 × base (Envoy). */
  backoffMaxMs?: number;
}

/**
 * Istio's retry policy for routes whose VirtualService has no `retries` (and no mesh-wide
 * `defaultHttpRetryPolicy`): 2 retries on connection failures, refused streams and gRPC
 * `unavailable`/`cancelled`; no retriable status codes (503 left the defaults in Istio 1.23).
 */
export const ISTIO_DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  attempts: 2,
  retryOn: Object.freeze([
    'connect-failure',
    'refused-stream',
    'unavailable',
    'cancelled',
    'retriable-status-codes',
  ] as const),
  retriableStatusCodes: Object.freeze([]),
  backoffBaseMs: 25,
});

/** A mirror target; `percent` absent = 100 (Istio `mirrorPercentage` default). */
export interface MirrorPolicy {
  cluster: string;
  /** 0..100, fractional allowed (`0.1` = 0.1 %). */
  percent?: number;
}

/** Istio `HTTPRewrite`. `uri` and `uriRegex` are mutually exclusive. */
export interface Rewrite {
  /**
   * Replaces the part of the path the route matched: the matched prefix for a prefix match
   * (no uri match counts as prefix `/`), the whole path (query kept) for exact and regex matches.
   */
  uri?: string;
  /** RE2 `match` applied to the path without query; every match replaced by `rewrite` (`\1` captures). */
  uriRegex?: { match: string; rewrite: string };
  /** Replaces the Host / :authority sent upstream. */
  authority?: string;
}

/** Istio `HTTPFaultInjection`. */
export interface FaultInjection {
  delay?: {
    fixedDelayMs: number;
    /** 0..100; absent = no request is delayed (Istio). */
    percent?: number;
  };
  abort?: {
    /** HTTP status of the injected response; exactly one of httpStatus / grpcStatus. */
    httpStatus?: number;
    /** gRPC status name (`UNAVAILABLE`, `NOT_FOUND`, ...) or its number as a string. */
    grpcStatus?: string;
    /** 0..100; absent = no request is aborted (Istio). */
    percent?: number;
  };
}

/** Istio `CorsPolicy`. */
export interface CorsPolicy {
  allowOrigins?: StringMatch[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAgeSeconds?: number;
  allowCredentials?: boolean;
  /** What to do with a preflight whose origin is not allowed: FORWARD (default) or IGNORE (answer, no CORS headers). */
  unmatchedPreflights?: 'FORWARD' | 'IGNORE';
}

/** Forward to weighted clusters (Istio `route`). */
export interface ForwardAction {
  type: 'route';
  destinations: WeightedCluster[];
  /** Route timeout; 0 or absent = none (Istio's default). */
  timeoutMs?: number;
  /** Absent = no retries; the control plane puts ISTIO_DEFAULT_RETRY_POLICY here when the VS has no `retries`. */
  retry?: RetryPolicy;
  mirrors?: MirrorPolicy[];
  rewrite?: Rewrite;
}

/** Istio `HTTPRedirect`. */
export interface RedirectAction {
  type: 'redirect';
  /** Replaces the path; the request's query is kept unless this contains `?`. */
  uri?: string;
  authority?: string;
  port?: number;
  /** FROM_PROTOCOL_DEFAULT (default): no explicit port; FROM_REQUEST_PORT: the port the request arrived on. */
  derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  scheme?: string;
  /** 301 (default), 302, 303, 307 or 308. */
  redirectCode?: number;
}

/** Istio `HTTPDirectResponse`. */
export interface DirectResponseAction {
  type: 'direct';
  status: number;
  body?: string;
}

export type RouteAction = ForwardAction | RedirectAction | DirectResponseAction;

/** One Istio `HTTPRoute`, with delegates already inlined by the control plane. */
export interface Route {
  /** Route name (Istio `http[].name`, or generated); shown as %ROUTE_NAME% in access logs. */
  name: string;
  /** Blocks are ORed; empty = matches every request. */
  match: RouteMatch[];
  action: RouteAction;
  /** Applied to every action kind, before the action (Envoy's fault filter). */
  fault?: FaultInjection;
  /** Applied to every action kind (Envoy's CORS filter). */
  cors?: CorsPolicy;
  requestHeaders?: HeaderOps;
  responseHeaders?: HeaderOps;
  /** The rate-limit filters' per-route config and `rate_limits` (from EnvoyFilter HTTP_ROUTE patches). */
  rateLimits?: RouteRateLimits;
}

export interface VirtualHost {
  name: string;
  /** The rate-limit filters' per-virtual-host config and `rate_limits` (EnvoyFilter VIRTUAL_HOST patches). */
  rateLimits?: RouteRateLimits;
  /** `reviews.default.svc.cluster.local`, `reviews`, `reviews:9080`, `*.example.com`, `foo.*`, `*`. */
  domains: string[];
  routes: Route[];
  /** How a CONNECT to one of the domains is served; absent: as a byte tunnel, routed as any request. */
  connect?: VirtualHostConnect;
}

/**
 * Set on a sidecar's outbound virtual host of a service port that speaks HTTP (declared HTTP,
 * HTTP2 or GRPC, or undeclared and sniffed). A CONNECT there stands for a connection captured to
 * that port: the sidecar answers it 200 and serves the HTTP/1.1 or HTTP/2 requests inside through
 * this virtual host's routes, each request on its own (routing, balancing, faults, retries,
 * telemetry), as Envoy serves a captured connection on the port's HTTP listener. Bytes that are
 * neither go to `tcpCluster` as a byte tunnel.
 */
export interface VirtualHostConnect {
  /** What the tunnel carries, told from its first bytes. */
  serve: 'http';
  /** The cluster a tunnel whose first bytes are not HTTP goes to: the service port's own. */
  tcpCluster: string;
}

export interface RouteConfig {
  name: string;
  virtualHosts: VirtualHost[];
}

/**
 * A route configuration that cannot be compiled, naming the field path
 * (`virtualHosts[0].routes[2].match[0].uri.regex`) so the snapshot can be NACKed with a reason.
 */
export class RouteConfigError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'RouteConfigError';
  }
}
