/**
 * The proxy snapshot: the complete, plain-JSON configuration of one proxy (node identity,
 * listeners, route tables, clusters) as the control plane or a file provides it, and its
 * validation. A snapshot is checked whole before anything is applied; the first problem is
 * reported with the path of the offending field.
 */
import { ClusterConfigError, withDefaults } from './upstream/config.js';
import type { ClusterConfig, ClusterConfigInput } from './upstream/types.js';
import { compileRouteConfig } from './http/route/compile.js';
import type { RouteTable } from './http/route/compile.js';
import { RouteConfigError } from './http/route/errors.js';
import type { RouteConfig } from './http/route/types.js';
import { TelemetryConfigError, checkTelemetryConfig } from '../telemetry/config.js';
import type { TelemetryConfig } from '../telemetry/config.js';

export type { TelemetryConfig } from '../telemetry/config.js';

export interface WorkloadIdentity {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string;
}

export interface NodeConfig {
  id: string;
  kind: 'sidecar' | 'gateway';
  workload?: WorkloadIdentity;
}

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

export interface ProxySnapshot {
  version: string;
  node: NodeConfig;
  listeners: ListenerConfig[];
  routes: RouteConfig[];
  /** As provided; `parseSnapshot` returns them with every default resolved. */
  clusters: (ClusterConfigInput | ClusterConfig)[];
  /** Access logging and tracing (`src/telemetry/config.ts`); absent = the proxy's command-line defaults. */
  telemetry?: TelemetryConfig;
}

/** A snapshot that cannot be applied; `path` names the field (`listeners[1].port`). */
export class SnapshotError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'SnapshotError';
  }
}

/** A validated snapshot with its route tables compiled (so nothing can fail while applying). */
export interface CheckedSnapshot {
  snapshot: ProxySnapshot & { clusters: ClusterConfig[] };
  routeTables: Map<string, RouteTable>;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, at: string): Obj {
  if (!isObj(v)) throw new SnapshotError(at, `must be an object, got ${describe(v)}`);
  return v;
}

function list(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw new SnapshotError(at, `must be a list, got ${describe(v)}`);
  return v;
}

function str(v: unknown, at: string, allowEmpty = false): string {
  if (typeof v !== 'string' || (!allowEmpty && v === '')) throw new SnapshotError(at, `must be a non-empty string, got ${describe(v)}`);
  return v;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], at: string): T {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw new SnapshotError(at, `must be one of ${allowed.join(', ')}, got ${describe(v)}`);
}

function int(v: unknown, at: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new SnapshotError(at, `must be an integer ${min}..${max}, got ${describe(v)}`);
  }
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : JSON.stringify(v);
}

function stringMap(v: unknown, at: string): Record<string, string> {
  const o = obj(v, at);
  for (const [k, val] of Object.entries(o)) str(val, `${at}.${k}`, true);
  return o as Record<string, string>;
}

function checkNode(v: unknown): NodeConfig {
  const o = obj(v, 'node');
  const node: NodeConfig = { id: str(o.id, 'node.id'), kind: oneOf(o.kind, ['sidecar', 'gateway'] as const, 'node.kind') };
  if (o.workload !== undefined) {
    const w = obj(o.workload, 'node.workload');
    node.workload = {
      name: str(w.name, 'node.workload.name'),
      namespace: str(w.namespace, 'node.workload.namespace'),
      labels: w.labels === undefined ? {} : stringMap(w.labels, 'node.workload.labels'),
      serviceAccount: w.serviceAccount === undefined ? 'default' : str(w.serviceAccount, 'node.workload.serviceAccount'),
    };
  }
  return node;
}

function optionalMs(v: unknown, at: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new SnapshotError(at, `must be a number of milliseconds >= 0, got ${describe(v)}`);
  return v;
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

function checkListener(v: unknown, at: string, routeNames: Set<string>): ListenerConfig {
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

/**
 * Validates a snapshot (as parsed from JSON) and compiles its route tables. Throws
 * `SnapshotError` naming the first offending field; returns nothing half-checked.
 */
export function checkSnapshot(input: unknown): CheckedSnapshot {
  const o = obj(input, 'snapshot');
  const version = typeof o.version === 'number' ? String(o.version) : str(o.version, 'version');
  const node = checkNode(o.node);

  const routeTables = new Map<string, RouteTable>();
  const routes = list(o.routes ?? [], 'routes') as RouteConfig[];
  routes.forEach((r, i) => {
    const at = `routes[${i}]`;
    const name = str(obj(r, at).name, `${at}.name`);
    if (routeTables.has(name)) throw new SnapshotError(`${at}.name`, `duplicate route config name ${JSON.stringify(name)}`);
    try {
      routeTables.set(name, compileRouteConfig(r));
    } catch (err) {
      if (err instanceof RouteConfigError) throw new SnapshotError(`${at}.${err.path}`, err.reason);
      throw err;
    }
  });

  const clusters: ClusterConfig[] = [];
  const clusterNames = new Set<string>();
  list(o.clusters ?? [], 'clusters').forEach((c, i) => {
    let cfg: ClusterConfig;
    try {
      cfg = withDefaults(c as ClusterConfigInput);
    } catch (err) {
      if (err instanceof ClusterConfigError) throw new SnapshotError(`clusters[${i}]`, err.message);
      throw err;
    }
    if (clusterNames.has(cfg.name)) throw new SnapshotError(`clusters[${i}].name`, `duplicate cluster name ${JSON.stringify(cfg.name)}`);
    clusterNames.add(cfg.name);
    clusters.push(cfg);
  });

  const names = new Set<string>();
  const addresses = new Map<string, string>();
  const listeners = list(o.listeners ?? [], 'listeners').map((l, i) => {
    const at = `listeners[${i}]`;
    const listener = checkListener(l, at, new Set(routeTables.keys()));
    if (names.has(listener.name)) throw new SnapshotError(`${at}.name`, `duplicate listener name ${JSON.stringify(listener.name)}`);
    names.add(listener.name);
    if (listener.port !== 0) {
      const key = `${listener.address}:${listener.port}`;
      const other = addresses.get(key);
      if (other !== undefined) throw new SnapshotError(`${at}.port`, `${key} is already used by listener ${JSON.stringify(other)}`);
      addresses.set(key, listener.name);
    }
    return listener;
  });

  const snapshot: CheckedSnapshot['snapshot'] = { version, node, listeners, routes, clusters };
  if (o.telemetry !== undefined) {
    try {
      snapshot.telemetry = checkTelemetryConfig(o.telemetry);
    } catch (err) {
      if (err instanceof TelemetryConfigError) throw new SnapshotError(err.path, err.reason);
      throw err;
    }
  }
  return { snapshot, routeTables };
}
