/**
 * Istio's checks of a DestinationRule traffic policy: connection pool limits, outlier detection,
 * load balancer (consistent hash, maglev, locality), client TLS, port-level settings and tunnels.
 * Connection-pool checks are shared with Sidecar.
 */
import type { ConnectionPoolSettings } from '../connection-pool.js';
import type { ClientTLSSettings, OutlierDetection, TrafficPolicy, TunnelSettings } from '../destination-rule.js';
import type { LoadBalancerSettings } from '../load-balancer.js';
import { parseDuration } from '../../../duration.js';
import { durationProblem } from './durations.js';
import { at, type Findings, type Path } from './findings.js';
import { checkLocality } from './locality.js';
import { fqdnProblem, ipProblem, portProblem } from './names.js';

export function checkTrafficPolicy(tp: TrafficPolicy | undefined, path: Path, f: Findings): void {
  if (tp === undefined) return;
  const { outlierDetection, connectionPool, loadBalancer, tls, portLevelSettings, tunnel, proxyProtocol, retryBudget } = tp;
  if (!outlierDetection && !connectionPool && !loadBalancer && !tls && !portLevelSettings && !tunnel && !proxyProtocol && !retryBudget) {
    f.error(path, 'traffic policy must have at least one field');
    return;
  }
  if (tunnel && proxyProtocol) {
    f.error(path, 'tunnel and proxyProtocol must not be set together');
    return;
  }
  checkOutlierDetection(outlierDetection, at(path, 'outlierDetection'), f);
  checkConnectionPool(connectionPool, at(path, 'connectionPool'), f);
  checkLoadBalancer(loadBalancer, outlierDetection, at(path, 'loadBalancer'), f);
  checkClientTLS(tls, at(path, 'tls'), f);
  portLevelSettings?.forEach((pl, i) => {
    const p = at(path, 'portLevelSettings', i);
    if (pl.port === undefined) f.error(p, 'portTrafficPolicy must have valid port');
    if (!pl.outlierDetection && !pl.connectionPool && !pl.loadBalancer && !pl.tls) {
      f.error(p, 'port traffic policy must have at least one field');
      return;
    }
    checkOutlierDetection(pl.outlierDetection, at(p, 'outlierDetection'), f);
    checkConnectionPool(pl.connectionPool, at(p, 'connectionPool'), f);
    checkLoadBalancer(pl.loadBalancer, pl.outlierDetection, at(p, 'loadBalancer'), f);
    checkClientTLS(pl.tls, at(p, 'tls'), f);
  });
  checkTunnel(tunnel, at(path, 'tunnel'), f);
}

function percentProblem(v: number | undefined): string | undefined {
  return v === undefined || (v >= 0 && v <= 100) ? undefined : `percentage ${v} is not in range 0..100`;
}

function checkOutlierDetection(od: OutlierDetection | undefined, path: Path, f: Findings): void {
  if (od === undefined) return;
  if ((od.consecutiveErrors ?? 0) !== 0) {
    f.warn(at(path, 'consecutiveErrors'), 'outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead');
  }
  if (!od.splitExternalLocalOriginErrors && (od.consecutiveLocalOriginFailures ?? 0) > 0) {
    f.error(at(path, 'consecutiveLocalOriginFailures'),
      'outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false');
  }
  f.check(at(path, 'maxEjectionPercent'), percentProblem(od.maxEjectionPercent));
  f.check(at(path, 'minHealthPercent'), percentProblem(od.minHealthPercent));
}

export function checkConnectionPool(cp: ConnectionPoolSettings | undefined, path: Path, f: Findings): void {
  if (cp === undefined) return;
  if (!cp.http && !cp.tcp) {
    f.error(path, 'connection pool must have at least one field');
    return;
  }
  const http = cp.http;
  if (http) {
    const p = at(path, 'http');
    const nonNegative = [
      ['http1MaxPendingRequests', 'http1 max pending requests'],
      ['http2MaxRequests', 'http2 max requests'],
      ['maxRequestsPerConnection', 'max requests per connection'],
      ['maxRetries', 'max retries'],
      ['maxConcurrentStreams', 'max concurrent streams'],
    ] as const;
    for (const [field, what] of nonNegative) {
      if ((http[field] ?? 0) < 0) f.error(at(p, field), `${what} must be non-negative`);
    }
    if (http.h2UpgradePolicy === 'UPGRADE' && http.useClientProtocol === true) {
      f.error(p, 'use client protocol must not be true when H2UpgradePolicy is UPGRADE');
    }
  }
  const tcp = cp.tcp;
  if (tcp) {
    if ((tcp.maxConnections ?? 0) < 0) f.error(at(path, 'tcp', 'maxConnections'), 'max connections must be non-negative');
    // The CRD leaves tcp.idleTimeout unchecked, Istio's webhook does not; but 0s is allowed
    // there because it means "no idle timeout".
    if (tcp.idleTimeout !== undefined && parseDuration(tcp.idleTimeout) !== 0) f.check(at(path, 'tcp', 'idleTimeout'), durationProblem(tcp.idleTimeout));
  }
}

