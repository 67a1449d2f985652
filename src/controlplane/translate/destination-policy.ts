/**
 * DestinationRule traffic policies for one (host, port, subset), merged in Istio's order — the
 * top-level policy, replaced wholesale by its port-level settings for the port, then the subset's
 * policy field by field, then the subset's port-level settings — and converted into the upstream's
 * cluster input (load balancer, connection pool, outlier detection) and route hash policies.
 */
import type { ConnectionPoolSettings } from '../../api/kinds/networking/connection-pool.js';
import type { OutlierDetection, Subset, TrafficPolicy } from '../../api/kinds/networking/destination-rule.js';
import type { LoadBalancerSettings } from '../../api/kinds/networking/load-balancer.js';
import { parseDuration } from '../../api/duration.js';
import type { HashPolicy, ConnectionPoolConfig, HashKeySource, LbPolicy, OutlierDetectionConfig } from '../../snapshot/index.js';
import type { DestinationRuleEntry } from './push-context.js';

/** The fields a merged policy carries (port-level lists are consumed by the merge). */
export type MergedPolicy = Omit<TrafficPolicy, 'portLevelSettings'>;

/**
 * Istio's MergeTrafficPolicy: `override` replaces the fields it sets on `base`; then, when
 * `override` has port-level settings for `port`, those replace the connection pool, outlier
 * detection, load balancer and TLS entirely (unset there means default, not inherited).
 */
export function mergeTrafficPolicy(base: MergedPolicy | undefined, override: TrafficPolicy | undefined, port: number): MergedPolicy | undefined {
  if (override === undefined) return base;
  const out: MergedPolicy = { ...base };
  if (override.connectionPool !== undefined) out.connectionPool = override.connectionPool;
  if (override.loadBalancer !== undefined) out.loadBalancer = override.loadBalancer;
  if (override.outlierDetection !== undefined) out.outlierDetection = override.outlierDetection;
  if (override.tls !== undefined) out.tls = override.tls;
  if (override.tunnel !== undefined) out.tunnel = override.tunnel;
  if (override.proxyProtocol !== undefined) out.proxyProtocol = override.proxyProtocol;
  if (override.retryBudget !== undefined) out.retryBudget = override.retryBudget;
  const pls = override.portLevelSettings?.find((p) => p.port?.number === port);
  if (pls !== undefined) {
    setOrDelete(out, 'connectionPool', pls.connectionPool);
    setOrDelete(out, 'outlierDetection', pls.outlierDetection);
    setOrDelete(out, 'loadBalancer', pls.loadBalancer);
    setOrDelete(out, 'tls', pls.tls);
  }
  return out;
}

function setOrDelete<K extends keyof MergedPolicy>(o: MergedPolicy, key: K, value: MergedPolicy[K] | undefined): void {
  if (value === undefined) delete o[key];
  else o[key] = value;
}

/** The policy for a (port, subset) of the rule's host. */
export function policyFor(dr: DestinationRuleEntry | undefined, port: number, subset?: Subset): MergedPolicy | undefined {
  if (dr === undefined) return undefined;
  const top = mergeTrafficPolicy(undefined, dr.trafficPolicy, port);
  return mergeTrafficPolicy(top, subset?.trafficPolicy, port);
}

function ms(d: string | undefined): number | undefined {
  if (d === undefined) return undefined;
  return parseDuration(d);
}

/** Consistent-hash key source of a policy, or undefined when it does not hash. */
export function hashKeySource(lb: LoadBalancerSettings | undefined): HashKeySource | undefined {
  const ch = lb?.consistentHash;
  if (ch === undefined) return undefined;
  if (ch.httpHeaderName !== undefined) return { header: ch.httpHeaderName.toLowerCase() };
  if (ch.httpCookie !== undefined) {
    const cookie: { name: string; path?: string; ttlMs?: number } = { name: ch.httpCookie.name };
    if (ch.httpCookie.path !== undefined) cookie.path = ch.httpCookie.path;
    const ttl = ms(ch.httpCookie.ttl);
    if (ttl !== undefined) cookie.ttlMs = ttl;
    return { cookie };
  }
  if (ch.useSourceIp === true) return { sourceIp: true };
  if (ch.httpQueryParameterName !== undefined) return { queryParameter: ch.httpQueryParameterName };
  return undefined;
}

/** The route-side hash policy Istio derives from the same consistent-hash settings. */
export function hashPolicyOf(policy: MergedPolicy | undefined): HashPolicy | undefined {
  const src = hashKeySource(policy?.loadBalancer);
  if (src === undefined) return undefined;
  if ('header' in src) return { httpHeaderName: src.header };
  if ('cookie' in src) return { httpCookie: src.cookie };
  if ('sourceIp' in src) return { useSourceIp: true };
  return { httpQueryParameterName: src.queryParameter };
}

/**
 * Istio's load balancer: `simple` (LEAST_CONN is LEAST_REQUEST; unset is LEAST_REQUEST),
 * consistent hash (ring hash unless Maglev), or `backendUtilization`, Envoy's client-side
 * weighted round robin (the error penalty from percent to Envoy's multiplier).
 */
