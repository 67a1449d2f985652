/**
 * Compiles a RouteConfig once into a RouteTable: virtual hosts indexed by domain, each route's
 * match blocks flattened in order into precompiled conditions, so `select` walks closures and
 * allocates nothing.
 */
import { compileCors } from '../../filters/cors/cors.js';
import { compileFault } from '../../filters/fault/fault.js';
import { RouteHeaderOperations } from '../../filters/headers/header-operations.js';
import { compileMirrors } from '../../filters/mirror/mirror.js';
import { compileDirectResponse } from '../../filters/redirect/direct-response.js';
import { compileRedirect } from '../../filters/redirect/redirect.js';
import { RouteRateLimitConfig } from '../../filters/ratelimit/descriptors.js';
import { DomainIndex } from './domains.js';
import { RouteConfigError, SnapshotError, checkRouteRateLimits } from '../../../snapshot/index.js';
import { compileMatch } from './match.js';
import { MatchScratch, type Condition } from './matchers.js';
import { CompiledRetryPolicy } from './retry.js';
import { compileRegexRewrite, compileUriRewrite, type MatchedPath, type PathRewriter } from './rewrite.js';
import { SelectedRoute, type CompiledDestination, type RouteFilters } from './selected.js';
import type { ForwardAction, Route, RouteConfig, RouteMatch, RouteRateLimits, VirtualHost } from '../../../snapshot/index.js';
import type { RouteRequest } from './request.js';

interface Entry {
  condition: Condition | null;
  selected: SelectedRoute;
}

interface CompiledVirtualHost {
  name: string;
  entries: Entry[];
  /** What a CONNECT to the host opens when it carries HTTP (the snapshot's `connect`), else null. */
  httpTunnel: HttpTunnelTarget | null;
}

/** A virtual host whose CONNECT tunnels carry HTTP requests, each served through its routes. */
export interface HttpTunnelTarget {
  /** The virtual host's routes alone: the requests inside are the port's, whatever Host they carry. */
  readonly routes: RouteTable;
  /** Where a tunnel whose first bytes are not HTTP goes, as a byte tunnel. */
  readonly tcpCluster: string;
}

export class RouteTable {
  /** The configuration this table was compiled from (for config dumps). */
  readonly config: RouteConfig;
  private readonly domains: DomainIndex<CompiledVirtualHost>;
  private readonly scratch = new MatchScratch();

  constructor(config: RouteConfig, domains: DomainIndex<CompiledVirtualHost>) {
    this.config = config;
    this.domains = domains;
  }

  /**
   * The first route (in order) of the request's virtual host whose match block holds, or null
   * when no virtual host or no route matches (the data path answers 404, flag `NR`).
   */
  select(req: RouteRequest): SelectedRoute | null {
    const vh = this.domains.find(req.authority);
    if (vh === undefined) return null;
    const scratch = this.scratch;
    scratch.reset(req);
    const entries = vh.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e.condition === null || e.condition(req, scratch)) return e.selected;
    }
    return null;
  }

  /**
   * The tunnel target of a CONNECT to `authority` when its virtual host serves the HTTP inside
   * (`VirtualHost.connect`), else null: the CONNECT is routed as a byte tunnel.
   */
  httpTunnelFor(authority: string): HttpTunnelTarget | null {
    return this.domains.find(authority)?.httpTunnel ?? null;
  }

  /** Name of the virtual host serving this Host / :authority, if any. */
  virtualHostFor(authority: string): string | undefined {
    return this.domains.find(authority)?.name;
  }
}

/** Compiles and validates; throws RouteConfigError naming the offending field. */
export function compileRouteConfig(cfg: RouteConfig): RouteTable {
  if (cfg === null || typeof cfg !== 'object' || !Array.isArray(cfg.virtualHosts)) {
    throw new RouteConfigError('virtualHosts', 'must be a list');
  }
  const domains = new DomainIndex<CompiledVirtualHost>();
  const seen = new Map<string, string>();
  cfg.virtualHosts.forEach((vh, i) => {
    const where = `virtualHosts[${i}]`;
    const compiled = compileVirtualHost(vh, where);
    if (!Array.isArray(vh.domains)) throw new RouteConfigError(`${where}.domains`, 'must be a list');
    domains.add(vh.domains, compiled, `${where}.domains`, seen);
  });
  return new RouteTable(cfg, domains.seal());
}

