/**
 * The HTTP router's public surface: the request view it reads, the compiler producing a
 * RouteTable, and the compiled route (destinations, rewrites, retries, and its per-route filters).
 */
export type * from './request.js';
export { compileRouteConfig, RouteTable } from './compile.js';
export { SelectedRoute, type CompiledDestination, type RouteFilters } from './selected.js';
export { CompiledRetryPolicy, type RetryOutcome } from './retry.js';
export { findQueryParam } from './matchers.js';
