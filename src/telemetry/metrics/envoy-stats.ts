/**
 * The proxy's Envoy statistics in Prometheus form, under the names Envoy's `/stats/prometheus`
 * gives them and Istio's Grafana dashboards query: `envoy_` and the stat's name with dots as
 * underscores, the object it belongs to as a label (Envoy's tag extraction), e.g.
 *
 *   envoy_cluster_upstream_rq_retry{cluster_name="outbound|8000||httpbin.default.svc.cluster.local"}
 *   envoy_cluster_upstream_cx_active{cluster_name="..."}
 *   envoy_cluster_outlier_detection_ejections_active{cluster_name="..."}
 *   envoy_cluster_circuit_breakers_default_rq_open{cluster_name="..."}
 *   envoy_http_downstream_rq_total{http_conn_manager_prefix="<listener>"}
 *   envoy_listener_downstream_cx_active{listener_address="0.0.0.0_15006"}
 *   envoy_server_live, envoy_server_uptime
 *
 * Counters keep Envoy's names (no `_total` added: `upstream_rq_total` is Envoy's own name).
 * Read at scrape time from the clusters and listeners; nothing is recorded on the request path.
 * Under --concurrency they are the figures of the worker serving the metrics port.
 */
import { formatValue } from './histogram.js';
import { escapeLabelValue } from './labels.js';

/** What the statistics are read from; `SkiffProxy` has this shape. */
export interface EnvoyStatsSource {
  readonly startedAt: number;
  readonly ready: boolean;
  listenerList(): readonly {
    readonly name: string;
    readonly activeConnections: number;
    readonly config: { readonly http?: unknown; readonly tcp?: unknown };
    readonly httpStats: object;
    readonly tcpStats?: object;
    address?(): { address: string; port: number };
  }[];
  readonly clusterManager: { readonly clusters: ReadonlyMap<string, { stats(): Record<string, number> }> };
}

/** Envoy's gauges among the stats skiff keeps; every other stat is a counter. */
const GAUGES = new Set([
  'membership_total',
  'membership_healthy',
  'membership_degraded',
  'upstream_cx_active',
  'upstream_rq_active',
  'upstream_rq_pending_active',
  'outlier_detection.ejections_active',
  'downstream_cx_active',
  'downstream_rq_active',
  'total_listeners_active',
  'live',
  'uptime',
]);

/**
 * Cluster statistics every Envoy cluster reports, at 0 until they first count: a dashboard's
 * `rate(envoy_cluster_upstream_rq_retry[1m])` finds its series before the first retry.
 */
const CLUSTER_ZEROES: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(
    [
      'upstream_cx_total',
      'upstream_cx_connect_fail',
      'upstream_cx_connect_timeout',
      'upstream_cx_destroy',
      'upstream_rq_total',
      'upstream_rq_completed',
      'upstream_rq_cancelled',
      'upstream_rq_timeout',
      'upstream_rq_per_try_timeout',
      'upstream_rq_rx_reset',
      'upstream_rq_tx_reset',
      'upstream_rq_retry',
      'upstream_rq_retry_success',
      'upstream_rq_retry_limit_exceeded',
      'lb_healthy_panic',
      'outlier_detection.ejections_active',
      'outlier_detection.ejections_enforced_total',
    ].map((stat) => [stat, 0]),
  ),
);

const isGauge = (stat: string): boolean => GAUGES.has(stat) || stat.startsWith('circuit_breakers.');

/** Envoy's Prometheus name: `envoy_<scope>_<stat>` with every character outside [a-zA-Z0-9_] an underscore. */
const metricName = (scope: string, stat: string): string => `envoy_${scope}_${stat}`.replace(/[^a-zA-Z0-9_]/g, '_');

/** Samples by metric name, then written family by family in name order. */
class Families {
  private readonly byName = new Map<string, { type: 'counter' | 'gauge'; samples: string[] }>();

  add(scope: string, stat: string, label: string, value: number): void {
    const name = metricName(scope, stat);
    let f = this.byName.get(name);
    if (f === undefined) {
      f = { type: isGauge(stat) ? 'gauge' : 'counter', samples: [] };
      this.byName.set(name, f);
    }
    f.samples.push(`${name}${label === '' ? '' : `{${label}}`} ${formatValue(value)}`);
  }

  write(out: string[]): void {
    for (const name of [...this.byName.keys()].sort()) {
      const f = this.byName.get(name)!;
      out.push(`# TYPE ${name} ${f.type}`, ...f.samples);
    }
  }
}

function numbers(stats: object): [string, number][] {
  return Object.entries(stats).filter((e): e is [string, number] => typeof e[1] === 'number');
}

/** Appends the Envoy families to `out`. */
export function renderEnvoyStats(out: string[], p: EnvoyStatsSource): void {
  const f = new Families();
  for (const [name, cluster] of p.clusterManager.clusters) {
    const label = `cluster_name="${escapeLabelValue(name)}"`;
    for (const [stat, value] of Object.entries({ ...CLUSTER_ZEROES, ...cluster.stats() })) f.add('cluster', stat, label, value);
  }
  const listeners = p.listenerList();
  for (const l of listeners) {
    const at = l.address?.();
    f.add('listener', 'downstream_cx_active', `listener_address="${escapeLabelValue(at !== undefined ? `${at.address}_${at.port}` : l.name)}"`, l.activeConnections);
    if (l.config.http !== undefined) for (const [stat, value] of numbers(l.httpStats)) f.add('http', stat, `http_conn_manager_prefix="${escapeLabelValue(l.name)}"`, value);
    if (l.config.tcp !== undefined && l.tcpStats !== undefined) for (const [stat, value] of numbers(l.tcpStats)) f.add('tcp', stat, `tcp_prefix="${escapeLabelValue(l.name)}"`, value);
  }
  f.add('listener_manager', 'total_listeners_active', '', listeners.length);
  f.add('server', 'live', '', p.ready ? 1 : 0);
  f.add('server', 'uptime', '', Math.floor((Date.now() - p.startedAt) / 1000));
  f.write(out);
}
