/**
 * DestinationRule (networking.istio.io): the schema and TypeScript types of its spec, named as in
 * Istio's destination_rule.proto. Cross-field rules live in `rules/destination-rule.ts`.
 */
import type { Static } from 'typebox';
import { Bool, Double, Duration, Enum, Int32, Int64, List, Opt, Str, StringList, StringMap, Strict, UInt32 } from '../../schema-kit.js';
import { Duration1ms, ExportTo, Nullable, PortSelector, TypeWorkloadSelector } from './common.js';
import { ConnectionPoolSettings } from './connection-pool.js';
import { LoadBalancerSettings } from './load-balancer.js';

export const OutlierDetection = Strict(
  {
    consecutiveErrors: Opt(Int32({ description: 'Deprecated: use consecutive5xxErrors or consecutiveGatewayErrors.' })),
    splitExternalLocalOriginErrors: Opt(Bool({ description: 'Count local-origin failures separately.' })),
    consecutiveLocalOriginFailures: Opt(Nullable(UInt32({ description: 'Local-origin failures before ejection.' }))),
    consecutiveGatewayErrors: Opt(Nullable(UInt32({ description: 'Gateway errors (502, 503, 504) before ejection.' }))),
    consecutive5xxErrors: Opt(Nullable(UInt32({ description: '5xx errors before ejection.' }))),
    interval: Opt(Duration1ms('Time between ejection sweeps.')),
    baseEjectionTime: Opt(Duration1ms('Minimum ejection duration.')),
    maxEjectionPercent: Opt(Int32({ description: 'Maximum percentage of hosts ejected.' })),
    minHealthPercent: Opt(Int32({ description: 'Outlier detection is active while this percentage of hosts is healthy.' })),
    outlierDetectionHttpErrorCodes: Opt(
      List(Int64({ minimum: 100, maximum: 599 }), { description: 'Status codes counted as outlier errors.' }),
    ),
  },
  { description: 'Ejection of unhealthy hosts from the load balancing pool.' },
);
export type OutlierDetection = Static<typeof OutlierDetection>;

export const CLIENT_TLS_MODES = ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'] as const;

export const ClientTLSSettings = Strict(
  {
    mode: Opt(Enum(CLIENT_TLS_MODES, { description: 'TLS mode towards the upstream.' })),
    clientCertificate: Opt(Str({ description: 'Client certificate file (MUTUAL).' })),
    privateKey: Opt(Str({ description: 'Private key file (MUTUAL).' })),
    caCertificates: Opt(Str({ description: 'CA certificates file to verify the server.' })),
    credentialName: Opt(Str({ description: 'Secret holding the client certificate, key and CA.' })),
    subjectAltNames: Opt(StringList({ description: 'Accepted subject alternative names of the server.' })),
    sni: Opt(Str({ description: 'SNI to present.' })),
    insecureSkipVerify: Opt(Nullable(Bool({ description: 'Skip verifying the server certificate.' }))),
    caCrl: Opt(Str({ description: 'Certificate revocation list file.' })),
  },
  { description: 'TLS settings for upstream connections.' },
);
export type ClientTLSSettings = Static<typeof ClientTLSSettings>;

export const PortTrafficPolicy = Strict(
  {
    port: Opt(PortSelector),
    loadBalancer: Opt(LoadBalancerSettings),
    connectionPool: Opt(ConnectionPoolSettings),
    outlierDetection: Opt(OutlierDetection),
    tls: Opt(ClientTLSSettings),
  },
  { description: 'Traffic policy for one port of the destination.' },
);
export type PortTrafficPolicy = Static<typeof PortTrafficPolicy>;

export const TunnelSettings = Strict(
  {
    protocol: Opt(Str({ description: 'CONNECT (default) or POST.' })),
    targetHost: Str({ description: 'Host the connection is tunneled to.' }),
    targetPort: UInt32({ description: 'Port the connection is tunneled to.' }),
  },
  { description: 'Tunnel TCP over HTTP to a proxy.' },
);
export type TunnelSettings = Static<typeof TunnelSettings>;

export const ProxyProtocol = Strict(
  { version: Opt(Enum(['V1', 'V2'] as const, { description: 'PROXY protocol version.' })) },
  { description: 'Send the PROXY protocol header upstream.' },
);
export type ProxyProtocol = Static<typeof ProxyProtocol>;

export const RetryBudget = Strict(
  {
    percent: Opt(Nullable(Double({ description: 'Concurrent retries as a percentage of active requests.', minimum: 0, maximum: 100 }))),
    minRetryConcurrency: Opt(UInt32({ description: 'Retries always allowed regardless of the budget.' })),
    budgetInterval: Opt(Duration({ description: 'Window over which active requests are counted.' })),
  },
  { description: 'Limit on concurrent retries.' },
);
export type RetryBudget = Static<typeof RetryBudget>;

export const TrafficPolicy = Strict(
  {
    loadBalancer: Opt(LoadBalancerSettings),
    connectionPool: Opt(ConnectionPoolSettings),
    outlierDetection: Opt(OutlierDetection),
    tls: Opt(ClientTLSSettings),
    portLevelSettings: Opt(List(PortTrafficPolicy, { description: 'Policies for individual ports.', maxItems: 4096 })),
    tunnel: Opt(TunnelSettings),
    proxyProtocol: Opt(ProxyProtocol),
    retryBudget: Opt(RetryBudget),
  },
  { description: 'Load balancing, connection pool, outlier detection and TLS for a destination.' },
);
export type TrafficPolicy = Static<typeof TrafficPolicy>;

export const Subset = Strict(
  {
    name: Str({ description: 'Subset name (a DNS label), referenced by routes.' }),
    labels: Opt(StringMap({ description: 'Endpoint labels selecting the subset.' })),
    trafficPolicy: Opt(TrafficPolicy),
  },
  { description: 'A named set of endpoints of the service, e.g. one version.' },
);
export type Subset = Static<typeof Subset>;

export const DestinationRuleSpec = Strict(
  {
    host: Str({ description: 'Service the rule applies to (short name, FQDN or wildcard).' }),
    trafficPolicy: Opt(TrafficPolicy),
    subsets: Opt(List(Subset, { description: 'Named subsets of the service.' })),
    exportTo: Opt(ExportTo('DestinationRule')),
    workloadSelector: Opt(TypeWorkloadSelector),
  },
  { description: 'Policies applied to traffic for a service after routing.' },
);
export type DestinationRuleSpec = Static<typeof DestinationRuleSpec>;
