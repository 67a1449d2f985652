/**
 * Resolves a cluster from the snapshot into its complete form with Istio/Envoy defaults
 * (`withDefaults`), rejecting malformed input with an error naming the cluster and field.
 */
import type {
  BackendUtilizationConfig,
  ClusterConfig,
  ClusterConfigInput,
  ConnectionPoolConfig,
  EndpointConfig,
  HashKeySource,
  LbPolicy,
  OutlierDetectionConfig,
} from './clusters.js';
import { isIP } from 'node:net';
import { SnapshotError } from './checks.js';
import { checkClusterTls, resolveClusterTls } from './tls.js';
import type { ClusterTlsConfig } from './tls.js';

/** 2^32−1: what Istio/Envoy use for "no limit" on circuit-breaker thresholds. */
export const UNLIMITED = 4294967295;

/** Istio DestinationRule `connectionPool` defaults (destination_rule.proto, Envoy cluster defaults). */
export const CONNECTION_POOL_DEFAULTS: Readonly<ConnectionPoolConfig> = Object.freeze({
  maxConnections: UNLIMITED,
  connectTimeoutMs: 10_000,
  tcpIdleTimeoutMs: 3_600_000,
  maxConnectionDurationMs: 0,
  http1MaxPendingRequests: UNLIMITED,
  http2MaxRequests: UNLIMITED,
  maxRequestsPerConnection: 0,
  maxRetries: UNLIMITED,
  idleTimeoutMs: 3_600_000,
  maxConcurrentStreams: 2147483647,
  h2Upgrade: false,
  useClientProtocol: false,
});

/**
 * Istio DestinationRule `outlierDetection` defaults once the block is present: 5 consecutive
 * 5xx, gateway errors off, 10s interval, 30s base ejection, 10% max ejected, min health 0%.
 */
export const OUTLIER_DETECTION_DEFAULTS: Readonly<OutlierDetectionConfig> = Object.freeze({
  consecutive5xxErrors: 5,
  consecutiveGatewayErrors: 0,
  consecutiveLocalOriginFailures: 5,
  splitExternalLocalOriginErrors: false,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 10,
  minHealthPercent: 0,
});

/** Envoy's default healthy panic threshold (percent) when outlier detection is not configured. */
export const DEFAULT_HEALTHY_PANIC_THRESHOLD = 50;
/** Envoy ring hash defaults and bounds. */
export const DEFAULT_MINIMUM_RING_SIZE = 1024;
export const MAX_RING_SIZE = 8 * 1024 * 1024;
/** Envoy Maglev default table size (must be prime). */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;
/** Envoy least-request default `choice_count`. */
export const DEFAULT_CHOICE_COUNT = 2;

/** Thrown for a cluster the proxy cannot use; `path` names the offending field. */
export class ClusterConfigError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'ClusterConfigError';
  }
}

/**
 * Returns the complete cluster: every connection-pool, outlier and LB field resolved.
 * Idempotent (a resolved config comes back equal). Throws `ClusterConfigError` on bad input.
 */
export function withDefaults(input: ClusterConfigInput): ClusterConfig {
  if (typeof input !== 'object' || input === null) throw new ClusterConfigError('cluster', 'must be an object');
  if (typeof input.name !== 'string' || input.name === '') {
    throw new ClusterConfigError('cluster.name', 'must be a non-empty string');
  }
  const at = `cluster[${input.name}]`;
  // Istio's PASSTHROUGH load balancer is an ORIGINAL_DST cluster, and such a cluster has no other balancer.
  const discovery =
    input.lb?.policy === 'PASSTHROUGH'
      ? 'original-dst'
      : oneOf(input.discovery ?? 'static', ['static', 'original-dst'] as const, `${at}.discovery`);
  const protocol = oneOf(input.protocol ?? 'auto', ['http1', 'http2', 'auto', 'tcp'] as const, `${at}.protocol`);
  const endpoints = (input.endpoints ?? []).map((e, i) => checkEndpoint(e, `${at}.endpoints[${i}]`));
  // Istio's default (`simple` unset) is LEAST_REQUEST.
  const lb = discovery === 'original-dst' ? { policy: 'PASSTHROUGH' as const } : resolveLb(input.lb ?? { policy: 'LEAST_REQUEST' }, `${at}.lb`);
  const connectionPool = resolvePool(input.connectionPool ?? {}, `${at}.connectionPool`);
  const outlierDetection =
    input.outlierDetection === undefined ? undefined : resolveOutlier(input.outlierDetection, `${at}.outlierDetection`);
  const healthyPanicThresholdPercent = percent(
    input.healthyPanicThresholdPercent ?? outlierDetection?.minHealthPercent ?? DEFAULT_HEALTHY_PANIC_THRESHOLD,
    `${at}.healthyPanicThresholdPercent`,
  );
  const out: ClusterConfig = { name: input.name, discovery, protocol, endpoints, lb, connectionPool, healthyPanicThresholdPercent };
  if (outlierDetection) out.outlierDetection = outlierDetection;
  if (input.metadata) out.metadata = { ...input.metadata };
  if (input.tls !== undefined) out.tls = resolveTls(input.tls, input.name, protocol, `${at}.tls`);
  if (input.upstreamBindAddress !== undefined) out.upstreamBindAddress = checkBindAddress(input.upstreamBindAddress, `${at}.upstreamBindAddress`);
  return out;
}

