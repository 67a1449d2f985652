/** Pieces shared by the load-balancing algorithms: exclusion checks and weight inspection. */
import type { Endpoint, PickContext } from '../types.js';

export function isExcluded(exclude: PickContext['exclude'], host: Endpoint): boolean {
  if (exclude === undefined) return false;
  if (exclude instanceof Set) return exclude.has(host);
  return exclude === host;
}

/** True when every host has the same weight, so algorithms can take their unweighted fast path. */
export function uniformWeights(hosts: readonly Endpoint[]): boolean {
  for (let i = 1; i < hosts.length; i++) if (hosts[i].weight !== hosts[0].weight) return false;
  return true;
}

/**
 * Applies the exclusion preference around a base choice: asks `choose` up to `attempts` times
 * for a host not excluded (Envoy's host selection retries), then takes the first acceptable host
 * in order, and only when every host is excluded settles for the last answer.
 */
export function pickAvoiding(
  hosts: readonly Endpoint[],
  exclude: PickContext['exclude'],
  attempts: number,
  choose: (attempt: number) => Endpoint | undefined,
): Endpoint | undefined {
  const host = choose(0);
  if (exclude === undefined || host === undefined || !isExcluded(exclude, host)) return host;
  for (let attempt = 1; attempt < attempts; attempt++) {
    const next = choose(attempt);
    if (next !== undefined && !isExcluded(exclude, next)) return next;
  }
  for (const h of hosts) if (!isExcluded(exclude, h)) return h;
  return host;
}
