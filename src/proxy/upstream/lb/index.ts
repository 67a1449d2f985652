/** Builds the load balancer a cluster's `LbPolicy` names over one host set. */
import type { Clock, Endpoint, LoadBalancer, Random } from '../types.js';
import type { LbPolicy } from '../../../snapshot/index.js';
import { createLeastRequestLb } from './least-request.js';
import { createMaglevLb } from './maglev.js';
import { createPassthroughLb, type OriginalDestinationHosts } from './passthrough.js';
import { createRandomLb } from './random.js';
import { createRingHashLb } from './ring-hash.js';
import { createRoundRobinLb } from './round-robin.js';
import { createWeightedRoundRobinLb, EndpointLoadReports } from './weighted-round-robin.js';

export { createLeastRequestLb, createMaglevLb, createPassthroughLb, createRandomLb, createRingHashLb, createRoundRobinLb, createWeightedRoundRobinLb, EndpointLoadReports };
export type { OriginalDestinationHosts };

export interface LbDeps {
  random: Random;
  /** Required for PASSTHROUGH: materialises the host for an original destination. */
  originalDestinationHost?: OriginalDestinationHosts;
  /** Required for CLIENT_SIDE_WEIGHTED_ROUND_ROBIN: the cluster's endpoint load reports and its clock. */
  loadReports?: EndpointLoadReports;
  clock?: Clock;
}

export function createLoadBalancer(policy: LbPolicy, hosts: readonly Endpoint[], deps: LbDeps): LoadBalancer {
  switch (policy.policy) {
    case 'ROUND_ROBIN':
      return createRoundRobinLb(hosts, deps.random);
    case 'LEAST_REQUEST':
      return createLeastRequestLb(hosts, deps.random, policy.choiceCount);
    case 'RANDOM':
      return createRandomLb(hosts, deps.random);
    case 'PASSTHROUGH': {
      const hostFor = deps.originalDestinationHost;
      if (hostFor === undefined) throw new Error('PASSTHROUGH load balancer needs an originalDestinationHost factory');
      return createPassthroughLb(hostFor);
    }
    case 'RING_HASH':
      return createRingHashLb(hosts, deps.random, { minimumRingSize: policy.minimumRingSize });
    case 'MAGLEV':
      return createMaglevLb(hosts, deps.random, policy.tableSize);
    case 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN': {
      if (deps.loadReports === undefined || deps.clock === undefined) throw new Error('CLIENT_SIDE_WEIGHTED_ROUND_ROBIN load balancer needs the cluster\'s load reports and clock');
      return createWeightedRoundRobinLb(hosts, deps.random, deps.loadReports, deps.clock);
    }
  }
}
