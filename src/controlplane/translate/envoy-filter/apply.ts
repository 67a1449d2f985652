/**
 * EnvoyFilter patches onto a proxy's translated listeners and route configs, as Istio applies
 * them, for the rate-limit shapes Skiff reads (`api/kinds/networking/envoy-filter-ratelimit.ts`):
 *
 * - `HTTP_FILTER` patches put a `local_ratelimit` or `ratelimit` filter into the rate-limit filters
 *   of each HTTP listener of the patch's context (SIDECAR_INBOUND: the inbound listeners,
 *   SIDECAR_OUTBOUND: the outbound one, or a captured sidecar's ClusterIP listeners, GATEWAY: a
 *   gateway's, ANY: all) whose port matches `listener.portNumber` (inbound: the container port,
 *   Istio's inbound port; a ClusterIP listener: its service port; gateway: a Gateway server's
 *   port), at the place the operation says (INSERT_FIRST, and INSERT_BEFORE without a
 *   sub-filter, first; ADD last; INSERT_BEFORE/AFTER a sub-filter next to it, before the router
 *   meaning last).
 * - `VIRTUAL_HOST` and `HTTP_ROUTE` MERGE patches merge `typed_per_filter_config` (replaced) and
 *   `rate_limits` (appended, as protobuf merges lists) into the virtual hosts and routes of the
 *   route configs those listeners serve, matched by port, route config name, virtual host name or
 *   domain (an empty name matches all, as in Istio), route name (Istio's: the VirtualService rule's
 *   `name`, `default` inbound) and action.
 *
 * Patches are applied in the order `select.ts` gives; a patch Skiff does not read is logged with
 * its reason and skipped (`skiff analyze` reports it too). Snapshots are shared between proxies, so
 * nothing is changed in place: what a patch touches is copied.
 */
import { LOCAL_RATELIMIT_FILTER, RATELIMIT_FILTER, readRateLimitPatch, type RateLimitPatch, type RouteRateLimits as PatchLimits } from '../../../api/kinds/networking/envoy-filter-ratelimit.js';
import type { EnvoyConfigObjectPatch } from '../../../api/kinds/networking/envoy-filter.js';
import type { ListenerConfig, RateLimitFilterConfig, Route, RouteConfig, RouteRateLimits, VirtualHost } from '../../../snapshot/index.js';
import type { EnvoyFilterEntry } from '../push-context.js';

type Context = 'SIDECAR_INBOUND' | 'SIDECAR_OUTBOUND' | 'GATEWAY';

export interface PatchTarget {
  listeners: ListenerConfig[];
  routes: RouteConfig[];
}

function contextOf(l: ListenerConfig): Context {
  return l.direction === 'inbound' ? 'SIDECAR_INBOUND' : l.direction === 'outbound' ? 'SIDECAR_OUTBOUND' : 'GATEWAY';
}

function contextMatches(cp: EnvoyConfigObjectPatch, ctx: Context): boolean {
  const want = cp.match?.context ?? 'ANY';
  return want === 'ANY' || want === ctx;
}

/** The port Istio's matches name for an inbound route config `inbound|<port>||`. */
function inboundPort(routeConfig: string): number | undefined {
  const m = /^inbound\|(\d+)\|/.exec(routeConfig);
  return m === null ? undefined : Number(m[1]);
}

/** A virtual host's port as Istio names gateway and outbound hosts: `host:port`. */
function vhostPort(vh: VirtualHost): number | undefined {
  const m = /:(\d+)$/.exec(vh.name);
  return m === null ? undefined : Number(m[1]);
}

/** Whether a listener carries `port` in Istio's sense. */
function listenerHasPort(l: ListenerConfig, routes: readonly RouteConfig[], port: number): boolean {
  if (l.http === undefined) return false;
  if (l.direction === 'inbound') return inboundPort(l.http.routeConfig) === port;
  const rc = routes.find((r) => r.name === l.http!.routeConfig);
  return rc !== undefined && rc.virtualHosts.some((vh) => vhostPort(vh) === port);
}

function filterName(f: RateLimitFilterConfig): string {
  return f.type === 'local' ? LOCAL_RATELIMIT_FILTER : RATELIMIT_FILTER;
}

function insertFilter(list: readonly RateLimitFilterConfig[], patch: Extract<RateLimitPatch, { kind: 'filter' }>): RateLimitFilterConfig[] {
  const out = [...list];
  const f: RateLimitFilterConfig = patch.filter;
  const pos = patch.position;
  if (pos.at === 'first') out.unshift(f);
  else if (pos.at === 'last') out.push(f);
  else {
    const i = out.findIndex((x) => filterName(x) === pos.filter);
    // Istio's own filters (authn, authz, stats, CORS, fault) come before these and the router after.
    if (i >= 0) out.splice(pos.at === 'before' ? i : i + 1, 0, f);
    else if (pos.at === 'before' && pos.filter !== 'envoy.filters.http.router') out.unshift(f);
    else out.push(f);
  }
  return out;
}

function mergeLimits(into: RouteRateLimits | undefined, add: PatchLimits): RouteRateLimits {
  const out: RouteRateLimits = { ...into };
  if (add.local !== undefined) out.local = add.local;
  if (add.policies !== undefined) out.policies = [...(into?.policies ?? []), ...add.policies];
  return out;
}

