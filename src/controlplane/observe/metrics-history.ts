/**
 * What skiffd keeps of the proxies' standard metrics: per proxy process, the counters as read at
 * each scrape (from `MetricsDump`), as far back as the longest window asked for. Figures over a
 * window are differences between the newest reading and the newest one from before the window
 * began (or zero, when the proxy started within the window); a counter that went down means the
 * proxy restarted, and its newest value is the whole difference.
 */
import type { MetricsDump } from '../../telemetry/metrics/istio-metrics.js';

/** One HTTP series' counters: requests and the duration histogram's bucket counts (non-cumulative, +Inf last). */
export interface HttpCounters {
  requests: number;
  durationBuckets: number[];
}

export interface TcpCounters {
  opened: number;
  bytes: number;
}

/** One scrape of one proxy: counters by label text (as the proxy renders it). */
export interface Reading {
  at: number;
  http: Map<string, HttpCounters>;
  tcp: Map<string, TcpCounters>;
}

/** Counter differences over a window, merged across proxies by label text. */
export interface WindowTotals {
  http: Map<string, HttpCounters>;
  tcp: Map<string, TcpCounters>;
  /** Time of the newest reading used; 0 without any. */
  newest: number;
}

/** A dump as a reading; malformed entries are skipped (a proxy's answer is not trusted blindly). */
export function readingOf(dump: unknown, at: number): Reading {
  const http = new Map<string, HttpCounters>();
  const tcp = new Map<string, TcpCounters>();
  const d = (typeof dump === 'object' && dump !== null ? dump : {}) as Partial<MetricsDump>;
  if (Array.isArray(d.http)) {
    for (const s of d.http) {
      if (typeof s?.labels !== 'string' || typeof s.requests !== 'number' || !Array.isArray(s.h) || !Array.isArray(s.h[0]) || !Array.isArray(s.h[0][0])) continue;
      http.set(s.labels, { requests: s.requests, durationBuckets: s.h[0][0].map((n) => (typeof n === 'number' ? n : 0)) });
    }
  }
  if (Array.isArray(d.tcp)) {
    for (const s of d.tcp) {
      if (typeof s?.labels !== 'string' || typeof s.opened !== 'number') continue;
      tcp.set(s.labels, { opened: s.opened, bytes: (Number(s.sent) || 0) + (Number(s.received) || 0) });
    }
  }
  return { at, http, tcp };
}

function diff(newer: number, older: number): number {
  return newer >= older ? newer - older : newer;
}

export class ProxyHistory {
  private readonly readings: Reading[] = [];

  constructor(
    /** When the proxy process started counting (its connection), for a zero baseline. */
    readonly since: number,
  ) {}

  get newest(): Reading | undefined {
    return this.readings[this.readings.length - 1];
  }

  /** Adds a reading and forgets those no window up to `keepMs` needs. */
  add(r: Reading, keepMs: number): void {
    this.readings.push(r);
    const limit = r.at - keepMs;
    // Keep the newest reading at or before the limit: it is the baseline of the longest window.
    let drop = 0;
    while (drop + 1 < this.readings.length && this.readings[drop + 1].at <= limit) drop++;
    if (drop > 0) this.readings.splice(0, drop);
  }

  /** Adds this proxy's differences over the `windowMs` before `now` into `into`. */
  addWindow(windowMs: number, now: number, into: WindowTotals): void {
    const newest = this.newest;
    const from = now - windowMs;
    if (newest === undefined || newest.at <= from) return;
    // The newest reading a window old; none: the proxy began counting within the window, from zero.
    let base: Reading | undefined;
    for (const r of this.readings) {
      if (r.at > from) break;
      base = r;
    }
    into.newest = Math.max(into.newest, newest.at);
    for (const [labels, c] of newest.http) {
      const b = base?.http.get(labels);
      const requests = b === undefined ? c.requests : diff(c.requests, b.requests);
      if (requests === 0) continue;
      const reset = b !== undefined && c.requests < b.requests;
      const buckets = c.durationBuckets.map((n, i) => (b === undefined || reset ? n : Math.max(0, n - (b.durationBuckets[i] ?? 0))));
      const t = into.http.get(labels);
      if (t === undefined) into.http.set(labels, { requests, durationBuckets: buckets });
      else {
        t.requests += requests;
        buckets.forEach((n, i) => (t.durationBuckets[i] = (t.durationBuckets[i] ?? 0) + n));
      }
    }
    for (const [labels, c] of newest.tcp) {
      const b = base?.tcp.get(labels);
      const opened = b === undefined ? c.opened : diff(c.opened, b.opened);
      const bytes = b === undefined ? c.bytes : diff(c.bytes, b.bytes);
      if (opened === 0 && bytes === 0) continue;
      const t = into.tcp.get(labels);
      if (t === undefined) into.tcp.set(labels, { opened, bytes });
      else {
        t.opened += opened;
        t.bytes += bytes;
      }
    }
  }
}

/** `a="x",b="y\"z"` → { a: 'x', b: 'y"z' }. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return out;
}

/**
 * A quantile from non-cumulative bucket counts (+Inf last) with the given upper bounds, by linear
 * interpolation inside the bucket as Prometheus' histogram_quantile does; null without counts.
 */
export function quantile(q: number, bounds: readonly number[], counts: readonly number[]): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const before = cumulative;
    cumulative += counts[i];
    if (cumulative >= rank && counts[i] > 0) {
      // The +Inf bucket has no upper bound: answer the highest finite one, as Prometheus does.
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? null;
      const lower = i === 0 ? 0 : bounds[i - 1];
      const upper = bounds[i];
      return lower + ((upper - lower) * (rank - before)) / counts[i];
    }
  }
  return bounds[bounds.length - 1] ?? null;
}
