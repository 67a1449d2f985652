/**
 * Istio's standard metrics, aggregated in memory: one series per distinct label set, holding the
 * request counter and the three histograms (HTTP) or the four TCP counters. Recording looks the
 * series up by pre-interned label parts (small integers); label text is built once per series.
 */
import { formatResponseFlags } from '../response-flags.js';
import { BYTE_BUCKETS, DURATION_BUCKETS_MS, Histogram, formatValue, renderHistogram } from './histogram.js';
import type { LabelParts } from './labels.js';

/** The label values a request or connection is counted under, as interned parts. */
export interface SeriesLabels {
  reporter: 'source' | 'destination';
  /** `LabelParts` ids. */
  source: number;
  destination: number;
  service: number;
  protocol: 'http' | 'grpc' | 'tcp';
  /** HTTP status, 0 when none was sent. */
  responseCode: number;
  /** gRPC status, '' for non-gRPC. */
  grpcStatus: string;
  flags: number;
  security: 'unknown' | 'none' | 'mutual_tls';
  /**
   * What dry-run authorization policies would have done (Istio's `authz_dry_run_action` and
   * `authz_dry_run_result` labels, present only when such a policy applies): 0 none, then
   * `DRY_RUN_LABELS`' index + 1.
   */
  dryRun?: number;
}

/** The dry-run label pairs, in the order `SeriesLabels.dryRun` numbers them from 1. */
export const DRY_RUN_LABELS = [
  ',authz_dry_run_action="allow",authz_dry_run_result="allowed"',
  ',authz_dry_run_action="allow",authz_dry_run_result="denied"',
  ',authz_dry_run_action="deny",authz_dry_run_result="allowed"',
  ',authz_dry_run_action="deny",authz_dry_run_result="denied"',
] as const;

/** `SeriesLabels.dryRun` of a record's dry-run mark. */
export function dryRunLabel(mark: { action: 'ALLOW' | 'DENY'; result: 'allowed' | 'denied' } | undefined): number {
  if (mark === undefined) return 0;
  return (mark.action === 'ALLOW' ? 1 : 3) + (mark.result === 'denied' ? 1 : 0);
}

export class HttpSeries {
  requests = 0;
  readonly duration = new Histogram(DURATION_BUCKETS_MS);
  readonly requestBytes = new Histogram(BYTE_BUCKETS);
  readonly responseBytes = new Histogram(BYTE_BUCKETS);
  constructor(readonly labels: string) {}
}

export class TcpSeries {
  opened = 0;
  closed = 0;
  sent = 0;
  received = 0;
  constructor(readonly labels: string) {}
}

/** Plain-data form of the series, for moving figures between processes and merging them. */
export interface MetricsDump {
  http: { labels: string; requests: number; h: [number[], number, number][] }[];
  tcp: { labels: string; opened: number; closed: number; sent: number; received: number }[];
}

/**
 * Series by label set without building string keys on the request path: four levels of maps on
 * small integers (variant, source, destination, service), then response code and flags as one number.
 */
class SeriesIndex<T> {
  private readonly root = new Map<number, Map<number, Map<number, Map<number, Map<number, T>>>>>();

  /** The leaf map for a label prefix, created on demand. */
  leaf(variant: number, source: number, destination: number, service: number): Map<number, T> {
    let a = this.root.get(variant);
    if (a === undefined) this.root.set(variant, (a = new Map<number, Map<number, Map<number, Map<number, T>>>>()));
    let b = a.get(source);
    if (b === undefined) a.set(source, (b = new Map<number, Map<number, Map<number, T>>>()));
    let c = b.get(destination);
    if (c === undefined) b.set(destination, (c = new Map<number, Map<number, T>>()));
    let d = c.get(service);
    if (d === undefined) c.set(service, (d = new Map<number, T>()));
    return d;
  }
}

