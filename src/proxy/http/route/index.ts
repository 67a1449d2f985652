/**
 * The HTTP router's public surface: the request view it reads, the compiler producing a
 * RouteTable, and the per-route decisions (destinations, rewrites, faults, retries, CORS).
 */
export type * from './request.js';
export { compileRouteConfig, RouteTable } from './compile.js';
export { SelectedRoute, shadowAuthority, type CompiledDestination } from './selected.js';
export type { FaultDecision } from './fault.js';
export { GRPC_STATUS_CODES } from './fault.js';
export type { HeaderList, LocalResponse } from './cors.js';
export { CompiledRetryPolicy, type RetryOutcome } from './retry.js';
export { findQueryParam } from './matchers.js';
