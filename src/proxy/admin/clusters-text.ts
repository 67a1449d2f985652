/**
 * Envoy's `/clusters` text: per cluster its circuit-breaker thresholds, then one line per host
 * and statistic (`outbound|8000||httpbin.default.svc.cluster.local::127.0.0.1:8080::cx_active::0`).
 */
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { Endpoint } from '../upstream/types.js';

/** Envoy's high-priority thresholds, which Istio leaves at their defaults. */
const HIGH_PRIORITY: readonly [string, number][] = [
  ['max_connections', 1024],
  ['max_pending_requests', 1024],
  ['max_requests', 1024],
  ['max_retries', 3],
];

function healthFlags(h: Endpoint): string {
  let flags = '';
  if (!h.healthy) flags += '/failed_eds_health';
  if (h.ejected) flags += '/failed_outlier_check';
  if (h.draining) flags += '/pending_dynamic_removal';
  return flags === '' ? 'healthy' : flags;
}

export function renderClusters(clusterManager: ClusterManager): string {
  const out: string[] = [];
  for (const [name, cluster] of clusterManager.clusters) {
    const pool = cluster.config.connectionPool;
    out.push(`${name}::observability_name::${name}`);
    out.push(`${name}::default_priority::max_connections::${pool.maxConnections}`);
    out.push(`${name}::default_priority::max_pending_requests::${pool.http1MaxPendingRequests}`);
    out.push(`${name}::default_priority::max_requests::${pool.http2MaxRequests}`);
    out.push(`${name}::default_priority::max_retries::${pool.maxRetries}`);
    for (const [k, v] of HIGH_PRIORITY) out.push(`${name}::high_priority::${k}::${v}`);
    out.push(`${name}::added_via_api::true`);
    for (const h of [...cluster.endpoints, ...cluster.draining]) {
      const p = `${name}::${h.key}`;
      const s = h.stats;
      out.push(`${p}::cx_active::${s.cx_active}`);
      out.push(`${p}::cx_connect_fail::${s.cx_connect_fail}`);
      out.push(`${p}::cx_total::${s.cx_total}`);
      out.push(`${p}::rq_active::${s.rq_active}`);
      out.push(`${p}::rq_error::${s.rq_error}`);
      out.push(`${p}::rq_success::${s.rq_success}`);
      out.push(`${p}::rq_timeout::${s.rq_timeout}`);
      out.push(`${p}::rq_total::${s.rq_total}`);
      out.push(`${p}::hostname::`);
      out.push(`${p}::health_flags::${healthFlags(h)}`);
      out.push(`${p}::weight::${h.weight}`);
      const [region = '', zone = '', subzone = ''] = (h.config.locality ?? '').split('/');
      out.push(`${p}::region::${region}`);
      out.push(`${p}::zone::${zone}`);
      out.push(`${p}::sub_zone::${subzone}`);
      out.push(`${p}::canary::false`);
      out.push(`${p}::priority::0`);
      out.push(`${p}::success_rate::-1`);
      out.push(`${p}::local_origin_success_rate::-1`);
    }
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
