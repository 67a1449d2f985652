/**
 * The listener part of the proxy snapshot (address, direction, protocol, HTTP options, TCP
 * routes) and its validation.
 */
import { SnapshotError, int, list, obj, oneOf, optionalMs, str } from './checks.js';

/**
 * How a listener normalises request paths before routing and policy (Istio's MeshConfig
 * `pathNormalization.normalization`, whose DEFAULT is BASE): see `src/proxy/http/path-normalize.ts`.
 */
export type PathNormalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';
export const PATH_NORMALIZATION_OPTIONS: readonly PathNormalization[] = Object.freeze(['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES']);

export interface HttpListenerOptions {
  /** Name of the snapshot's route config this listener serves. */
  routeConfig: string;
  /** `server` header on responses; default `envoy` on sidecars, `istio-envoy` on gateways. */
  serverHeader?: 'envoy' | 'istio-envoy';
  /** Largest request head accepted, in KiB; larger gets 431. Default 60 (Envoy). */
  maxRequestHeadersKb?: number;
  /** Time a client has to send a request head once it started; beyond it 408. Default 10 s; 0 disables. */
  requestHeadersTimeoutMs?: number;
  /** Idle time after which a connection with no request in flight is closed. Default 1 h (Envoy); 0 disables. */
  streamIdleTimeoutMs?: number;
  /** Serve HTTP/1.0 requests (Envoy's `accept_http_10`). Default false, as in Istio: they get 426. */
  acceptHttp10?: boolean;
  /** Request path normalisation; default BASE (Istio's). */
  pathNormalization?: PathNormalization;
}

export interface TcpRouteMatch {
  /** Destination port (the listener port, or the original destination's). */
  port?: number;
  /** TLS SNI names (`*.example.com` allowed). */
  sniHosts?: string[];
  /** CIDRs the destination address must be in. */
  destinationSubnets?: string[];
}

export interface TcpRoute {
  match?: TcpRouteMatch;
  /** Weighted clusters; one is drawn per connection. */
  destinations: { cluster: string; weight: number }[];
}

export interface ListenerConfig {
  name: string;
  address: string;
  /** 0 picks a free port (tests); the proxy reports the bound one. */
  port: number;
  direction: 'inbound' | 'outbound' | 'gateway';
  /** `auto` sniffs the first bytes: an HTTP/1.x request line or the HTTP/2 preface is HTTP, else TCP. */
  protocol: 'http' | 'tcp' | 'auto';
  http?: HttpListenerOptions;
  tcp?: { routes: TcpRoute[] };
}

function checkHttp(v: unknown, at: string, routeNames: Set<string>): HttpListenerOptions {
  const o = obj(v, at);
  const routeConfig = str(o.routeConfig, `${at}.routeConfig`);
  if (!routeNames.has(routeConfig)) throw new SnapshotError(`${at}.routeConfig`, `no route config named ${JSON.stringify(routeConfig)} in routes`);
  const out: HttpListenerOptions = { routeConfig };
  if (o.serverHeader !== undefined) out.serverHeader = oneOf(o.serverHeader, ['envoy', 'istio-envoy'] as const, `${at}.serverHeader`);
  if (o.maxRequestHeadersKb !== undefined) out.maxRequestHeadersKb = int(o.maxRequestHeadersKb, `${at}.maxRequestHeadersKb`, 1, 8192);
  const rht = optionalMs(o.requestHeadersTimeoutMs, `${at}.requestHeadersTimeoutMs`);
  if (rht !== undefined) out.requestHeadersTimeoutMs = rht;
  const sit = optionalMs(o.streamIdleTimeoutMs, `${at}.streamIdleTimeoutMs`);
  if (sit !== undefined) out.streamIdleTimeoutMs = sit;
  if (o.acceptHttp10 !== undefined) {
    if (typeof o.acceptHttp10 !== 'boolean') throw new SnapshotError(`${at}.acceptHttp10`, `must be true or false, got ${JSON.stringify(o.acceptHttp10)}`);
    out.acceptHttp10 = o.acceptHttp10;
  }
  if (o.pathNormalization !== undefined) out.pathNormalization = oneOf(o.pathNormalization, PATH_NORMALIZATION_OPTIONS, `${at}.pathNormalization`);
  return out;
}

function checkTcp(v: unknown, at: string): { routes: TcpRoute[] } {
  const o = obj(v, at);
  const routes = list(o.routes, `${at}.routes`).map((r, i) => {
    const rat = `${at}.routes[${i}]`;
    const ro = obj(r, rat);
    const route: TcpRoute = {
      destinations: list(ro.destinations, `${rat}.destinations`).map((d, j) => {
        const dat = `${rat}.destinations[${j}]`;
        const dobj = obj(d, dat);
        return { cluster: str(dobj.cluster, `${dat}.cluster`), weight: dobj.weight === undefined ? 1 : int(dobj.weight, `${dat}.weight`, 0, 1_000_000) };
      }),
    };
    if (route.destinations.length === 0) throw new SnapshotError(`${rat}.destinations`, 'at least one destination is required');
    if (route.destinations.length > 1 && route.destinations.every((d) => d.weight === 0)) {
      throw new SnapshotError(`${rat}.destinations`, 'total destination weight = 0');
    }
    if (ro.match !== undefined) {
      const m = obj(ro.match, `${rat}.match`);
      const match: TcpRouteMatch = {};
      if (m.port !== undefined) match.port = int(m.port, `${rat}.match.port`, 1, 65535);
      if (m.sniHosts !== undefined) match.sniHosts = list(m.sniHosts, `${rat}.match.sniHosts`).map((s, k) => str(s, `${rat}.match.sniHosts[${k}]`));
      if (m.destinationSubnets !== undefined) {
        match.destinationSubnets = list(m.destinationSubnets, `${rat}.match.destinationSubnets`).map((s, k) => {
          const cidr = str(s, `${rat}.match.destinationSubnets[${k}]`);
          if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(cidr)) throw new SnapshotError(`${rat}.match.destinationSubnets[${k}]`, `not a CIDR: ${JSON.stringify(cidr)}`);
          return cidr;
        });
      }
      route.match = match;
    }
    return route;
  });
  return { routes };
}

export function checkListener(v: unknown, at: string, routeNames: Set<string>): ListenerConfig {
  const o = obj(v, at);
  const l: ListenerConfig = {
    name: str(o.name, `${at}.name`),
    address: str(o.address, `${at}.address`),
    port: int(o.port, `${at}.port`, 0, 65535),
    direction: oneOf(o.direction, ['inbound', 'outbound', 'gateway'] as const, `${at}.direction`),
    protocol: oneOf(o.protocol, ['http', 'tcp', 'auto'] as const, `${at}.protocol`),
  };
  if (o.http !== undefined) l.http = checkHttp(o.http, `${at}.http`, routeNames);
  if (o.tcp !== undefined) l.tcp = checkTcp(o.tcp, `${at}.tcp`);
  if (l.protocol !== 'tcp' && l.http === undefined) throw new SnapshotError(`${at}.http`, `is required for protocol ${l.protocol}`);
  if (l.protocol === 'tcp' && l.tcp === undefined) throw new SnapshotError(`${at}.tcp`, 'is required for protocol tcp');
  return l;
}