function routeMatches(cp: EnvoyConfigObjectPatch, r: Route): boolean {
  const m = cp.match?.routeConfiguration?.vhost?.route;
  if (m === undefined) return true;
  if (m.name !== undefined && m.name !== '' && m.name !== r.name) return false;
  const action = m.action ?? 'ANY';
  if (action === 'ANY') return true;
  const type = r.action.type;
  return (action === 'ROUTE' && type === 'route') || (action === 'REDIRECT' && type === 'redirect') || (action === 'DIRECT_RESPONSE' && type === 'direct');
}

function vhostMatches(cp: EnvoyConfigObjectPatch, vh: VirtualHost): boolean {
  const m = cp.match?.routeConfiguration?.vhost;
  if (m === undefined) return true;
  if (m.name !== undefined && m.name !== '' && m.name !== vh.name) return false;
  if (m.domainName !== undefined && m.domainName !== '' && !vh.domains.includes(m.domainName)) return false;
  return true;
}

function routeConfigMatches(cp: EnvoyConfigObjectPatch, rc: RouteConfig, served: ListenerConfig): boolean {
  const m = cp.match?.routeConfiguration;
  if (m === undefined) return true;
  if (m.name !== undefined && m.name !== '' && m.name !== rc.name) return false;
  if (m.portNumber !== undefined && m.portNumber !== 0) {
    if (served.direction === 'inbound') return inboundPort(rc.name) === m.portNumber;
    // Gateways and the outbound side: the virtual hosts of that port (checked per host below).
  }
  return true;
}

/** `list.map(f)`, or `list` itself when `f` changed nothing (a shared list keeps its identity). */
function mapKeeping<T>(list: T[], f: (x: T) => T): T[] {
  const out = list.map(f);
  return out.every((x, i) => x === list[i]) ? list : out;
}

function applyMerge(cp: EnvoyConfigObjectPatch, patch: Extract<RateLimitPatch, { kind: 'merge' }>, target: PatchTarget, listeners: readonly ListenerConfig[]): void {
  const served = new Map<string, ListenerConfig>();
  for (const l of listeners) if (l.http !== undefined && contextMatches(cp, contextOf(l))) served.set(l.http.routeConfig, l);
  const port = cp.match?.routeConfiguration?.portNumber;
  target.routes = mapKeeping(target.routes, (rc) => {
    const l = served.get(rc.name);
    if (l === undefined || !routeConfigMatches(cp, rc, l)) return rc;
    let changed = false;
    const virtualHosts = rc.virtualHosts.map((vh) => {
      if (!vhostMatches(cp, vh)) return vh;
      if (port !== undefined && port !== 0 && l.direction !== 'inbound' && vhostPort(vh) !== port) return vh;
      if (patch.level === 'vhost') {
        changed = true;
        return { ...vh, rateLimits: mergeLimits(vh.rateLimits, patch.limits) };
      }
      let routeChanged = false;
      const routes = vh.routes.map((r) => {
        if (!routeMatches(cp, r)) return r;
        routeChanged = true;
        return { ...r, rateLimits: mergeLimits(r.rateLimits, patch.limits) };
      });
      if (!routeChanged) return vh;
      changed = true;
      return { ...vh, routes };
    });
    return changed ? { ...rc, virtualHosts } : rc;
  });
}

function applyFilter(cp: EnvoyConfigObjectPatch, patch: Extract<RateLimitPatch, { kind: 'filter' }>, target: PatchTarget, where: string, warn: (m: string) => void): void {
  const port = cp.match?.listener?.portNumber;
  target.listeners = mapKeeping(target.listeners, (l) => {
    if (l.http === undefined || !contextMatches(cp, contextOf(l))) return l;
    if (port !== undefined && port !== 0) {
      // A captured sidecar's outbound listeners stand for one service port each (bindToPort: false), as Istio's do.
      if (l.direction === 'outbound' && l.bindToPort !== false) {
        warn(`${where}: listener.portNumber ${port} cannot select part of the sidecar's one outbound listener; the filter is not added there`);
        return l;
      }
      if (!listenerHasPort(l, target.routes, port)) return l;
    }
    return { ...l, http: { ...l.http, rateLimits: insertFilter(l.http.rateLimits ?? [], patch) } };
  });
}

/** Applies the EnvoyFilters (already selected and ordered for this proxy) to its listeners and routes. */
export function applyEnvoyFilters(filters: readonly EnvoyFilterEntry[], target: PatchTarget, warn: (m: string) => void): PatchTarget {
  if (filters.length === 0) return target;
  const out: PatchTarget = { listeners: target.listeners, routes: target.routes };
  for (const ef of filters) {
    (ef.spec.configPatches ?? []).forEach((cp, i) => {
      const where = `EnvoyFilter ${ef.namespace}/${ef.name} configPatches[${i}]`;
      const read = readRateLimitPatch(cp);
      if (!read.ok) {
        warn(`${where}: not applied: ${read.reason}`);
        return;
      }
      if (read.patch.kind === 'filter') applyFilter(cp, read.patch, out, where, warn);
      else applyMerge(cp, read.patch, out, out.listeners);
    });
  }
  return out;
}
