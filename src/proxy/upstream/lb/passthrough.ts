/**
 * PASSTHROUGH (Envoy ORIGINAL_DST): no host list; the request's original destination is the host.
 * Hosts are materialised on demand by the cluster so per-host counters and stats still work.
 */
import type { Endpoint, LoadBalancer, PickContext } from '../types.js';

export type OriginalDestinationHosts = (address: string, port: number) => Endpoint;

export function createPassthroughLb(hostFor: OriginalDestinationHosts): LoadBalancer {
  return {
    pick(ctx: PickContext) {
      const dst = ctx.originalDestination;
      return dst === undefined ? undefined : hostFor(dst.address, dst.port);
    },
  };
}