/** Reporter, protocol and security policy as one small number. */
function variantOf(l: SeriesLabels): number {
  const protocol = l.protocol === 'http' ? 0 : l.protocol === 'grpc' ? 1 : 2;
  const security = l.security === 'unknown' ? 0 : l.security === 'none' ? 1 : 2;
  return (l.reporter === 'source' ? 0 : 1) | (protocol << 1) | (security << 3) | ((l.dryRun ?? 0) << 5);
}

/** Response code, gRPC status and flags as one number (flags have 19 bits, codes fit in 10). */
function outcomeOf(l: SeriesLabels): number {
  const grpc = l.grpcStatus === '' ? 0 : Number(l.grpcStatus) + 1;
  return ((Number.isInteger(grpc) && grpc >= 0 && grpc < 64 ? grpc : 63) * 1024 + (l.responseCode & 1023)) * 0x80000 + (l.flags & 0x7ffff);
}

/** Most series kept; beyond it new label sets are dropped and counted (a cardinality guard). */
export const DEFAULT_MAX_SERIES = 20_000;

export class IstioMetrics {
  private readonly http: HttpSeries[] = [];
  private readonly tcp: TcpSeries[] = [];
  private readonly httpIndex = new SeriesIndex<HttpSeries>();
  private readonly tcpIndex = new SeriesIndex<TcpSeries>();
  /** Requests or connections not counted because the series limit was reached. */
  droppedSeries = 0;

  constructor(
    private readonly parts: LabelParts,
    private readonly maxSeries = DEFAULT_MAX_SERIES,
  ) {}

  private fullLabels(l: SeriesLabels, withResponse: boolean): string {
    const p = this.parts;
    const head = `reporter="${l.reporter}",${p.text(l.source)},${p.text(l.destination)},${p.text(l.service)},request_protocol="${l.protocol}"`;
    const response = withResponse ? `,response_code="${l.responseCode}",grpc_response_status="${l.grpcStatus}"` : '';
    const dryRun = l.dryRun === undefined || l.dryRun === 0 ? '' : DRY_RUN_LABELS[l.dryRun - 1];
    return `${head}${response},response_flags="${formatResponseFlags(l.flags)}",connection_security_policy="${l.security}"${dryRun}`;
  }

  /** The HTTP series for a label set (created on first use), or null past the series limit. */
  httpSeries(l: SeriesLabels): HttpSeries | null {
    const leaf = this.httpIndex.leaf(variantOf(l), l.source, l.destination, l.service);
    const key = outcomeOf(l);
    let s = leaf.get(key);
    if (s === undefined) {
      if (this.seriesCount >= this.maxSeries) {
        this.droppedSeries++;
        return null;
      }
      s = new HttpSeries(this.fullLabels(l, true));
      leaf.set(key, s);
      this.http.push(s);
    }
    return s;
  }

  recordRequest(l: SeriesLabels, durationMs: number, requestBytes: number, responseBytes: number): void {
    const s = this.httpSeries(l);
    if (s === null) return;
    s.requests++;
    s.duration.observe(durationMs);
    s.requestBytes.observe(requestBytes);
    s.responseBytes.observe(responseBytes);
  }

  /** The TCP series for a label set (no response code or gRPC status), or null past the limit. */
  tcpSeries(l: SeriesLabels): TcpSeries | null {
    const leaf = this.tcpIndex.leaf(variantOf(l), l.source, l.destination, l.service);
    const key = l.flags & 0x7ffff;
    let s = leaf.get(key);
    if (s === undefined) {
      if (this.seriesCount >= this.maxSeries) {
        this.droppedSeries++;
        return null;
      }
      s = new TcpSeries(this.fullLabels(l, false));
      leaf.set(key, s);
      this.tcp.push(s);
    }
    return s;
  }

  get seriesCount(): number {
    return this.http.length + this.tcp.length;
  }

