/**
 * LoadBalancerSettings (from Istio's destination_rule.proto): simple and consistent-hash load
 * balancing, locality and zone-aware settings, warmup.
 */
import type { Static } from 'typebox';
import { Bool, Double, Duration, Enum, List, MapOf, OneOf, Opt, Str, StringList, Strict, UInt32, UInt64 } from '../../schema-kit.js';
import { Duration1ms, Nullable } from './common.js';

export const HTTPCookieAttribute = Strict(
  {
    name: Str({ description: 'Attribute name.' }),
    value: Opt(Str({ description: 'Attribute value.' })),
  },
  { description: 'An extra cookie attribute.' },
);
export type HTTPCookieAttribute = Static<typeof HTTPCookieAttribute>;

export const HTTPCookie = Strict(
  {
    name: Str({ description: 'Cookie name.' }),
    path: Opt(Str({ description: 'Cookie path.' })),
    ttl: Opt(Duration({ description: 'Cookie lifetime; 0s makes a session cookie.' })),
    attributes: Opt(List(HTTPCookieAttribute, { description: 'Extra cookie attributes.' })),
  },
  { description: 'Hash on a cookie (generated when absent).' },
);
export type HTTPCookie = Static<typeof HTTPCookie>;

export const RingHash = Strict(
  { minimumRingSize: Opt(UInt64({ description: 'Minimum number of virtual nodes on the ring.' })) },
  { description: 'Ring hash load balancer.' },
);
export type RingHash = Static<typeof RingHash>;

export const MagLev = Strict(
  { tableSize: Opt(UInt64({ description: 'Lookup table size (a prime).' })) },
  { description: 'Maglev load balancer.' },
);
export type MagLev = Static<typeof MagLev>;

export const ConsistentHashLB = OneOf(
  Strict(
    {
      httpHeaderName: Opt(Str({ description: 'Hash on this request header.' })),
      httpCookie: Opt(HTTPCookie),
      useSourceIp: Opt(Bool({ description: 'Hash on the source IP.' })),
      httpQueryParameterName: Opt(Str({ description: 'Hash on this query parameter.' })),
      ringHash: Opt(RingHash),
      maglev: Opt(MagLev),
      minimumRingSize: Opt(UInt64({ description: 'Deprecated: use ringHash.minimumRingSize.' })),
    },
    { description: 'Consistent-hash load balancing (soft session affinity).' },
  ),
  [
    ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'],
    ['ringHash', 'maglev'],
  ],
);
export type ConsistentHashLB = Static<typeof ConsistentHashLB>;

export const LocalityDistribute = Strict(
  {
    from: Opt(Str({ description: 'Source locality (region/zone/subzone, * allowed at the end).' })),
    to: Opt(MapOf(UInt32(), { description: 'Destination localities and their weights (sum 100).' })),
  },
  { description: 'Traffic distribution from one locality.' },
);
export type LocalityDistribute = Static<typeof LocalityDistribute>;

export const LocalityFailover = Strict(
  {
    from: Opt(Str({ description: 'Source region.' })),
    to: Opt(Str({ description: 'Region to fail over to.' })),
  },
  { description: 'Failover from one region to another.' },
);
export type LocalityFailover = Static<typeof LocalityFailover>;

export const LocalityLoadBalancerSetting = Strict(
  {
    distribute: Opt(List(LocalityDistribute, { description: 'Weighted distribution per source locality.' })),
    failover: Opt(List(LocalityFailover, { description: 'Region failover order.' })),
    failoverPriority: Opt(StringList({ description: 'Labels used to prioritise endpoints for failover.' })),
    enabled: Opt(Nullable(Bool({ description: 'Enable locality load balancing.' }))),
  },
  { description: 'Locality-weighted load balancing.' },
);
export type LocalityLoadBalancerSetting = Static<typeof LocalityLoadBalancerSetting>;

export const ZoneAwareLoadBalancerSetting = Strict(
  {
    enabled: Opt(Nullable(Bool({ description: 'Enable zone-aware load balancing.' }))),
    failover: Opt(List(LocalityFailover, { description: 'Region failover order.' })),
    failoverPriority: Opt(StringList({ description: 'Labels used to prioritise endpoints for failover.' })),
    minClusterSize: Opt(Nullable(UInt32({ description: 'Minimum local hosts for zone-aware routing.', minimum: 1 }))),
  },
  { description: 'Zone-aware load balancing.' },
);
export type ZoneAwareLoadBalancerSetting = Static<typeof ZoneAwareLoadBalancerSetting>;

export const WarmupConfiguration = Strict(
  {
    duration: Duration1ms('Warmup period of a new endpoint.'),
    minimumPercent: Opt(Nullable(Double({ description: 'Initial traffic share in percent.', minimum: 0, maximum: 100 }))),
    aggression: Opt(Nullable(Double({ description: 'Speed of the traffic increase (1: linear).', minimum: 0 }))),
  },
  { description: 'Slow start of new endpoints.' },
);
export type WarmupConfiguration = Static<typeof WarmupConfiguration>;

export const BackendUtilizationLoadBalancing = Strict(
  {
    weightUpdatePeriod: Opt(Duration({ description: 'How often endpoint weights are recomputed from the reported utilization.' })),
    weightExpirationPeriod: Opt(Duration({ description: 'An endpoint silent this long reverts to the default (equal) weight.' })),
    weightStabilizationPeriod: Opt(Duration({ description: 'Time after an endpoint first reports before its weight is trusted.' })),
    errorUtilizationPenaltyPercent: Opt(UInt32({ description: 'Penalty for errors, as a percentage of the utilization.' })),
    metricNamesForComputingUtilization: Opt(StringList({ description: 'ORCA named metrics used as the utilization.' })),
  },
  { description: 'Weights endpoints by the load they report in ORCA response headers (endpoint-load-metrics).' },
);
export type BackendUtilizationLoadBalancing = Static<typeof BackendUtilizationLoadBalancing>;

export const SIMPLE_LB = ['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'] as const;

export const LoadBalancerSettings = OneOf(
  Strict(
    {
      simple: Opt(Enum(SIMPLE_LB, { description: 'A standard algorithm (LEAST_CONN is a deprecated alias of LEAST_REQUEST).' })),
      consistentHash: Opt(ConsistentHashLB),
      localityLbSetting: Opt(LocalityLoadBalancerSetting),
      warmupDurationSecs: Opt(Duration1ms('Deprecated: use warmup.')),
      warmup: Opt(WarmupConfiguration),
      zoneAwareLbSetting: Opt(ZoneAwareLoadBalancerSetting),
      backendUtilization: Opt(BackendUtilizationLoadBalancing),
    },
    { description: 'Load balancing algorithm.' },
  ),
  [['simple', 'consistentHash', 'backendUtilization']],
);
export type LoadBalancerSettings = Static<typeof LoadBalancerSettings>;
