/**
 * LEAST_REQUEST as Envoy does it: with equal weights, sample `choiceCount` random hosts (power of
 * two choices by default) and take the one with fewest active requests; with unequal weights,
 * smooth weighted round robin over dynamic weights `weight / (active + 1)` (Envoy's EDF with
 * active_request_bias 1.0), so busy hosts are picked proportionally less.
 */
import type { Endpoint, LoadBalancer, PickContext, Random } from '../types.js';
import { randomIndex } from '../random.js';
import { isExcluded, pickAvoiding, uniformWeights } from './common.js';

export function createLeastRequestLb(hosts: readonly Endpoint[], random: Random, choiceCount = 2): LoadBalancer {
  const n = hosts.length;
  if (n === 0) return { pick: () => undefined };
  if (n === 1) return { pick: () => hosts[0] };
  if (uniformWeights(hosts)) {
    return {
      pick(ctx: PickContext) {
        const exclude = ctx.exclude;
        let best: Endpoint | undefined;
        for (let i = 0; i < choiceCount; i++) {
          const candidate = hosts[randomIndex(random, n)];
          if (exclude !== undefined && isExcluded(exclude, candidate)) continue;
          if (best === undefined || candidate.activeRequests < best.activeRequests) best = candidate;
        }
        if (best !== undefined) return best;
        // Every sample was excluded: fall back to the least loaded acceptable host, if any.
        return leastLoaded(hosts, exclude) ?? hosts[randomIndex(random, n)];
      },
    };
  }
  const current = Float64Array.from(hosts, (h) => random() * h.weight);
  const choose = (): Endpoint => {
    let best = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const h = hosts[i];
      const effective = h.weight / (h.activeRequests + 1);
      total += effective;
      current[i] += effective;
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    return hosts[best];
  };
  return { pick: (ctx: PickContext) => pickAvoiding(hosts, ctx.exclude, n, choose) };
}

function leastLoaded(hosts: readonly Endpoint[], exclude: PickContext['exclude']): Endpoint | undefined {
  let best: Endpoint | undefined;
  for (const h of hosts) {
    if (isExcluded(exclude, h)) continue;
    if (best === undefined || h.activeRequests < best.activeRequests) best = h;
  }
  return best;
}