export function lbPolicyOf(lb: LoadBalancerSettings | undefined): LbPolicy | undefined {
  if (lb === undefined) return undefined;
  const bu = lb.backendUtilization;
  if (bu !== undefined) {
    const out: LbPolicy = { policy: 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN' };
    const update = ms(bu.weightUpdatePeriod);
    const expiration = ms(bu.weightExpirationPeriod);
    const blackout = ms(bu.weightStabilizationPeriod);
    if (update !== undefined) out.weightUpdatePeriodMs = update;
    if (expiration !== undefined) out.weightExpirationPeriodMs = expiration;
    if (blackout !== undefined) out.blackoutPeriodMs = blackout;
    if (bu.errorUtilizationPenaltyPercent !== undefined) out.errorUtilizationPenalty = bu.errorUtilizationPenaltyPercent / 100;
    if (bu.metricNamesForComputingUtilization !== undefined && bu.metricNamesForComputingUtilization.length > 0) out.metricNamesForComputingUtilization = [...bu.metricNamesForComputingUtilization];
    return out;
  }
  if (lb.consistentHash !== undefined) {
    const hash = hashKeySource(lb) ?? { sourceIp: true as const };
    if (lb.consistentHash.maglev !== undefined) {
      const out: LbPolicy = { policy: 'MAGLEV', hash };
      if (lb.consistentHash.maglev.tableSize !== undefined && lb.consistentHash.maglev.tableSize > 0) out.tableSize = lb.consistentHash.maglev.tableSize;
      return out;
    }
    const out: LbPolicy = { policy: 'RING_HASH', hash };
    const size = lb.consistentHash.ringHash?.minimumRingSize ?? lb.consistentHash.minimumRingSize;
    if (size !== undefined && size > 0) out.minimumRingSize = size;
    return out;
  }
  switch (lb.simple) {
    case 'ROUND_ROBIN':
    case 'RANDOM':
    case 'PASSTHROUGH':
      return { policy: lb.simple };
    case 'LEAST_CONN':
    case 'LEAST_REQUEST':
      return { policy: 'LEAST_REQUEST' };
    default:
      return undefined;
  }
}

/** DestinationRule `connectionPool` in the upstream's units; Istio applies int fields only when > 0. */
export function connectionPoolOf(cp: ConnectionPoolSettings | undefined): Partial<ConnectionPoolConfig> | undefined {
  if (cp === undefined) return undefined;
  const out: Partial<ConnectionPoolConfig> = {};
  const tcp = cp.tcp;
  const http = cp.http;
  if (positive(tcp?.maxConnections)) out.maxConnections = tcp.maxConnections;
  const connect = ms(tcp?.connectTimeout);
  if (connect !== undefined && connect > 0) out.connectTimeoutMs = connect;
  const tcpIdle = ms(tcp?.idleTimeout);
  if (tcpIdle !== undefined) out.tcpIdleTimeoutMs = tcpIdle;
  const duration = ms(tcp?.maxConnectionDuration);
  if (duration !== undefined) out.maxConnectionDurationMs = duration;
  if (positive(http?.http1MaxPendingRequests)) out.http1MaxPendingRequests = http.http1MaxPendingRequests;
  if (positive(http?.http2MaxRequests)) out.http2MaxRequests = http.http2MaxRequests;
  if (positive(http?.maxRequestsPerConnection)) out.maxRequestsPerConnection = http.maxRequestsPerConnection;
  if (positive(http?.maxRetries)) out.maxRetries = http.maxRetries;
  const idle = ms(http?.idleTimeout);
  if (idle !== undefined) out.idleTimeoutMs = idle;
  if (positive(http?.maxConcurrentStreams)) out.maxConcurrentStreams = http.maxConcurrentStreams;
  if (http?.h2UpgradePolicy === 'UPGRADE') out.h2Upgrade = true;
  if (http?.useClientProtocol === true) out.useClientProtocol = true;
  return out;
}

function positive(v: number | undefined): v is number {
  return v !== undefined && v > 0;
}

/**
 * DestinationRule `outlierDetection` in the upstream's units. The deprecated `consecutiveErrors`
 * counts gateway errors (502/503/504), as Istio maps it.
 */
export function outlierDetectionOf(o: OutlierDetection | undefined): Partial<OutlierDetectionConfig> | undefined {
  if (o === undefined) return undefined;
  const out: Partial<OutlierDetectionConfig> = {};
  if (o.consecutive5xxErrors !== undefined && o.consecutive5xxErrors !== null) out.consecutive5xxErrors = o.consecutive5xxErrors;
  if (o.consecutiveGatewayErrors !== undefined && o.consecutiveGatewayErrors !== null) out.consecutiveGatewayErrors = o.consecutiveGatewayErrors;
  else if (positive(o.consecutiveErrors)) out.consecutiveGatewayErrors = o.consecutiveErrors;
  if (o.consecutiveLocalOriginFailures !== undefined && o.consecutiveLocalOriginFailures !== null) out.consecutiveLocalOriginFailures = o.consecutiveLocalOriginFailures;
  if (o.splitExternalLocalOriginErrors !== undefined) out.splitExternalLocalOriginErrors = o.splitExternalLocalOriginErrors;
  const interval = ms(o.interval);
  if (interval !== undefined && interval > 0) out.intervalMs = interval;
  const base = ms(o.baseEjectionTime);
  if (base !== undefined && base > 0) out.baseEjectionTimeMs = base;
  if (positive(o.maxEjectionPercent)) out.maxEjectionPercent = Math.min(o.maxEjectionPercent, 100);
  if (o.minHealthPercent !== undefined && o.minHealthPercent >= 0) out.minHealthPercent = Math.min(o.minHealthPercent, 100);
  return out;
}