/** A source address to bind: an IPv4 or IPv6 literal (a name would need resolving on every connect). */
function checkBindAddress(v: unknown, at: string): string {
  if (typeof v !== 'string' || isIP(v) === 0) throw new ClusterConfigError(at, `must be an IPv4 or IPv6 address, got ${JSON.stringify(v)}`);
  return v;
}

function resolveTls(tls: ClusterTlsConfig, clusterName: string, protocol: string, at: string): ClusterTlsConfig {
  try {
    return resolveClusterTls(checkClusterTls(tls, at), clusterName, protocol);
  } catch (err) {
    if (err instanceof SnapshotError) throw new ClusterConfigError(err.path, err.reason);
    throw err;
  }
}

function checkEndpoint(e: EndpointConfig, at: string): EndpointConfig {
  if (typeof e !== 'object' || e === null) throw new ClusterConfigError(at, 'must be an object');
  if (typeof e.address !== 'string' || e.address === '') throw new ClusterConfigError(`${at}.address`, 'must be a non-empty string');
  if (!Number.isInteger(e.port) || e.port < 0 || e.port > 65535) {
    throw new ClusterConfigError(`${at}.port`, `must be an integer 0..65535, got ${String(e.port)}`);
  }
  if (e.weight !== undefined && (!Number.isInteger(e.weight) || e.weight < 1)) {
    throw new ClusterConfigError(`${at}.weight`, `must be an integer >= 1, got ${String(e.weight)}`);
  }
  if (e.healthy !== undefined && typeof e.healthy !== 'boolean') throw new ClusterConfigError(`${at}.healthy`, 'must be a boolean');
  return e;
}

/** Envoy's defaults for client-side weighted round robin. */
export const WRR_DEFAULTS: Readonly<BackendUtilizationConfig> = Object.freeze({
  weightUpdatePeriodMs: 1000,
  weightExpirationPeriodMs: 180_000,
  blackoutPeriodMs: 10_000,
  errorUtilizationPenalty: 1,
  metricNamesForComputingUtilization: [],
});
const WRR_MIN_UPDATE_PERIOD_MS = 100;

