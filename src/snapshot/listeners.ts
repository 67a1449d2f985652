/**
 * The listener part of the proxy snapshot (address, direction, protocol, HTTP options, TCP
 * routes, filter chains) and its validation.
 */
import { SnapshotError, int, list, obj, oneOf, optionalMs, str } from './checks.js';
import { checkServerTls } from './tls.js';
import type { ServerTlsConfig } from './tls.js';
import { checkCapture, type CaptureConfig } from './capture.js';

/**
 * How a listener normalises request paths before routing and policy (Istio's MeshConfig
 * `pathNormalization.normalization`, whose DEFAULT is BASE): see `src/proxy/http/path-normalize.ts`.
 */
export type PathNormalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';
export const PATH_NORMALIZATION_OPTIONS: readonly PathNormalization[] = Object.freeze(['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES']);
import { checkRateLimitFilters, type RateLimitFilterConfig } from './ratelimit.js';

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
  /**
   * Envoy's `local_ratelimit` and `ratelimit` HTTP filters on this listener, in chain order
   * (from EnvoyFilter patches); they run once the route is chosen, so a route's own config applies.
   */
  rateLimits?: RateLimitFilterConfig[];
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

/**
 * Which connections a filter chain takes (Envoy's `FilterChainMatch`): every field set must hold.
 * Among the chains that match, the most specific wins, field by field in Envoy's order:
 * destination port, server names (an exact name before a wildcard), transport protocol,
 * application protocols; a field left out matches anything, after every chain that names a value.
 */
export interface FilterChainMatch {
  /** The port the client connected to. */
  destinationPort?: number;
  /** `tls`: the connection opens with a TLS ClientHello; `raw_buffer`: anything else. */
  transportProtocol?: 'tls' | 'raw_buffer';
  /** SNI names of the ClientHello (`*.example.com` allowed); a connection without SNI never matches. */
  serverNames?: string[];
  /** ALPN protocols the ClientHello offers: any one of these. */
  applicationProtocols?: string[];
}

/**
 * How a filter chain treats the connection's bytes (Istio's PeerAuthentication modes):
 * DISABLE serves them as they arrive (TLS included, as for passthrough); PERMISSIVE terminates
 * TLS when the connection opens with a ClientHello and serves anything else as it arrives;
 * STRICT terminates TLS and resets anything else with a TCP RST.
 */
export interface ChainTransport {
  mode: 'DISABLE' | 'PERMISSIVE' | 'STRICT';
  /** The TLS terminated (PERMISSIVE, STRICT). */
  tls?: ServerTlsConfig;
}

