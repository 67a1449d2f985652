/**
 * The proxy's own health figures in Prometheus form, read at scrape time from the proxy's
 * listeners and clusters (nothing is recorded on the request path for them):
 *
 *   skiff_proxy_ready                                      1 once a snapshot is in force
 *   skiff_proxy_uptime_seconds
 *   skiff_proxy_snapshot_info{version}                     1, labelled with the snapshot version
 *   skiff_proxy_snapshots_applied_total
 *   skiff_proxy_downstream_connections_active{listener}
 *   skiff_proxy_downstream_requests_active{listener}       HTTP requests in progress
 *   skiff_proxy_upstream_connections_active{cluster_name}
 *   skiff_proxy_upstream_requests_active{cluster_name}
 *   skiff_proxy_upstream_requests_pending{cluster_name}    waiting for a connection
 *   skiff_proxy_upstream_requests_overflow_total{cluster_name}  requests failed by the circuit breaker (UO)
 *   skiff_proxy_upstream_hosts{cluster_name}               endpoints known
 *   skiff_proxy_upstream_hosts_healthy{cluster_name}       endpoints healthy and not ejected
 *   skiff_proxy_outlier_ejections_active{cluster_name}
 *   skiff_proxy_outlier_ejections_total{cluster_name}
 */
import { formatValue } from './histogram.js';
import type { EnvoyStatsSource } from './envoy-stats.js';
import { escapeLabelValue } from './labels.js';

type EnvoyListener = ReturnType<EnvoyStatsSource['listenerList']>[number];

/** What the figures (and the Envoy statistics beside them) are read from; `SkiffProxy` has this shape. */
export interface ProxyHealthSource extends EnvoyStatsSource {
  readonly snapshot: { readonly version: string } | null;
  listenerList(): readonly (EnvoyListener & { readonly httpStats: { readonly downstream_rq_active: number } })[];
}

type Sample = [labels: string, value: number];

function family(out: string[], name: string, type: 'gauge' | 'counter', samples: readonly Sample[]): void {
  if (samples.length === 0) return;
  out.push(`# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) out.push(labels === '' ? `${name} ${formatValue(value)}` : `${name}{${labels}} ${formatValue(value)}`);
}

/** Appends the health families to `out`. */
export function renderHealth(out: string[], p: ProxyHealthSource, snapshotsApplied: number): void {
  family(out, 'skiff_proxy_ready', 'gauge', [['', p.ready ? 1 : 0]]);
  family(out, 'skiff_proxy_uptime_seconds', 'gauge', [['', Math.floor((Date.now() - p.startedAt) / 1000)]]);
  const version = p.snapshot?.version;
  if (version !== undefined) family(out, 'skiff_proxy_snapshot_info', 'gauge', [[`version="${escapeLabelValue(version)}"`, 1]]);
  family(out, 'skiff_proxy_snapshots_applied_total', 'counter', [['', snapshotsApplied]]);

  const listeners = p.listenerList();
  const l = (name: string): string => `listener="${escapeLabelValue(name)}"`;
  family(out, 'skiff_proxy_downstream_connections_active', 'gauge', listeners.map((x) => [l(x.name), x.activeConnections]));
  family(
    out,
    'skiff_proxy_downstream_requests_active',
    'gauge',
    listeners.filter((x) => x.config.http !== undefined).map((x) => [l(x.name), x.httpStats.downstream_rq_active]),
  );

  const clusters = [...p.clusterManager.clusters].map(([name, c]) => [`cluster_name="${escapeLabelValue(name)}"`, c.stats()] as const);
  const per = (name: string, type: 'gauge' | 'counter', pick: (s: Record<string, number>) => number | undefined): void => {
    const samples: Sample[] = [];
    for (const [labels, s] of clusters) {
      const v = pick(s);
      if (v !== undefined) samples.push([labels, v]);
    }
    family(out, name, type, samples);
  };
  per('skiff_proxy_upstream_connections_active', 'gauge', (s) => s.upstream_cx_active);
  per('skiff_proxy_upstream_requests_active', 'gauge', (s) => s.upstream_rq_active);
  per('skiff_proxy_upstream_requests_pending', 'gauge', (s) => s.upstream_rq_pending_active);
  per('skiff_proxy_upstream_requests_overflow_total', 'counter', (s) => s.upstream_rq_pending_overflow);
  per('skiff_proxy_upstream_hosts', 'gauge', (s) => s.membership_total);
  per('skiff_proxy_upstream_hosts_healthy', 'gauge', (s) => s.membership_healthy);
  per('skiff_proxy_outlier_ejections_active', 'gauge', (s) => s['outlier_detection.ejections_active'] ?? 0);
  per('skiff_proxy_outlier_ejections_total', 'counter', (s) => s['outlier_detection.ejections_total'] ?? 0);
}
