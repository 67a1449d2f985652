/**
 * Fixed-bucket histograms in the shape Prometheus exposes them (cumulative `_bucket{le}`, `_sum`,
 * `_count`), with Istio's bucket boundaries. Observing is a short scan over a Float64Array.
 */

/** Istio's `istio_request_duration_milliseconds` buckets. */
export const DURATION_BUCKETS_MS: readonly number[] = Object.freeze([0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000]);

/** Istio's `istio_request_bytes` / `istio_response_bytes` buckets. */
export const BYTE_BUCKETS: readonly number[] = Object.freeze([1, 10, 100, 1000, 10000, 100000, 1000000, 10000000]);

export class Histogram {
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }

  /** Adds another histogram with the same bounds (merging figures from several processes). */
  merge(counts: ArrayLike<number>, sum: number, count: number): void {
    for (let i = 0; i < this.counts.length && i < counts.length; i++) this.counts[i] += counts[i];
    this.sum += sum;
    this.count += count;
  }
}

/** Formats a number the way Prometheus text exposition expects. */
export function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

/** Appends the `_bucket`, `_sum` and `_count` lines of one series to `out`. */
export function renderHistogram(out: string[], name: string, labels: string, h: Histogram): void {
  const sep = labels === '' ? '' : ',';
  let cumulative = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    cumulative += h.counts[i];
    out.push(`${name}_bucket{${labels}${sep}le="${formatValue(h.bounds[i])}"} ${cumulative}`);
  }
  cumulative += h.counts[h.bounds.length];
  out.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${cumulative}`);
  out.push(`${name}_sum{${labels}} ${formatValue(h.sum)}`);
  out.push(`${name}_count{${labels}} ${h.count}`);
}