function compileVirtualHost(vh: VirtualHost, where: string): CompiledVirtualHost {
  if (!Array.isArray(vh.routes)) throw new RouteConfigError(`${where}.routes`, 'must be a list');
  const entries: Entry[] = [];
  const vhLimits = vh.rateLimits === undefined ? undefined : checkedRateLimits(vh.rateLimits, `${where}.rateLimits`);
  vh.routes.forEach((r, i) => entries.push(...compileRoute(r, vh.name, `${where}.routes[${i}]`, vhLimits)));
  const compiled: CompiledVirtualHost = { name: vh.name, entries, httpTunnel: null };
  if (vh.connect !== undefined) compiled.httpTunnel = compileHttpTunnel(vh, compiled, `${where}.connect`);
  return compiled;
}

/** The tunnel target of a virtual host with `connect`: a table of that host alone, under any Host. */
function compileHttpTunnel(vh: VirtualHost, compiled: CompiledVirtualHost, where: string): HttpTunnelTarget {
  const c: unknown = vh.connect;
  if (c === null || typeof c !== 'object') throw new RouteConfigError(where, 'must be an object');
  const { serve, tcpCluster } = c as Record<string, unknown>;
  if (serve !== 'http') throw new RouteConfigError(`${where}.serve`, `must be "http", not ${JSON.stringify(serve)}`);
  if (typeof tcpCluster !== 'string' || tcpCluster === '') throw new RouteConfigError(`${where}.tcpCluster`, 'must be a non-empty string');
  const only = new DomainIndex<CompiledVirtualHost>();
  only.add(['*'], compiled, `${where}`, new Map());
  // The host's rate-limit settings go with its routes into the tunnel.
  const config: RouteConfig = { name: `connect|${vh.name}`, virtualHosts: [{ name: vh.name, domains: ['*'], routes: vh.routes, ...(vh.rateLimits !== undefined ? { rateLimits: vh.rateLimits } : {}) }] };
  return { routes: new RouteTable(config, only.seal()), tcpCluster };
}

/** One entry per match block (Istio emits one Envoy route per block), or one for no blocks. */
function compileRoute(r: Route, vhName: string, where: string, vhLimits: RouteRateLimits | undefined): Entry[] {
  if (r.action === undefined || r.action === null) throw new RouteConfigError(`${where}.action`, 'is required');
  if (r.match !== undefined && !Array.isArray(r.match)) throw new RouteConfigError(`${where}.match`, 'must be a list of match blocks');
  if (typeof r.name !== 'string') throw new RouteConfigError(`${where}.name`, 'must be a string');
  const blocks: (RouteMatch | null)[] = r.match === undefined || r.match.length === 0 ? [null] : r.match;
  const shared = compileShared(r, where, vhName, vhLimits);
  return blocks.map((m, j) => {
    const compiled = m === null ? { condition: null, matchedPath: { kind: 'prefix', length: 1 } as MatchedPath } : compileMatch(m, `${where}.match[${j}]`);
    const name = m !== null && m.name !== undefined && m.name !== '' ? `${r.name}.${m.name}` : r.name;
    const rewritePath = r.action.type === 'route' ? pathRewriter(r.action, compiled.matchedPath, `${where}.action.rewrite`) : null;
    const selected = new SelectedRoute({ ...shared, name, virtualHost: vhName, route: r, match: m, rewritePath });
    return { condition: compiled.condition, selected };
  });
}

/** The snapshot's check of a route's or virtual host's rate limits, as a route config error. */
function checkedRateLimits(v: RouteRateLimits, where: string): RouteRateLimits {
  try {
    return checkRouteRateLimits(v, where);
  } catch (err) {
    if (err instanceof SnapshotError) throw new RouteConfigError(err.path, err.reason);
    throw err;
  }
}

type Shared = Omit<ConstructorParameters<typeof SelectedRoute>[0], 'name' | 'virtualHost' | 'route' | 'match' | 'rewritePath'>;

