/**
 * `skiff proxy-config ratelimit`: the rate-limit filters a proxy runs, as the listing the dashboard
 * also shows (`controlplane/observe/ratelimit-listing.ts`), printed as istioctl prints tables.
 */
import { rateLimitListing } from '../controlplane/observe/ratelimit-listing.js';
import type { ProxySnapshot } from '../snapshot/index.js';
import { renderTable } from './proxy-tables.js';

/** Two tables: the listeners' filters, then the per-route and per-host settings; a line when there are none. */
export function rateLimitsTable(snap: ProxySnapshot): string {
  const { filters, routes } = rateLimitListing(snap);
  if (filters.length === 0 && routes.length === 0) return 'No rate-limit filters (no EnvoyFilter rate-limit patch applies to this proxy).\n';
  const out = [];
  if (filters.length > 0) {
    out.push(renderTable(['LISTENER', 'FILTER', 'STAT_PREFIX', 'SETTINGS'], filters.map((f) => ({ LISTENER: f.listener, FILTER: f.filter, STAT_PREFIX: f.statPrefix, SETTINGS: f.settings }))));
  }
  if (routes.length > 0) {
    out.push(
      renderTable(
        ['ROUTE_CONFIG', 'VHOST', 'ROUTE', 'LOCAL', 'DESCRIPTORS'],
        routes.map((r) => ({ ROUTE_CONFIG: r.routeConfig, VHOST: r.virtualHost, ROUTE: r.route, LOCAL: r.local, DESCRIPTORS: r.descriptors })),
      ),
    );
  }
  return out.join('\n');
}
