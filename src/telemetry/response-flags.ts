/**
 * Envoy's response flags: why a request ended the way it did, as one bit each, printed as
 * Envoy's short codes (`UH`, `UF,URX`, ...) in Envoy's own order, `-` when none.
 */

export const ResponseFlag = {
  /** No healthy upstream host. */
  UH: 1 << 0,
  /** Upstream request timeout. */
  UT: 1 << 1,
  /** Connection local reset. */
  LR: 1 << 2,
  /** Upstream remote reset. */
  UR: 1 << 3,
  /** Upstream connection failure. */
  UF: 1 << 4,
  /** Upstream connection termination. */
  UC: 1 << 5,
  /** Upstream overflow (circuit breaking). */
  UO: 1 << 6,
  /** No route found. */
  NR: 1 << 7,
  /** Delay injected by fault injection. */
  DI: 1 << 8,
  /** Abort injected by fault injection. */
  FI: 1 << 9,
  /** Rate limited locally or by the rate-limit service (429). */
  RL: 1 << 16,
  /** Denied by the external authorization service (ext_authz). */
  UAEX: 1 << 17,
  /** The rate-limit service failed and the filter denies on failure (500). */
  RLSE: 1 << 18,
  /** Downstream connection termination. */
  DC: 1 << 10,
  /** Upstream retry limit exceeded. */
  URX: 1 << 11,
  /** Stream idle timeout. */
  SI: 1 << 12,
  /** Downstream protocol error. */
  DPE: 1 << 13,
  /** Upstream protocol error. */
  UPE: 1 << 14,
  /** No cluster found. */
  NC: 1 << 15,
} as const;

export type ResponseFlagName = keyof typeof ResponseFlag;

const ORDER = Object.keys(ResponseFlag) as ResponseFlagName[];
const cache = new Map<number, string>();

/** Envoy's `%RESPONSE_FLAGS%` text for a flag set. */
export function formatResponseFlags(flags: number): string {
  if (flags === 0) return '-';
  let s = cache.get(flags);
  if (s === undefined) {
    s = ORDER.filter((n) => (flags & ResponseFlag[n]) !== 0).join(',');
    if (cache.size < 4096) cache.set(flags, s);
  }
  return s;
}
