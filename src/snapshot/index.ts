/**
 * The contract between the two planes: the proxy snapshot (node, listeners, route configs,
 * clusters and endpoints, telemetry settings), its validation, the push protocol's messages and
 * framing, and how a delta applies to a snapshot. skiffd computes snapshots and deltas
 * (`src/controlplane`), the proxy compiles and serves them (`src/proxy`); both import this, and it
 * imports nothing of theirs.
 */
export type { NodeConfig, ProxySnapshot, ResolvedSnapshot, WorkloadIdentity } from './snapshot.js';
export type { ChainTransport, FilterChainConfig, FilterChainMatch, HttpListenerOptions, ListenerConfig, PathNormalization, TcpRoute, TcpRouteMatch } from './listeners.js';
export { PATH_NORMALIZATION_OPTIONS } from './listeners.js';
export type { CaptureConfig, CaptureTarget } from './capture.js';
export { captureDestinationKey, captureKey, parseCaptureDestination, type CaptureDestination } from './capture.js';
export type * from './routes.js';
export { ISTIO_DEFAULT_RETRY_POLICY, RouteConfigError } from './routes.js';
export { isRetryOn, parseRetryOn, retryPolicyFromIstio, type IstioRetry, type ParsedRetryOn } from './retries.js';
export type * from './clusters.js';
export { endpointKey } from './clusters.js';
export {
  CONNECTION_POOL_DEFAULTS,
  ClusterConfigError,
  DEFAULT_CHOICE_COUNT,
  DEFAULT_HEALTHY_PANIC_THRESHOLD,
  DEFAULT_MAGLEV_TABLE_SIZE,
  DEFAULT_MINIMUM_RING_SIZE,
  MAX_RING_SIZE,
  OUTLIER_DETECTION_DEFAULTS,
  UNLIMITED,
  WRR_DEFAULTS,
  withDefaults,
} from './cluster-defaults.js';
export type { ClientTlsMode, ClusterTlsConfig, ServerTlsConfig, ServerTlsMode, TlsSecret, TlsSecretPart, TlsSource } from './tls.js';
export { ALPN, istioMutualSni } from './tls.js';
export type { AccessLogFormat, TelemetryConfig } from './telemetry.js';
export type { AuthorizationConfig, AuthzAction, AuthzCondition, AuthzOperation, AuthzPolicyConfig, AuthzRule, AuthzSource, ExtAuthzProviderConfig } from './authorization.js';
export { AUTHZ_ACTIONS, checkAuthorization } from './authorization.js';
export type { JwtRuleConfig, RequestAuthenticationConfig } from './request-authentication.js';
export { checkRequestAuthentication } from './request-authentication.js';
export { TelemetryConfigError, checkSampling, checkTelemetryConfig, checkUrl } from './telemetry.js';
export { SnapshotError } from './checks.js';
export type * from './ratelimit.js';
export { checkRouteRateLimits, checkLocalRateLimit, checkGlobalRateLimit, checkRateLimitFilters } from './ratelimit.js';
export { validateSnapshot, type ValidSnapshot } from './validate.js';
export type * from './protocol.js';
export {
  CONTENT_TYPE,
  DELTA_FEATURE,
  LineSplitter,
  ProtocolError,
  STREAM_PATH,
  encodeLine,
  parseProxyMessage,
  parseServerMessage, NO_CA_REASON,
} from './protocol.js';
export { DeltaError, applyDelta } from './delta.js';
