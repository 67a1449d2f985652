/**
 * The rate-limit filters a proxy runs, as its snapshot has them — each listener's
 * `local_ratelimit` and `ratelimit` filters in chain order, then every virtual host and route
 * carrying its own local limit (`typed_per_filter_config`) or `rate_limits`. One listing for both
 * readers: `skiff proxy-config ratelimit` prints it as tables, the dashboard's Rate limits view
 * shows it per proxy.
 */
import type { RateLimitFilterRow, RateLimitListing, RateLimitRouteRow } from '../../dashboard/sources.js';
import type { LocalRateLimit, ProxySnapshot, RateLimitAction, RateLimitFilterConfig, RouteRateLimits, TokenBucket } from '../../snapshot/index.js';

function bucketText(b: TokenBucket): string {
  return `${b.maxTokens} max, ${b.tokensPerFill} per ${b.fillIntervalMs / 1000}s`;
}

function localText(l: LocalRateLimit): string {
  const parts = [l.tokenBucket !== undefined ? bucketText(l.tokenBucket) : 'no bucket (routes carry theirs)'];
  if (l.tokenBucket !== undefined) parts.push(`enabled ${l.enabledPercent}%, enforced ${l.enforcedPercent}%`);
  if (l.descriptors !== undefined && l.descriptors.length > 0) parts.push(`${l.descriptors.length} descriptor${l.descriptors.length === 1 ? '' : 's'}`);
  if (l.perConnection === true) parts.push('per connection');
  return parts.join('; ');
}

function actionText(a: RateLimitAction): string {
  switch (a.type) {
    case 'requestHeaders':
      return `${a.descriptorKey}=header ${a.headerName}`;
    case 'headerValueMatch':
      return `${a.descriptorKey}=${a.descriptorValue} if headers ${a.expectMatch ? 'match' : 'do not match'}`;
    case 'remoteAddress':
      return 'remote_address';
    case 'genericKey':
      return `${a.descriptorKey}=${a.descriptorValue}`;
    case 'destinationCluster':
      return 'destination_cluster';
  }
}

function filterRow(listener: string, f: RateLimitFilterConfig): RateLimitFilterRow {
  if (f.type === 'local') return { listener, filter: 'envoy.filters.http.local_ratelimit', statPrefix: f.local.statPrefix, settings: localText(f.local) };
  const g = f.global;
  return {
    listener,
    filter: 'envoy.filters.http.ratelimit',
    statPrefix: g.statPrefix ?? 'ratelimit',
    settings: `domain ${g.domain} at ${g.cluster}; timeout ${g.timeoutMs}ms; ${g.failureModeDeny ? 'fail closed' : 'fail open'}${g.xRateLimitHeaders ? '; x-ratelimit headers' : ''}`,
  };
}

function routeRow(routeConfig: string, virtualHost: string, route: string, r: RouteRateLimits): RateLimitRouteRow {
  return {
    routeConfig,
    virtualHost,
    route,
    local: r.local !== undefined ? localText(r.local) : '-',
    descriptors: r.policies !== undefined && r.policies.length > 0 ? r.policies.map((p) => `[${p.actions.map(actionText).join(', ')}]`).join(' ') : '-',
  };
}

/** The listeners' filters and the per-host and per-route settings, each in the snapshot's order; both empty when no rate-limit patch applies. */
export function rateLimitListing(snap: ProxySnapshot): RateLimitListing {
  const filters: RateLimitFilterRow[] = [];
  for (const l of snap.listeners) for (const f of l.http?.rateLimits ?? []) filters.push(filterRow(l.name, f));
  const routes: RateLimitRouteRow[] = [];
  for (const rc of snap.routes) {
    for (const vh of rc.virtualHosts) {
      if (vh.rateLimits !== undefined) routes.push(routeRow(rc.name, vh.name, '*', vh.rateLimits));
      for (const r of vh.routes) if (r.rateLimits !== undefined) routes.push(routeRow(rc.name, vh.name, r.name ?? '-', r.rateLimits));
    }
  }
  return { filters, routes };
}

/** The rate-limit configuration itself (`-o json`): the listeners carrying filters, and the hosts and routes carrying their own settings. */
export function rateLimitConfig(snap: ProxySnapshot): unknown {
  return {
    listeners: snap.listeners.filter((l) => (l.http?.rateLimits ?? []).length > 0).map((l) => ({ name: l.name, rateLimits: l.http?.rateLimits })),
    routes: snap.routes.flatMap((rc) =>
      rc.virtualHosts.flatMap((vh) => [
        ...(vh.rateLimits !== undefined ? [{ routeConfig: rc.name, virtualHost: vh.name, rateLimits: vh.rateLimits }] : []),
        ...vh.routes.filter((r) => r.rateLimits !== undefined).map((r) => ({ routeConfig: rc.name, virtualHost: vh.name, route: r.name, rateLimits: r.rateLimits })),
      ]),
    ),
  };
}
