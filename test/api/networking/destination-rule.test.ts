import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DestinationRuleSpec } from '../../../src/api/kinds/networking/index.js';
import { render, runCases, validate, type Case } from './helpers.js';

const dr = (trafficPolicy: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  host: 'reviews',
  trafficPolicy,
  ...extra,
});
const lb = (loadBalancer: Record<string, unknown>): Record<string, unknown> => dr({ loadBalancer });
const pool = (connectionPool: Record<string, unknown>): Record<string, unknown> => dr({ connectionPool });
const outlier = (outlierDetection: Record<string, unknown>): Record<string, unknown> => dr({ outlierDetection });

test('DestinationRule: tcp idleTimeout 0s means "no idle timeout" and is accepted, as by Istio', () => {
  assert.deepEqual(render(validate('DestinationRule', pool({ tcp: { idleTimeout: '0s' } })).issues), []);
});

test('DestinationRule: a full, valid spec comes back typed', () => {
  const spec = {
    host: 'reviews.prod.svc.cluster.local',
    trafficPolicy: {
      loadBalancer: { consistentHash: { httpCookie: { name: 'user', ttl: '0s' }, ringHash: { minimumRingSize: 1024 } }, warmup: { duration: '30s' } },
      connectionPool: { tcp: { maxConnections: 100, connectTimeout: '30ms', tcpKeepalive: { time: '7200s', interval: '75s' } }, http: { http2MaxRequests: 1000, idleTimeout: '1h' } },
      outlierDetection: { consecutive5xxErrors: 7, interval: '5m', baseEjectionTime: '15m', maxEjectionPercent: 100 },
      tls: { mode: 'MUTUAL', credentialName: 'client-cert' },
      portLevelSettings: [{ port: { number: 80 }, loadBalancer: { simple: 'LEAST_REQUEST' } }],
    },
    subsets: [
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } } },
    ],
    exportTo: ['*'],
  };
  const result = validate('DestinationRule', spec);
  assert.deepEqual(render(result.issues), []);
  const typed = result.resource?.spec as DestinationRuleSpec;
  assert.equal(typed.subsets?.[1]?.trafficPolicy?.loadBalancer?.simple, 'ROUND_ROBIN');
});

test('DestinationRule: utilization-weighted balancing (ORCA) is accepted with every setting', () => {
  assert.deepEqual(render(validate('DestinationRule', lb({ backendUtilization: {
    weightUpdatePeriod: '1s', weightExpirationPeriod: '3m', weightStabilizationPeriod: '10s',
    errorUtilizationPenaltyPercent: 100, metricNamesForComputingUtilization: ['named_metrics.foo'],
  } })).issues), []);
});

test('DestinationRule: the deprecated LEAST_CONN is still accepted', () => {
  assert.deepEqual(render(validate('DestinationRule', lb({ simple: 'LEAST_CONN' })).issues), []);
});

