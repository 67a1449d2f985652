/**
 * The proxy's check of a snapshot: the contract's validation (`src/snapshot`) with every route
 * config compiled into the route table the listeners will serve, so nothing can fail while
 * applying it.
 */
import { validateSnapshot, type ValidSnapshot } from '../snapshot/index.js';
import { compileRouteConfig, type RouteTable } from './http/route/compile.js';

/** A validated snapshot with its route tables compiled. */
export type CheckedSnapshot = ValidSnapshot<RouteTable>;

/** Validates a snapshot (as parsed from JSON) and compiles its route tables; throws `SnapshotError`. */
export function checkSnapshot(input: unknown): CheckedSnapshot {
  return validateSnapshot(input, compileRouteConfig);
}
