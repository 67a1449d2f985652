/**
 * The HTTP router's public surface: the route snapshot types, the compiler producing a
 * RouteTable, and the per-route decisions (destinations, rewrites, faults, retries, CORS).
 */
export type * from './types.js';
export { ISTIO_DEFAULT_RETRY_POLICY } from './types.js';
export { compileRouteConfig, RouteTable } from './compile.js';
export { RouteConfigError } from './errors.js';
export { SelectedRoute, shadowAuthority, type CompiledDestination } from './selected.js';
export type { FaultDecision } from './fault.js';
export { GRPC_STATUS_CODES } from './fault.js';
export type { HeaderList, LocalResponse } from './cors.js';
export {
  CompiledRetryPolicy,
  parseRetryOn,
  retryPolicyFromIstio,
  type IstioRetry,
  type ParsedRetryOn,
  type RetryOutcome,
} from './retry.js';
export { findQueryParam } from './matchers.js';