const cases: Case[] = [
  { name: 'host missing', spec: { subsets: [] }, expect: 'error spec.host: required field "host" is missing' },
  { name: 'host invalid', spec: { host: 'a..b' }, expect: 'error spec.host: domain name ".b" invalid (label "" invalid)' },
  { name: 'duplicate subset names', spec: { host: 'r', subsets: [{ name: 'v1' }, { name: 'v1' }] }, expect: 'error spec.subsets[1].name: duplicate subset names: v1' },
  { name: 'subset name not a DNS label', spec: { host: 'r', subsets: [{ name: 'v1.0' }] }, expect: 'error spec.subsets[0].name: subset name is invalid: v1.0' },
  { name: 'empty subset name', spec: { host: 'r', subsets: [{ name: '' }] }, expect: 'error spec.subsets[0].name: subset name cannot be empty' },
  { name: 'subset without name', spec: { host: 'r', subsets: [{ labels: { a: 'b' } }] }, expect: 'error spec.subsets[0].name: required field "name" is missing' },
  { name: 'subset label value invalid', spec: { host: 'r', subsets: [{ name: 'v1', labels: { version: 'v 1' } }] }, expect: 'error spec.subsets[0].labels: invalid tag value: "v 1"' },
  { name: 'empty traffic policy', spec: dr({}), expect: 'error spec.trafficPolicy: traffic policy must have at least one field' },
  { name: 'empty subset traffic policy', spec: { host: 'r', subsets: [{ name: 'v1', trafficPolicy: {} }] }, expect: 'error spec.subsets[0].trafficPolicy: traffic policy must have at least one field' },
  // load balancer
  { name: 'simple and consistentHash', spec: lb({ simple: 'RANDOM', consistentHash: { useSourceIp: true } }), expect: 'error spec.trafficPolicy.loadBalancer: only one of simple, consistentHash, backendUtilization may be set (found simple and consistentHash)' },
  { name: 'simple and backendUtilization', spec: lb({ simple: 'RANDOM', backendUtilization: {} }), expect: 'error spec.trafficPolicy.loadBalancer: only one of simple, consistentHash, backendUtilization may be set (found simple and backendUtilization)' },
  { name: 'backendUtilization with a bad period', spec: lb({ backendUtilization: { weightUpdatePeriod: '1x' } }), expect: 'error spec.trafficPolicy.loadBalancer.backendUtilization.weightUpdatePeriod: invalid duration "1x": write a number with a unit (h, m, s, ms, us, ns), e.g. "1.5s", "100ms" or "2m30s"' },
  { name: 'unknown simple algorithm', spec: lb({ simple: 'ROUNDROBIN' }), expect: 'error spec.trafficPolicy.loadBalancer.simple: must be one of "UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST" (got "ROUNDROBIN"); did you mean "ROUND_ROBIN"?' },
  { name: 'two hash keys', spec: lb({ consistentHash: { httpHeaderName: 'x-user', useSourceIp: true } }), expect: 'error spec.trafficPolicy.loadBalancer.consistentHash: only one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName may be set (found httpHeaderName and useSourceIp)' },
  { name: 'ringHash and maglev', spec: lb({ consistentHash: { useSourceIp: true, ringHash: {}, maglev: { tableSize: 65537 } } }), expect: 'error spec.trafficPolicy.loadBalancer.consistentHash: only one of ringHash, maglev may be set (found ringHash and maglev)' },
  { name: 'cookie without name', spec: lb({ consistentHash: { httpCookie: { ttl: '1s' } } }), expect: 'error spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name: required field "name" is missing' },
  { name: 'cookie with empty name', spec: lb({ consistentHash: { httpCookie: { name: '' } } }), expect: 'error spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name: name required for HttpCookie' },
  { name: 'minimumRingSize with ringHash', spec: lb({ consistentHash: { useSourceIp: true, minimumRingSize: 1024, ringHash: {} } }), expect: 'error spec.trafficPolicy.loadBalancer.consistentHash: only one of MinimumRingSize or Maglev/Ringhash can be specified' },
  { name: 'deprecated minimumRingSize', spec: lb({ consistentHash: { useSourceIp: true, minimumRingSize: 1024 } }), expect: "warning spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize: consistent hash MinimumRingSize is deprecated, use ConsistentHashLB's RingHash configuration instead" },
  { name: 'maglev table size not prime', spec: lb({ consistentHash: { useSourceIp: true, maglev: { tableSize: 1000 } } }), expect: 'error spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize: tableSize must be a prime number for maglev' },
  { name: 'maglev table size unset', spec: lb({ consistentHash: { useSourceIp: true, maglev: {} } }), expect: 'error spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize: tableSize must be set for maglev' },
  { name: 'locality distribute and failover', spec: lb({ localityLbSetting: { distribute: [{ from: 'a/*', to: { 'b/*': 100 } }], failover: [{ from: 'a', to: 'b' }] } }), expect: "error spec.trafficPolicy.loadBalancer.localityLbSetting: can not simultaneously specify 'distribute' and 'failover'" },
  { name: 'locality weights not 100', spec: lb({ localityLbSetting: { distribute: [{ from: 'a/*', to: { 'b/*': 60, 'c/*': 30 } }] } }), expect: 'error spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to: total locality weight 90 != 100' },
  { name: 'locality wildcard in the middle', spec: lb({ localityLbSetting: { distribute: [{ from: 'a/*/c', to: { 'b/*': 100 } }] } }), expect: "error spec.trafficPolicy.loadBalancer.localityLbSetting.distribute: locality a/*/c wildcard '*' number can not exceed 1 and must be in the end" },
  { name: 'failover to the same region', spec: dr({ loadBalancer: { localityLbSetting: { failover: [{ from: 'us-east', to: 'us-east' }] } }, outlierDetection: { consecutive5xxErrors: 1 } }), expect: 'error spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]: locality lb failover settings must specify different regions' },
  { name: 'failover without outlier detection', spec: lb({ localityLbSetting: { failover: [{ from: 'us-east', to: 'us-west' }] } }), expect: 'warning spec.trafficPolicy.loadBalancer.localityLbSetting: outlier detection policy must be provided for failover' },
  { name: 'warmup without duration', spec: lb({ simple: 'ROUND_ROBIN', warmup: { aggression: 2 } }), expect: 'error spec.trafficPolicy.loadBalancer.warmup.duration: required field "duration" is missing' },
  { name: 'warmup minimumPercent above 100', spec: lb({ warmup: { duration: '10s', minimumPercent: 120 } }), expect: 'error spec.trafficPolicy.loadBalancer.warmup.minimumPercent: must be a number between 0 and 100 (got 120)' },
  { name: 'warmupDurationSecs under 1ms', spec: lb({ warmupDurationSecs: '0s' }), expect: 'error spec.trafficPolicy.loadBalancer.warmupDurationSecs: duration must be greater than 1ms' },
  // connection pool
  { name: 'empty connection pool', spec: pool({}), expect: 'error spec.trafficPolicy.connectionPool: connection pool must have at least one field' },
  { name: 'negative max connections', spec: pool({ tcp: { maxConnections: -1 } }), expect: 'error spec.trafficPolicy.connectionPool.tcp.maxConnections: max connections must be non-negative' },
  { name: 'negative pending requests', spec: pool({ http: { http1MaxPendingRequests: -5 } }), expect: 'error spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests: http1 max pending requests must be non-negative' },
  { name: 'UPGRADE with client protocol', spec: pool({ http: { h2UpgradePolicy: 'UPGRADE', useClientProtocol: true } }), expect: 'error spec.trafficPolicy.connectionPool.http: use client protocol must not be true when H2UpgradePolicy is UPGRADE' },
  { name: 'connect timeout under 1ms', spec: pool({ tcp: { connectTimeout: '0.5ms' } }), expect: 'error spec.trafficPolicy.connectionPool.tcp.connectTimeout: duration must be greater than 1ms' },
  { name: 'tcp idle timeout under 1ms', spec: pool({ tcp: { idleTimeout: '0.5ms' } }), expect: 'error spec.trafficPolicy.connectionPool.tcp.idleTimeout: duration must be greater than 1ms' },
  { name: 'warmup aggression below 1', spec: lb({ warmup: { duration: '10s', aggression: 0.5 } }), expect: 'error spec.trafficPolicy.loadBalancer.warmup.aggression: aggression should be greater than or equal to 1' },
  { name: 'keepalive interval under 1ms', spec: pool({ tcp: { tcpKeepalive: { interval: '10us' } } }), expect: 'error spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.interval: duration must be greater than 1ms' },
  { name: 'maxRequestsPerConnection beyond int32', spec: pool({ http: { maxRequestsPerConnection: 3000000000 } }), expect: 'error spec.trafficPolicy.connectionPool.http.maxRequestsPerConnection: must be an integer between -2147483648 and 2147483647 (got 3000000000)' },
  // outlier detection
  { name: 'maxEjectionPercent above 100', spec: outlier({ maxEjectionPercent: 150 }), expect: 'error spec.trafficPolicy.outlierDetection.maxEjectionPercent: percentage 150 is not in range 0..100' },
  { name: 'minHealthPercent negative', spec: outlier({ minHealthPercent: -1 }), expect: 'error spec.trafficPolicy.outlierDetection.minHealthPercent: percentage -1 is not in range 0..100' },
  { name: 'interval under 1ms', spec: outlier({ interval: '0s' }), expect: 'error spec.trafficPolicy.outlierDetection.interval: duration must be greater than 1ms' },
  { name: 'baseEjectionTime not a duration', spec: outlier({ baseEjectionTime: '30 seconds' }), expect: /^error spec\.trafficPolicy\.outlierDetection\.baseEjectionTime: invalid duration "30 seconds"/ },
  { name: 'local origin failures without split', spec: outlier({ consecutiveLocalOriginFailures: 5 }), expect: 'error spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures: outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false' },
  { name: 'deprecated consecutiveErrors', spec: outlier({ consecutiveErrors: 5 }), expect: 'warning spec.trafficPolicy.outlierDetection.consecutiveErrors: outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead' },
  { name: 'error code outside 100..599', spec: outlier({ outlierDetectionHttpErrorCodes: [503, 700] }), expect: 'error spec.trafficPolicy.outlierDetection.outlierDetectionHttpErrorCodes[1]: must be an integer between 100 and 599 (got 700)' },
  // TLS
  { name: 'MUTUAL without certificates', spec: dr({ tls: { mode: 'MUTUAL' } }), expect: 'error spec.trafficPolicy.tls.clientCertificate: client certificate required for mutual tls' },
  { name: 'MUTUAL without key', spec: dr({ tls: { mode: 'MUTUAL', clientCertificate: '/c.pem' } }), expect: 'error spec.trafficPolicy.tls.privateKey: private key required for mutual tls' },
  { name: 'credentialName plus files', spec: dr({ tls: { mode: 'SIMPLE', credentialName: 's', caCertificates: '/ca.pem' } }), expect: 'error spec.trafficPolicy.tls: cannot specify client certificates or CA certificate or CA CRL If credentialName is set' },
  { name: 'insecureSkipVerify with CA', spec: dr({ tls: { mode: 'SIMPLE', insecureSkipVerify: true, caCertificates: '/ca.pem' } }), expect: 'error spec.trafficPolicy.tls: cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true' },
  { name: 'unknown TLS mode', spec: dr({ tls: { mode: 'STRICT' } }), expect: 'error spec.trafficPolicy.tls.mode: must be one of "DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL" (got "STRICT")' },
  // port-level settings, tunnel, proxy protocol
  { name: 'port-level settings without port', spec: dr({ portLevelSettings: [{ loadBalancer: { simple: 'RANDOM' } }] }), expect: 'error spec.trafficPolicy.portLevelSettings[0]: portTrafficPolicy must have valid port' },
  { name: 'empty port-level settings', spec: dr({ portLevelSettings: [{ port: { number: 80 } }] }), expect: 'error spec.trafficPolicy.portLevelSettings[0]: port traffic policy must have at least one field' },
  { name: 'tunnel and proxyProtocol', spec: dr({ tunnel: { targetHost: 'a.com', targetPort: 80 }, proxyProtocol: { version: 'V2' } }), expect: 'error spec.trafficPolicy: tunnel and proxyProtocol must not be set together' },
  { name: 'tunnel protocol', spec: dr({ tunnel: { protocol: 'GET', targetHost: 'a.com', targetPort: 80 } }), expect: 'error spec.trafficPolicy.tunnel.protocol: tunnel protocol must be "CONNECT" or "POST"' },
  { name: 'tunnel target port', spec: dr({ tunnel: { targetHost: 'a.com', targetPort: 0 } }), expect: 'error spec.trafficPolicy.tunnel.targetPort: tunnel target port is invalid: port number 0 must be in the range 1..65535' },
  { name: 'tunnel without target', spec: dr({ tunnel: { protocol: 'CONNECT' } }), expect: 'error spec.trafficPolicy.tunnel.targetHost: required field "targetHost" is missing' },
  { name: 'proxy protocol version', spec: dr({ proxyProtocol: { version: 'V3' } }), expect: 'error spec.trafficPolicy.proxyProtocol.version: must be one of "V1", "V2" (got "V3"); did you mean "V1"?' },
  { name: 'retry budget percent above 100', spec: dr({ retryBudget: { percent: 120 } }), expect: 'error spec.trafficPolicy.retryBudget.percent: must be a number between 0 and 100 (got 120)' },
  // selector and exportTo
  { name: 'workload selector wildcard', spec: { host: 'r', workloadSelector: { matchLabels: { app: 'web*' } } }, expect: 'error spec.workloadSelector.matchLabels.app: wildcard is not supported in selector: "app=web*"' },
  { name: 'workload selector with foreign exportTo', spec: { host: 'r', workloadSelector: { matchLabels: { app: 'a' } }, exportTo: ['other'] }, expect: 'error spec.exportTo: destination rule with workload selector cannot have exportTo beyond current namespace' },
  { name: 'exportTo * mixed', spec: { host: 'r', exportTo: ['*', 'a'] }, expect: 'error spec.exportTo: cannot have both public (*) and non-public exportTo values for a resource' },
  { name: 'exportTo ~', spec: { host: 'r', exportTo: ['~'] }, expect: 'error spec.exportTo: exportTo ~ (none) is not allowed for Istio configuration objects' },
];

runCases('DestinationRule', cases);
