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

/**
 * One pick of smooth weighted round robin (nginx's algorithm): every host gains its weight, the one
 * with the most credit is chosen and pays `total` (the sum of the weights), so picks interleave in
 * proportion to the weights. `current` is the caller's running credit, one entry per host.
 */
export function smoothWeightedChoice(hosts: readonly Endpoint[], weights: ArrayLike<number>, current: Float64Array, total: number): Endpoint {
  let best = 0;
  for (let i = 0; i < hosts.length; i++) {
    current[i] += weights[i];
    if (current[i] > current[best]) best = i;
  }
  current[best] -= total;
  return hosts[best];
}