function resolveLb(lb: LbPolicy, at: string): LbPolicy {
  if (typeof lb !== 'object' || lb === null) throw new ClusterConfigError(at, 'must be an object');
  switch (lb.policy) {
    case 'ROUND_ROBIN':
    case 'RANDOM':
    case 'PASSTHROUGH':
      return { policy: lb.policy };
    case 'LEAST_REQUEST':
      return { policy: lb.policy, choiceCount: positiveInt(lb.choiceCount ?? DEFAULT_CHOICE_COUNT, `${at}.choiceCount`) };
    case 'RING_HASH': {
      const size = positiveInt(lb.minimumRingSize ?? DEFAULT_MINIMUM_RING_SIZE, `${at}.minimumRingSize`);
      if (size > MAX_RING_SIZE) throw new ClusterConfigError(`${at}.minimumRingSize`, `must be at most ${MAX_RING_SIZE}`);
      return { policy: lb.policy, hash: checkHash(lb.hash, `${at}.hash`), minimumRingSize: size };
    }
    case 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN': {
      const names = lb.metricNamesForComputingUtilization ?? [];
      if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || n === '')) throw new ClusterConfigError(`${at}.metricNamesForComputingUtilization`, 'must be a list of metric names');
      const update = nonNegative(lb.weightUpdatePeriodMs ?? WRR_DEFAULTS.weightUpdatePeriodMs, `${at}.weightUpdatePeriodMs`);
      return {
        policy: lb.policy,
        // Envoy raises a shorter update period to 100 ms.
        weightUpdatePeriodMs: Math.max(update, WRR_MIN_UPDATE_PERIOD_MS),
        weightExpirationPeriodMs: nonNegative(lb.weightExpirationPeriodMs ?? WRR_DEFAULTS.weightExpirationPeriodMs, `${at}.weightExpirationPeriodMs`),
        blackoutPeriodMs: nonNegative(lb.blackoutPeriodMs ?? WRR_DEFAULTS.blackoutPeriodMs, `${at}.blackoutPeriodMs`),
        errorUtilizationPenalty: nonNegative(lb.errorUtilizationPenalty ?? WRR_DEFAULTS.errorUtilizationPenalty, `${at}.errorUtilizationPenalty`),
        metricNamesForComputingUtilization: [...names],
      };
    }
    case 'MAGLEV': {
      const size = positiveInt(lb.tableSize ?? DEFAULT_MAGLEV_TABLE_SIZE, `${at}.tableSize`);
      if (!isPrime(size)) throw new ClusterConfigError(`${at}.tableSize`, `must be a prime number, got ${size}`);
      return { policy: lb.policy, hash: checkHash(lb.hash, `${at}.hash`), tableSize: size };
    }
    default:
      throw new ClusterConfigError(
        `${at}.policy`,
        `unknown load balancer ${JSON.stringify((lb as { policy: unknown }).policy)}; expected ROUND_ROBIN, LEAST_REQUEST, RANDOM, PASSTHROUGH, RING_HASH, MAGLEV or CLIENT_SIDE_WEIGHTED_ROUND_ROBIN`,
      );
  }
}

function checkHash(h: HashKeySource, at: string): HashKeySource {
  if (typeof h !== 'object' || h === null) throw new ClusterConfigError(at, 'must name a hash key source');
  if ('header' in h && typeof h.header === 'string' && h.header !== '') return { header: h.header.toLowerCase() };
  if ('queryParameter' in h && typeof h.queryParameter === 'string' && h.queryParameter !== '') return { queryParameter: h.queryParameter };
  if ('sourceIp' in h && h.sourceIp === true) return { sourceIp: true };
  if ('cookie' in h && typeof h.cookie === 'object' && h.cookie !== null && typeof h.cookie.name === 'string' && h.cookie.name !== '') {
    const c = h.cookie;
    if (c.ttlMs !== undefined) nonNegative(c.ttlMs, `${at}.cookie.ttlMs`);
    return { cookie: { ...c } };
  }
  throw new ClusterConfigError(at, 'must be one of {header}, {cookie: {name}}, {sourceIp: true}, {queryParameter}');
}

function resolvePool(p: Partial<ConnectionPoolConfig>, at: string): ConnectionPoolConfig {
  if (typeof p !== 'object' || p === null) throw new ClusterConfigError(at, 'must be an object');
  const d = CONNECTION_POOL_DEFAULTS;
  return {
    maxConnections: positiveInt(unsetIfZero(p.maxConnections) ?? d.maxConnections, `${at}.maxConnections`),
    connectTimeoutMs: positive(p.connectTimeoutMs ?? d.connectTimeoutMs, `${at}.connectTimeoutMs`),
    tcpIdleTimeoutMs: nonNegative(p.tcpIdleTimeoutMs ?? d.tcpIdleTimeoutMs, `${at}.tcpIdleTimeoutMs`),
    maxConnectionDurationMs: nonNegative(p.maxConnectionDurationMs ?? d.maxConnectionDurationMs, `${at}.maxConnectionDurationMs`),
    http1MaxPendingRequests: positiveInt(unsetIfZero(p.http1MaxPendingRequests) ?? d.http1MaxPendingRequests, `${at}.http1MaxPendingRequests`),
    http2MaxRequests: positiveInt(unsetIfZero(p.http2MaxRequests) ?? d.http2MaxRequests, `${at}.http2MaxRequests`),
    maxRequestsPerConnection: nonNegativeInt(p.maxRequestsPerConnection ?? d.maxRequestsPerConnection, `${at}.maxRequestsPerConnection`),
    maxRetries: nonNegativeInt(unsetIfZero(p.maxRetries) ?? d.maxRetries, `${at}.maxRetries`),
    idleTimeoutMs: nonNegative(p.idleTimeoutMs ?? d.idleTimeoutMs, `${at}.idleTimeoutMs`),
    maxConcurrentStreams: positiveInt(unsetIfZero(p.maxConcurrentStreams) ?? d.maxConcurrentStreams, `${at}.maxConcurrentStreams`),
    h2Upgrade: bool(p.h2Upgrade ?? d.h2Upgrade, `${at}.h2Upgrade`),
    useClientProtocol: bool(p.useClientProtocol ?? d.useClientProtocol, `${at}.useClientProtocol`),
  };
}

