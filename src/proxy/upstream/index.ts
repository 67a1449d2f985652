/** The upstream side of the proxy: clusters, endpoints, load balancing, circuit breaking, outlier detection. */
export type * from './types.js';
export { createCluster, type Cluster, type ClusterDeps } from './cluster.js';
export { createClusterManager, type ClusterManager, type ApplyResult } from './cluster-manager.js';
export { ResourceLimits } from './limits.js';
export { OutlierDetector, type OutlierOutcome } from './outlier.js';
export { ClusterCounters, type ClusterCounterName } from './counters.js';
export { hashKeyFor, cookieHashKey, readCookie, makeSetCookie, generateCookieValue, type HashRequest, type HashKeyResult } from './hash-key.js';
export { systemClock, createManualClock, type ManualClock } from './clock.js';
export { systemRandom, seededRandom } from './random.js';
export { createLoadBalancer, type LbDeps } from './lb/index.js';
