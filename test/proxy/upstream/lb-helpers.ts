/**
 * Shared fixtures for load-balancer tests: real runtime hosts and pick tallies.
 */
import { HostImpl } from '../../../src/proxy/upstream/endpoint.js';
import type { Endpoint, LoadBalancer, PickContext } from '../../../src/proxy/upstream/types.js';

/** Hosts 10.0.0.1:8080, 10.0.0.2:8080, … with the given weights. */
export function makeHosts(weights: readonly number[], firstOctet = 1): HostImpl[] {
  return weights.map((weight, i) => new HostImpl({ address: `10.0.0.${firstOctet + i}`, port: 8080, weight }));
}

/** Picks `n` times and counts picks per host key (`undefined` picks under the key `none`). */
export function tally(lb: LoadBalancer, n: number, ctx: (i: number) => PickContext = () => ({})): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = lb.pick(ctx(i))?.key ?? 'none';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Share of picks each host got, in host order. */
export function shares(counts: Map<string, number>, hosts: readonly Endpoint[], total: number): number[] {
  return hosts.map((h) => (counts.get(h.key) ?? 0) / total);
}