  /** Every series as plain data. */
  dump(): MetricsDump {
    const hist = (h: Histogram): [number[], number, number] => [Array.from(h.counts), h.sum, h.count];
    return {
      http: this.http.map((s) => ({ labels: s.labels, requests: s.requests, h: [hist(s.duration), hist(s.requestBytes), hist(s.responseBytes)] })),
      tcp: this.tcp.map((s) => ({ labels: s.labels, opened: s.opened, closed: s.closed, sent: s.sent, received: s.received })),
    };
  }
}

/** Renders one or more dumps (merged by label set) as Prometheus text, one family after another. */
export function renderIstioMetrics(dumps: readonly MetricsDump[]): string {
  const http = new Map<string, HttpSeries>();
  const tcp = new Map<string, TcpSeries>();
  for (const d of dumps) {
    for (const s of d.http) {
      let t = http.get(s.labels);
      if (t === undefined) http.set(s.labels, (t = new HttpSeries(s.labels)));
      t.requests += s.requests;
      t.duration.merge(...s.h[0]);
      t.requestBytes.merge(...s.h[1]);
      t.responseBytes.merge(...s.h[2]);
    }
    for (const s of d.tcp) {
      let t = tcp.get(s.labels);
      if (t === undefined) tcp.set(s.labels, (t = new TcpSeries(s.labels)));
      t.opened += s.opened;
      t.closed += s.closed;
      t.sent += s.sent;
      t.received += s.received;
    }
  }
  const out: string[] = [];
  const httpList = [...http.values()];
  const tcpList = [...tcp.values()];
  if (httpList.length > 0) {
    out.push('# TYPE istio_requests_total counter');
    for (const s of httpList) out.push(`istio_requests_total{${s.labels}} ${s.requests}`);
    const families: [string, (s: HttpSeries) => Histogram][] = [
      ['istio_request_duration_milliseconds', (s) => s.duration],
      ['istio_request_bytes', (s) => s.requestBytes],
      ['istio_response_bytes', (s) => s.responseBytes],
    ];
    for (const [name, pick] of families) {
      out.push(`# TYPE ${name} histogram`);
      for (const s of httpList) renderHistogram(out, name, s.labels, pick(s));
    }
  }
  if (tcpList.length > 0) {
    const counters: [string, (s: TcpSeries) => number][] = [
      ['istio_tcp_connections_opened_total', (s) => s.opened],
      ['istio_tcp_connections_closed_total', (s) => s.closed],
      ['istio_tcp_sent_bytes_total', (s) => s.sent],
      ['istio_tcp_received_bytes_total', (s) => s.received],
    ];
    for (const [name, pick] of counters) {
      out.push(`# TYPE ${name} counter`);
      for (const s of tcpList) out.push(`${name}{${s.labels}} ${formatValue(pick(s))}`);
    }
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** Sums dumps by label set: counters add up, histogram buckets add up bucket by bucket. */
export function mergeMetricsDumps(dumps: readonly MetricsDump[]): MetricsDump {
  const http = new Map<string, MetricsDump['http'][number]>();
  const tcp = new Map<string, MetricsDump['tcp'][number]>();
  for (const d of dumps) {
    for (const s of d.http) {
      const t = http.get(s.labels);
      if (t === undefined) {
        http.set(s.labels, { labels: s.labels, requests: s.requests, h: s.h.map(([counts, sum, count]) => [[...counts], sum, count]) });
        continue;
      }
      t.requests += s.requests;
      s.h.forEach(([counts, sum, count], i) => {
        const into = t.h[i];
        if (into === undefined) return;
        counts.forEach((c, k) => (into[0][k] = (into[0][k] ?? 0) + c));
        into[1] += sum;
        into[2] += count;
      });
    }
    for (const s of d.tcp) {
      const t = tcp.get(s.labels);
      if (t === undefined) {
        tcp.set(s.labels, { ...s });
        continue;
      }
      t.opened += s.opened;
      t.closed += s.closed;
      t.sent += s.sent;
      t.received += s.received;
    }
  }
  return { http: [...http.values()], tcp: [...tcp.values()] };
}
