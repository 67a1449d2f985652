/**
 * Per-cluster counters the request path increments, named as Envoy's cluster statistics so the
 * admin `/stats` output reads like Envoy's (`cluster.<name>.upstream_rq_503`, …).
 */

/** Counters with a fixed name; response-code counters are `upstream_rq_<code>` / `upstream_rq_<n>xx`. */
export type ClusterCounterName =
  | 'upstream_cx_total'
  | 'upstream_cx_http1_total'
  | 'upstream_cx_http2_total'
  | 'upstream_cx_connect_fail'
  | 'upstream_cx_connect_timeout'
  | 'upstream_cx_destroy'
  | 'upstream_cx_destroy_local'
  | 'upstream_cx_destroy_remote'
  | 'upstream_cx_idle_timeout'
  | 'upstream_cx_max_requests'
  | 'upstream_cx_none_healthy'
  | 'upstream_cx_rx_bytes_total'
  | 'upstream_cx_tx_bytes_total'
  | 'upstream_rq_total'
  | 'upstream_rq_completed'
  | 'upstream_rq_cancelled'
  | 'upstream_rq_timeout'
  | 'upstream_rq_per_try_timeout'
  | 'upstream_rq_rx_reset'
  | 'upstream_rq_tx_reset'
  | 'upstream_rq_retry'
  | 'upstream_rq_retry_success'
  | 'upstream_rq_retry_limit_exceeded'
  | 'lb_healthy_panic'
  | 'ssl.handshake'
  | 'ssl.connection_error'
  | 'ssl.fail_verify_san'
  | 'ssl.fail_verify_error'
  | `upstream_rq_${number}`
  | `upstream_rq_${1 | 2 | 3 | 4 | 5}xx`;

export class ClusterCounters {
  private readonly values = new Map<string, number>();

  inc(name: ClusterCounterName, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  get(name: ClusterCounterName): number {
    return this.values.get(name) ?? 0;
  }

  /** Counts a completed upstream response under `upstream_rq_<code>` and `upstream_rq_<n>xx`. */
  recordResponseCode(status: number): void {
    const names = status >= 100 && status < 600 ? (CODE_NAMES[status] ??= codeNames(status)) : codeNames(status);
    const values = this.values;
    values.set(names[0], (values.get(names[0]) ?? 0) + 1);
    if (names.length > 1) values.set(names[1], (values.get(names[1]) ?? 0) + 1);
  }

  entries(): IterableIterator<[string, number]> {
    return this.values.entries();
  }
}

/** Counter names per status code, built once per code rather than once per response. */
const CODE_NAMES: (readonly ClusterCounterName[] | undefined)[] = [];

function codeNames(status: number): readonly ClusterCounterName[] {
  const klass = Math.floor(status / 100);
  const code: ClusterCounterName = `upstream_rq_${status}`;
  return klass >= 1 && klass <= 5 ? [code, `upstream_rq_${klass as 1 | 2 | 3 | 4 | 5}xx`] : [code];
}