/** Envoy's primality test for maglev table sizes. */
function isPrime(x: number): boolean {
  if (x !== 0 && x < 4) return true;
  if (x % 2 === 0) return false;
  const limit = Math.floor(Math.sqrt(x));
  for (let factor = 3; factor <= limit; factor += 2) if (x % factor === 0) return false;
  return true;
}

function checkLoadBalancer(lb: LoadBalancerSettings | undefined, od: OutlierDetection | undefined, path: Path, f: Findings): void {
  if (lb === undefined) return;
  const ch = lb.consistentHash;
  if (ch) {
    const p = at(path, 'consistentHash');
    if (ch.httpCookie && ch.httpCookie.name === '') f.error(at(p, 'httpCookie', 'name'), 'name required for HttpCookie');
    if ((ch.minimumRingSize ?? 0) !== 0) {
      f.warn(at(p, 'minimumRingSize'), "consistent hash MinimumRingSize is deprecated, use ConsistentHashLB's RingHash configuration instead");
      if (ch.ringHash || ch.maglev) f.error(p, 'only one of MinimumRingSize or Maglev/Ringhash can be specified');
    }
    if (ch.maglev) {
      const size = ch.maglev.tableSize ?? 0;
      const mp = at(p, 'maglev', 'tableSize');
      if (size === 0) f.error(mp, 'tableSize must be set for maglev');
      if (size >= 5000011) f.error(mp, 'tableSize must be less than 5000011 for maglev');
      if (!isPrime(size)) f.error(mp, 'tableSize must be a prime number for maglev');
    }
  }
  const aggression = lb.warmup?.aggression;
  if (aggression !== undefined && aggression !== null && aggression < 1) {
    f.error(at(path, 'warmup', 'aggression'), 'aggression should be greater than or equal to 1');
  }
  checkLocality(lb.localityLbSetting, od, at(path, 'localityLbSetting'), f);
}

/** Istio's ValidateTLS for upstream (client) TLS. */
export function checkClientTLS(tls: ClientTLSSettings | undefined, path: Path, f: Findings): void {
  if (tls === undefined) return;
  const set = (s: string | undefined): boolean => s !== undefined && s !== '';
  if (tls.insecureSkipVerify === true) {
    if (tls.mode === 'SIMPLE' && (set(tls.caCertificates) || set(tls.credentialName) || tls.subjectAltNames !== undefined)) {
      f.error(path, 'cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true');
    }
    if (tls.mode === 'MUTUAL' && (set(tls.caCertificates) || tls.subjectAltNames !== undefined)) {
      f.error(path, 'cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true');
    }
  }
  if ((tls.mode === 'SIMPLE' || tls.mode === 'MUTUAL') && set(tls.credentialName)) {
    // Certificates then come from the secret.
    if (set(tls.clientCertificate) || set(tls.caCertificates) || set(tls.privateKey) || set(tls.caCrl)) {
      f.error(path, 'cannot specify client certificates or CA certificate or CA CRL If credentialName is set');
    }
    return;
  }
  if (tls.mode === 'MUTUAL') {
    if (!set(tls.clientCertificate)) f.error(at(path, 'clientCertificate'), 'client certificate required for mutual tls');
    if (!set(tls.privateKey)) f.error(at(path, 'privateKey'), 'private key required for mutual tls');
  }
}

function checkTunnel(t: TunnelSettings | undefined, path: Path, f: Findings): void {
  if (t === undefined) return;
  if (t.protocol !== undefined && t.protocol !== '' && t.protocol !== 'CONNECT' && t.protocol !== 'POST') {
    f.error(at(path, 'protocol'), 'tunnel protocol must be "CONNECT" or "POST"');
  }
  const fqdn = fqdnProblem(t.targetHost);
  const ip = ipProblem(t.targetHost);
  if (fqdn !== undefined && ip !== undefined) {
    f.error(at(path, 'targetHost'), `tunnel target host must be valid FQDN or IP address: ${fqdn}; ${ip}`);
  }
  const port = portProblem(t.targetPort);
  if (port !== undefined) f.error(at(path, 'targetPort'), `tunnel target port is invalid: ${port}`);
}