function resolveOutlier(o: Partial<OutlierDetectionConfig>, at: string): OutlierDetectionConfig {
  if (typeof o !== 'object' || o === null) throw new ClusterConfigError(at, 'must be an object');
  const d = OUTLIER_DETECTION_DEFAULTS;
  const baseEjectionTimeMs = positive(o.baseEjectionTimeMs ?? d.baseEjectionTimeMs, `${at}.baseEjectionTimeMs`);
  return {
    consecutive5xxErrors: nonNegativeInt(o.consecutive5xxErrors ?? d.consecutive5xxErrors, `${at}.consecutive5xxErrors`),
    consecutiveGatewayErrors: nonNegativeInt(o.consecutiveGatewayErrors ?? d.consecutiveGatewayErrors, `${at}.consecutiveGatewayErrors`),
    consecutiveLocalOriginFailures: nonNegativeInt(
      o.consecutiveLocalOriginFailures ?? d.consecutiveLocalOriginFailures,
      `${at}.consecutiveLocalOriginFailures`,
    ),
    splitExternalLocalOriginErrors: bool(o.splitExternalLocalOriginErrors ?? d.splitExternalLocalOriginErrors, `${at}.splitExternalLocalOriginErrors`),
    intervalMs: positive(o.intervalMs ?? d.intervalMs, `${at}.intervalMs`),
    baseEjectionTimeMs,
    // Envoy: "the default value (300s) or base_ejection_time value is applied, whatever is larger".
    maxEjectionTimeMs: positive(o.maxEjectionTimeMs ?? Math.max(d.maxEjectionTimeMs, baseEjectionTimeMs), `${at}.maxEjectionTimeMs`),
    maxEjectionPercent: percent(unsetIfZero(o.maxEjectionPercent) ?? d.maxEjectionPercent, `${at}.maxEjectionPercent`),
    minHealthPercent: percent(o.minHealthPercent ?? d.minHealthPercent, `${at}.minHealthPercent`),
  };
}

/**
 * Istio applies these int32 fields only when > 0, so 0 (the proto zero value) means "default"
 * (e.g. `maxEjectionPercent: 0` still allows Envoy's 10%).
 */
function unsetIfZero(v: number | undefined): number | undefined {
  return v === 0 ? undefined : v;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], at: string): T {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw new ClusterConfigError(at, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
}

function nonNegative(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ClusterConfigError(at, `must be a number >= 0, got ${JSON.stringify(v)}`);
  return v;
}

function positive(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ClusterConfigError(at, `must be a number > 0, got ${JSON.stringify(v)}`);
  return v;
}

function nonNegativeInt(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ClusterConfigError(at, `must be an integer >= 0, got ${JSON.stringify(v)}`);
  return v;
}

function positiveInt(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new ClusterConfigError(at, `must be an integer >= 1, got ${JSON.stringify(v)}`);
  return v;
}

function percent(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) throw new ClusterConfigError(at, `must be a percentage 0..100, got ${JSON.stringify(v)}`);
  return v;
}

function bool(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') throw new ClusterConfigError(at, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let i = 2; i * i <= n; i++) if (n % i === 0) return false;
  return true;
}
