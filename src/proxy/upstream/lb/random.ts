/** RANDOM: a uniformly random host, or weight-proportional when weights differ (binary search). */
import type { Endpoint, LoadBalancer, PickContext, Random } from '../types.js';
import { randomIndex } from '../random.js';
import { pickAvoiding, uniformWeights } from './common.js';

export function createRandomLb(hosts: readonly Endpoint[], random: Random): LoadBalancer {
  const n = hosts.length;
  if (n === 0) return { pick: () => undefined };
  if (n === 1) return { pick: () => hosts[0] };
  let choose: () => Endpoint;
  if (uniformWeights(hosts)) {
    choose = () => hosts[randomIndex(random, n)];
  } else {
    const cumulative = new Float64Array(n);
    let sum = 0;
    hosts.forEach((h, i) => (cumulative[i] = sum += h.weight));
    choose = () => {
      const r = random() * sum;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cumulative[mid] > r) hi = mid;
        else lo = mid + 1;
      }
      return hosts[lo];
    };
  }
  // Random picks can repeat, so allow a few more attempts than hosts before settling.
  return { pick: (ctx: PickContext) => pickAvoiding(hosts, ctx.exclude, n + 3, choose) };
}
