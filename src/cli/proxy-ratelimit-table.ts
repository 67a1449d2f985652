/**
 * `skiff proxy-config ratelimit`: the rate-limit filters a proxy runs, as its snapshot has them —
 * each listener's `local_ratelimit` and `ratelimit` filters in chain order, then every virtual
 * host and route carrying its own local limit (`typed_per_filter_config`) or `rate_limits`.
 */
import type { LocalRateLimit, ProxySnapshot, RateLimitAction, RouteRateLimits, TokenBucket } from '../snapshot/index.js';
import { renderTable } from './proxy-tables.js';

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

function routeText(r: RouteRateLimits): { local: string; descriptors: string } {
  return {
    local: r.local !== undefined ? localText(r.local) : '-',
    descriptors: r.policies !== undefined && r.policies.length > 0 ? r.policies.map((p) => `[${p.actions.map(actionText).join(', ')}]`).join(' ') : '-',
  };
}

/** Two tables: the listeners' filters, then the per-route and per-host settings; a line when there are none. */
export function rateLimitsTable(snap: ProxySnapshot): string {
  const filters = [];
  for (const l of snap.listeners) {
    for (const f of l.http?.rateLimits ?? []) {
      filters.push(
        f.type === 'local'
          ? { LISTENER: l.name, FILTER: 'envoy.filters.http.local_ratelimit', STAT_PREFIX: f.local.statPrefix, SETTINGS: localText(f.local) }
          : {
              LISTENER: l.name,
              FILTER: 'envoy.filters.http.ratelimit',
              STAT_PREFIX: f.global.statPrefix ?? 'ratelimit',
              SETTINGS: `domain ${f.global.domain} at ${f.global.cluster}; timeout ${f.global.timeoutMs}ms; ${f.global.failureModeDeny ? 'fail closed' : 'fail open'}${f.global.xRateLimitHeaders ? '; x-ratelimit headers' : ''}`,
            },
      );
    }
  }
  const routes = [];
  for (const rc of snap.routes) {
    for (const vh of rc.virtualHosts) {
      if (vh.rateLimits !== undefined) routes.push({ ROUTE_CONFIG: rc.name, VHOST: vh.name, ROUTE: '*', ...upper(routeText(vh.rateLimits)) });
      for (const r of vh.routes) if (r.rateLimits !== undefined) routes.push({ ROUTE_CONFIG: rc.name, VHOST: vh.name, ROUTE: r.name ?? '-', ...upper(routeText(r.rateLimits)) });
    }
  }
  if (filters.length === 0 && routes.length === 0) return 'No rate-limit filters (no EnvoyFilter rate-limit patch applies to this proxy).\n';
  const out = [];
  if (filters.length > 0) out.push(renderTable(['LISTENER', 'FILTER', 'STAT_PREFIX', 'SETTINGS'], filters));
  if (routes.length > 0) out.push(renderTable(['ROUTE_CONFIG', 'VHOST', 'ROUTE', 'LOCAL', 'DESCRIPTORS'], routes));
  return out.join('\n');
}

function upper(t: { local: string; descriptors: string }): { LOCAL: string; DESCRIPTORS: string } {
  return { LOCAL: t.local, DESCRIPTORS: t.descriptors };
}