/** Everything about a route that does not depend on which match block matched. */
function compileShared(r: Route, where: string, vhName: string, vhLimits: RouteRateLimits | undefined): Shared {
  const a = r.action;
  const headers = new RouteHeaderOperations(r, where);
  // Per-route filters apply to every action kind; each compiles its own part of the route.
  const filters: RouteFilters = {
    cors: compileCors(r.cors, `${where}.cors`),
    answer: a.type === 'redirect' ? compileRedirect(a, `${where}.action`) : a.type === 'direct' ? compileDirectResponse(a, `${where}.action`) : null,
    fault: compileFault(r.fault, `${where}.fault`),
    headers: headers.route,
    mirror: a.type === 'route' ? compileMirrors(a.mirrors, `${where}.action.mirrors`) : null,
    rateLimits: RouteRateLimitConfig.of(
      `${vhName}/${r.name}`,
      r.rateLimits === undefined ? undefined : checkedRateLimits(r.rateLimits, `${where}.rateLimits`),
      vhLimits,
      `${where}.rateLimits`,
    ),
  };
  const base: Shared = {
    destinations: [],
    totalWeight: 0,
    timeoutMs: 0,
    retry: null,
    routeAuthority: headers.authority,
    filters,
  };
  if (a.type === 'redirect' || a.type === 'direct') return base;
  if (a.type !== 'route') {
    throw new RouteConfigError(`${where}.action.type`, `must be route, redirect or direct, not ${JSON.stringify((a as { type: unknown }).type)}`);
  }
  return compileForward(a, base, headers, `${where}.action`);
}

function compileForward(a: ForwardAction, base: Shared, headers: RouteHeaderOperations, where: string): Shared {
  if (!Array.isArray(a.destinations) || a.destinations.length === 0) {
    throw new RouteConfigError(`${where}.destinations`, 'at least one destination is required');
  }
  const routeAuthority = nonEmpty(a.rewrite?.authority) ?? base.routeAuthority;
  let total = 0;
  a.destinations.forEach((d, i) => {
    const at = `${where}.destinations[${i}]`;
    if (typeof d.cluster !== 'string' || d.cluster === '') throw new RouteConfigError(`${at}.cluster`, 'must be a non-empty string');
    if (typeof d.weight !== 'number' || !Number.isInteger(d.weight) || d.weight < 0) {
      throw new RouteConfigError(`${at}.weight`, `must be a non-negative integer, got ${String(d.weight)}`);
    }
    total += d.weight;
  });
  const single = a.destinations.length === 1;
  if (!single && total === 0) throw new RouteConfigError(`${where}.destinations`, 'total destination weight = 0');

  const destinations: CompiledDestination[] = [];
  a.destinations.forEach((d, i) => {
    // With several destinations, weight 0 gets no traffic (Istio leaves it out).
    if (!single && d.weight === 0) return;
    const own = headers.forDestination(d, single, `${where}.destinations[${i}]`);
    destinations.push({
      cluster: d.cluster,
      weight: single ? 1 : d.weight,
      hashPolicy: d.hashPolicy,
      // A route-level authority rewrite wins over the destination's (Envoy applies it last).
      authority: routeAuthority ?? own.authority,
      headers: own.operations,
    });
  });

  const timeoutMs = a.timeoutMs ?? 0;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new RouteConfigError(`${where}.timeoutMs`, `must be a non-negative number, got ${String(timeoutMs)}`);
  }
  const retry = a.retry === undefined || a.retry.attempts === 0 ? null : new CompiledRetryPolicy(a.retry, `${where}.retry`);
  return {
    ...base,
    destinations,
    totalWeight: single ? 1 : total,
    timeoutMs,
    retry,
    routeAuthority,
  };
}

function pathRewriter(a: ForwardAction, matched: MatchedPath, where: string): PathRewriter | null {
  const rw = a.rewrite;
  if (rw === undefined) return null;
  const uri = nonEmpty(rw.uri);
  if (uri !== undefined && rw.uriRegex !== undefined) throw new RouteConfigError(where, 'uri and uriRegex are mutually exclusive');
  if (rw.uriRegex !== undefined) return compileRegexRewrite(rw.uriRegex.match, rw.uriRegex.rewrite, `${where}.uriRegex`);
  if (uri !== undefined) return compileUriRewrite(uri, matched);
  return null;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}
