/**
 * The protocol of a service port as Istio decides it: the Kubernetes `appProtocol` first, then the
 * port name's prefix (`http`, `http-web`, `grpc-api`, `tcp-db`, ...), else unknown — which Istio
 * detects from the first bytes of each connection ("auto").
 */
import type { ServicePort } from './types.js';

export type Protocol =
  | 'HTTP'
  | 'HTTP2'
  | 'GRPC'
  | 'GRPC-WEB'
  | 'HTTPS'
  | 'TLS'
  | 'TCP'
  | 'UDP'
  | 'MONGO'
  | 'MYSQL'
  | 'REDIS'
  /** Not declared: detected per connection. */
  | 'UNKNOWN';

const NAMES: Readonly<Record<string, Protocol>> = {
  http: 'HTTP',
  http_proxy: 'HTTP',
  http2: 'HTTP2',
  grpc: 'GRPC',
  'grpc-web': 'GRPC-WEB',
  https: 'HTTPS',
  tls: 'TLS',
  tcp: 'TCP',
  udp: 'UDP',
  mongo: 'MONGO',
  mysql: 'MYSQL',
  redis: 'REDIS',
};

/** Istio's protocol.Parse: case-insensitive protocol names; anything else is UNKNOWN. */
export function parseProtocol(name: string | undefined): Protocol {
  if (name === undefined) return 'UNKNOWN';
  return NAMES[name.toLowerCase()] ?? 'UNKNOWN';
}

/**
 * The protocol of a Kubernetes service port, as Istio's ConvertProtocol: UDP stays UDP; a set
 * `appProtocol` is read instead of the name (Kubernetes' own `kubernetes.io/h2c`, `/ws`, `/wss`
 * mapped); `grpc-web…` is GRPC-WEB; otherwise the name up to its first dash.
 */
export function servicePortProtocol(port: Pick<ServicePort, 'name' | 'protocol' | 'appProtocol'>): Protocol {
  if (port.protocol === 'UDP') return 'UDP';
  let name = port.name ?? '';
  if (port.appProtocol !== undefined) {
    name = port.appProtocol;
    if (name === 'kubernetes.io/h2c') return 'HTTP2';
    if (name === 'kubernetes.io/ws' || name === 'kubernetes.io/wss') return 'HTTP';
  }
  const lower = name.toLowerCase();
  if (lower.startsWith('grpc-web')) return 'GRPC-WEB';
  const dash = lower.indexOf('-');
  return parseProtocol(dash < 0 ? lower : lower.slice(0, dash));
}

/** HTTP-family protocols: routed per request with VirtualService `http` rules. */
export function isHttpProtocol(p: Protocol): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-WEB';
}

/** Protocols carried opaquely (VirtualService `tcp`/`tls` rules). UNKNOWN is neither: it is detected. */
export function isOpaqueProtocol(p: Protocol): boolean {
  return p === 'TCP' || p === 'TLS' || p === 'HTTPS' || p === 'MONGO' || p === 'MYSQL' || p === 'REDIS';
}