/** One way of serving a listener's connections. */
export interface FilterChainConfig {
  name: string;
  match?: FilterChainMatch;
  /** Default: DISABLE (plaintext). */
  transport?: ChainTransport;
  /** What serves the connection once the transport is settled; default the listener's `protocol`. */
  protocol?: 'http' | 'tcp' | 'auto';
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
  /**
   * Absent: one chain serving every connection in plaintext with `protocol`. A connection no
   * chain matches is reset.
   */
  filterChains?: FilterChainConfig[];
  /**
   * The port policies name for this listener's connections (`destination.port` of
   * AuthorizationPolicy `ports`), when it is not the listener's own: a sidecar's inbound listener
   * stands for the workload's container port, a gateway's for the gateway Service's target port.
   */
  policyPort?: number;
  /**
   * false: the listener binds nothing and serves the connections a capture listener hands it
   * (Envoy's `bind_to_port: false`); its `port` is the destination port it stands for. Default true.
   */
  bindToPort?: boolean;
  /** A capture listener (Istio's 15001 and 15006): see `capture.ts`. */
  capture?: CaptureConfig;
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
  if (o.rateLimits !== undefined) out.rateLimits = checkRateLimitFilters(o.rateLimits, `${at}.rateLimits`);
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

function checkMatch(v: unknown, at: string): FilterChainMatch {
  const m = obj(v, at);
  const out: FilterChainMatch = {};
  if (m.destinationPort !== undefined) out.destinationPort = int(m.destinationPort, `${at}.destinationPort`, 1, 65535);
  if (m.transportProtocol !== undefined) out.transportProtocol = oneOf(m.transportProtocol, ['tls', 'raw_buffer'] as const, `${at}.transportProtocol`);
  if (m.serverNames !== undefined) {
    out.serverNames = list(m.serverNames, `${at}.serverNames`).map((s, i) => {
      const name = str(s, `${at}.serverNames[${i}]`).toLowerCase();
      if (name.includes('*') && !/^\*\.[^*]+$/.test(name)) throw new SnapshotError(`${at}.serverNames[${i}]`, `a wildcard is a leading "*." only, got ${JSON.stringify(s)}`);
      return name;
    });
  }
  if (m.applicationProtocols !== undefined) {
    out.applicationProtocols = list(m.applicationProtocols, `${at}.applicationProtocols`).map((s, i) => str(s, `${at}.applicationProtocols[${i}]`));
  }
  return out;
}

function checkTransport(v: unknown, at: string): ChainTransport {
  const o = obj(v, at);
  const out: ChainTransport = { mode: oneOf(o.mode, ['DISABLE', 'PERMISSIVE', 'STRICT'] as const, `${at}.mode`) };
  if (o.tls !== undefined) out.tls = checkServerTls(o.tls, `${at}.tls`);
  if (out.mode === 'DISABLE' && out.tls !== undefined) throw new SnapshotError(`${at}.tls`, 'is not used with mode DISABLE (the bytes are served as they arrive)');
  if (out.mode !== 'DISABLE' && out.tls === undefined) throw new SnapshotError(`${at}.tls`, `is required with mode ${out.mode}`);
  return out;
}

/** A match's identity: two chains with the same one could never both be chosen (Envoy refuses them too). */
function matchKey(m: FilterChainMatch | undefined): string {
  const sorted = (l: string[] | undefined): string[] | null => (l === undefined ? null : [...l].sort());
  return JSON.stringify([m?.destinationPort ?? null, sorted(m?.serverNames), m?.transportProtocol ?? null, sorted(m?.applicationProtocols)]);
}

function checkFilterChains(v: unknown, at: string, l: ListenerConfig): FilterChainConfig[] {
  const names = new Set<string>();
  const matches = new Map<string, string>();
  const chains = list(v, at).map((c, i) => {
    const cat = `${at}[${i}]`;
    const o = obj(c, cat);
    const chain: FilterChainConfig = { name: str(o.name, `${cat}.name`) };
    if (names.has(chain.name)) throw new SnapshotError(`${cat}.name`, `duplicate filter chain name ${JSON.stringify(chain.name)}`);
    names.add(chain.name);
    if (o.match !== undefined) chain.match = checkMatch(o.match, `${cat}.match`);
    if (o.transport !== undefined) chain.transport = checkTransport(o.transport, `${cat}.transport`);
    if (o.protocol !== undefined) chain.protocol = oneOf(o.protocol, ['http', 'tcp', 'auto'] as const, `${cat}.protocol`);
    const protocol = chain.protocol ?? l.protocol;
    if (protocol !== 'tcp' && l.http === undefined) throw new SnapshotError(`${cat}.protocol`, `${protocol} needs the listener's http options`);
    if (protocol === 'tcp' && l.tcp === undefined) throw new SnapshotError(`${cat}.protocol`, "tcp needs the listener's tcp routes");
    const key = matchKey(chain.match);
    const other = matches.get(key);
    if (other !== undefined) throw new SnapshotError(`${cat}.match`, `filter chain ${JSON.stringify(other)} has the same match`);
    matches.set(key, chain.name);
    return chain;
  });
  if (chains.length === 0) throw new SnapshotError(at, 'at least one filter chain is required (leave filterChains out for one plaintext chain)');
  return chains;
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
  if (o.filterChains !== undefined) l.filterChains = checkFilterChains(o.filterChains, `${at}.filterChains`, l);
  if (o.policyPort !== undefined) l.policyPort = int(o.policyPort, `${at}.policyPort`, 1, 65535);
  if (o.bindToPort !== undefined) {
    if (typeof o.bindToPort !== 'boolean') throw new SnapshotError(`${at}.bindToPort`, `must be true or false, got ${JSON.stringify(o.bindToPort)}`);
    if (!o.bindToPort && l.port === 0) throw new SnapshotError(`${at}.port`, 'a listener that binds no port stands for a destination port: 0 is none');
    l.bindToPort = o.bindToPort;
  }
  if (o.capture !== undefined) l.capture = checkCapture(o.capture, `${at}.capture`);
  return l;
}
