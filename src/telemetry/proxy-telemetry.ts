/**
 * A proxy's telemetry: plugged into `SkiffProxy` as its `telemetry` hooks, it exchanges peer
 * metadata and trace context on the way in and out, and turns every finished request or TCP
 * connection into Istio's standard metrics, an access log line and (when sampled) a span.
 */
import type { Writable } from 'node:stream';
import type { ResolvedSnapshot } from '../snapshot/index.js';
import type { ProxyTelemetryHooks, RequestRecord, RequestTelemetryState, TelemetryHeaders, TelemetryRequestHead } from './request-record.js';
import { formatJsonLine, formatTextLine } from './access-log/format.js';
import { compileJsonFormat, compileTextFormat } from './access-log/compile.js';
import type { CompiledFormat } from './access-log/compile.js';
import { LineWriter } from './access-log/writer.js';
import { DEFAULT_TELEMETRY, effectiveTelemetry } from './config.js';
import type { CustomAccessLogFormat, EffectiveTelemetry } from './config.js';
import { PEER_METADATA, PEER_METADATA_ID, PeerMetadataCache } from './identity.js';
import { renderHealth } from './metrics/health.js';
import { renderEnvoyStats } from './metrics/envoy-stats.js';
import type { ProxyHealthSource } from './metrics/health.js';
import { IstioMetrics, renderIstioMetrics } from './metrics/istio-metrics.js';
import type { MetricsDump } from './metrics/istio-metrics.js';
import { LabelParts } from './metrics/labels.js';
import { MetricsRecorder, TcpOpenState } from './metrics/recorder.js';
import { RequestState, headBytes } from './request-state.js';
import { SnapshotView } from './snapshot-view.js';
import { extractTrace, injectTrace } from './tracing/context.js';
import { HttpSpanExporter, SpanBatcher } from './tracing/exporter.js';
import type { ExportFormat, SpanBatcherOptions, SpanExporter } from './tracing/exporter.js';
import { newSpanId, newTraceId } from './tracing/ids.js';
import { buildSpan } from './tracing/span.js';

export interface ProxyTelemetryOptions {
  /** Settings the snapshot's `telemetry` section overrides field by field. Default: Istio's. */
  defaults?: EffectiveTelemetry;
  /** Where access log lines go. Default process.stdout. */
  accessLogStream?: Writable;
  /** Randomness of the sampling decision. */
  random?: () => number;
  spanBatcher?: SpanBatcherOptions;
  /** Builds the exporter for an endpoint. Default: HTTP POST of JSON. */
  exporterFor?: (format: ExportFormat, url: string) => SpanExporter;
  /** Most metric series kept. */
  maxSeries?: number;
  /** `tag` of `istio_build`. */
  buildTag?: string;
}

const ISTIO_BUILD_TAG = 'skiff';

/** Istio inserts a newline at the end of every text format that lacks one: one line per request. */
function withNewline(format: string): string {
  return format.endsWith('\n') ? format : `${format}\n`;
}

export class ProxyTelemetry implements ProxyTelemetryHooks {
  readonly metrics: IstioMetrics;
  readonly spans: SpanBatcher;
  private readonly parts = new LabelParts();
  private readonly recorder: MetricsRecorder;
  private readonly peers = new PeerMetadataCache();
  private readonly defaults: EffectiveTelemetry;
  private readonly random: () => number;
  private readonly exporterFor: (format: ExportFormat, url: string) => SpanExporter;
  private view: SnapshotView | null = null;
  private settings: EffectiveTelemetry;
  private accessLog: LineWriter | null = null;
  private formatLine: typeof formatTextLine = formatTextLine;
  /** The custom format in force, compiled once per snapshot that brings a new one; null: the default format. */
  private custom: CompiledFormat | null = null;
  private customSource: CustomAccessLogFormat = null;
  private exporterKey = '';
  snapshotsApplied = 0;

  constructor(private readonly opts: ProxyTelemetryOptions = {}) {
    this.defaults = opts.defaults ?? DEFAULT_TELEMETRY;
    this.settings = this.defaults;
    this.random = opts.random ?? Math.random;
    this.exporterFor = opts.exporterFor ?? ((format, url) => new HttpSpanExporter(format, url));
    this.metrics = new IstioMetrics(this.parts, opts.maxSeries);
    this.recorder = new MetricsRecorder(this.metrics, this.parts);
    this.spans = new SpanBatcher(opts.spanBatcher);
    this.configure(this.defaults);
  }

  /** The settings in force (defaults overlaid with the snapshot's section). */
  get effective(): EffectiveTelemetry {
    return this.settings;
  }

  /** Lines the access log dropped because its output could not keep up. */
  get accessLogDropped(): number {
    return this.accessLog?.dropped ?? 0;
  }

  private configure(s: EffectiveTelemetry): void {
    this.settings = s;
    if (s.accessLog.enabled && this.accessLog === null) this.accessLog = new LineWriter(this.opts.accessLogStream ?? process.stdout);
    this.formatLine = s.accessLog.format === 'json' ? formatJsonLine : formatTextLine;
    this.compileCustom(s.accessLog.custom);
    const t = s.tracing;
    const key = `${t.zipkinUrl ?? ''} ${t.otlpUrl ?? ''} ${t.collectorUrl ?? ''}`;
    if (key !== this.exporterKey) {
      this.exporterKey = key;
      const exporters: SpanExporter[] = [];
      if (t.zipkinUrl !== null) exporters.push(this.exporterFor('zipkin', t.zipkinUrl));
      if (t.otlpUrl !== null) exporters.push(this.exporterFor('otlp', t.otlpUrl));
      if (t.collectorUrl !== null && t.collectorUrl !== t.zipkinUrl) exporters.push(this.exporterFor('zipkin', t.collectorUrl));
      this.spans.setExporters(exporters);
    }
  }

  /**
   * Compiles the snapshot's custom format unless it is the one in force (snapshots share it by
   * reference when it did not change). The snapshot was validated, so compiling cannot fail; if it
   * did, the default format is better than no log.
   */
  private compileCustom(c: CustomAccessLogFormat): void {
    if (c === this.customSource) return;
    this.customSource = c;
    try {
      this.custom = c === null ? null : 'text' in c ? compileTextFormat(withNewline(c.text)) : compileJsonFormat(c.labels);
    } catch {
      this.custom = null;
    }
  }

  // === ProxyTelemetryHooks ===

  snapshotApplied(snapshot: ResolvedSnapshot): void {
    this.view = new SnapshotView(snapshot);
    this.snapshotsApplied++;
    this.configure(effectiveTelemetry(this.defaults, snapshot.telemetry));
  }

  requestStart(head: TelemetryRequestHead, direction: RequestRecord['direction']): RequestTelemetryState | null {
    const view = this.view;
    if (view === null) return null;
    try {
      const headers = head.headers;
      const st = new RequestState(view);
      st.startUs = Math.round((performance.timeOrigin + performance.now()) * 1000);
      st.scheme = head.scheme;
      // Wire size as received, before this proxy adds or removes anything.
      st.requestHeadBytes = headBytes(head.method.length + head.path.length + 10, headers.names, headers.values);
      const ct = headers.get('content-type');
      st.grpc = ct !== undefined && ct.startsWith('application/grpc');

      st.inbound = direction === 'inbound' && !view.gateway;
      if (st.inbound) {
        const md = headers.get(PEER_METADATA);
        if (md !== undefined) {
          st.peer = this.peers.get(md);
          headers.remove(PEER_METADATA);
        }
        headers.remove(PEER_METADATA_ID);
      } else if (view.localMetadata !== null) {
        headers.set(PEER_METADATA, view.localMetadata);
        headers.set(PEER_METADATA_ID, view.nodeId);
      }

      // The sampling decision is made once, by the first proxy: an incoming decision is kept;
      // `x-client-trace-id` forces one; otherwise the configured percentage decides.
      const incoming = extractTrace(headers);
      let sampled = incoming.sampled;
      if (sampled === undefined) {
        const pct = this.settings.tracing.sampling;
        sampled = headers.has('x-client-trace-id') || (pct > 0 && this.random() * 100 < pct);
      }
      st.span = { traceId: incoming.traceId ?? newTraceId(), spanId: newSpanId(), parentId: incoming.spanId ?? undefined, sampled, debug: incoming.debug };
      injectTrace(headers, st.span, incoming.b3Single);
      st.forwardedFor = headers.get('x-forwarded-for') ?? '';
      // Kept only for a format that prints request headers: the proxy's own list, read when the line is written.
      if (this.custom?.needs.requestHeaders === true) st.requestHeaders = headers;
      return st;
    } catch {
      return null;
    }
  }

  responseHeaders(state: RequestTelemetryState, status: number, headers: TelemetryHeaders): void {
    if (!(state instanceof RequestState)) return;
    const view = state.view;
    if (!state.inbound) {
      const md = headers.get(PEER_METADATA);
      if (md !== undefined) {
        state.peer = this.peers.get(md);
        headers.remove(PEER_METADATA);
      }
      headers.remove(PEER_METADATA_ID);
    } else if (view.localMetadata !== null) {
      headers.set(PEER_METADATA, view.localMetadata);
      headers.set(PEER_METADATA_ID, view.nodeId);
    }
    if (state.grpc) {
      const g = headers.get('grpc-status');
      if (g !== undefined) state.grpcStatus = g.trim();
    }
    state.responseHeadBytes = headBytes(12 + String(status).length, headers.names, headers.values);
    if (this.custom?.needs.responseHeaders === true) state.responseHeaders = headers;
  }

  responseTrailers(state: RequestTelemetryState, trailers: TelemetryHeaders): void {
    if (!(state instanceof RequestState)) return;
    if (this.custom?.needs.responseTrailers === true) state.responseTrailers = trailers;
    if (!state.grpc) return;
    const g = trailers.get('grpc-status');
    if (g !== undefined) state.grpcStatus = g.trim();
  }

  tcpOpened(record: RequestRecord): void {
    const view = this.view;
    if (view === null) return;
    record.telemetry = this.recorder.tcpOpened(view, record);
  }

  readonly requestDone = (rec: RequestRecord): void => {
    const view = this.view;
    if (view === null) return;
    if (rec.kind === 'tcp') {
      const open = rec.telemetry instanceof TcpOpenState ? rec.telemetry : null;
      this.recorder.tcpClosed(view, rec, open);
      if (this.settings.accessLog.enabled) {
        const custom = this.custom;
        this.accessLog?.write(custom === null ? this.formatLine(rec, { forwardedFor: '' }) : custom.line(rec, null));
      }
      return;
    }
    const st = rec.telemetry instanceof RequestState ? rec.telemetry : new RequestState(view);
    this.recorder.recordHttp(rec, st);
    if (this.settings.accessLog.enabled) {
      const custom = this.custom;
      this.accessLog?.write(custom === null ? this.formatLine(rec, st) : custom.line(rec, st));
    }
    if (st.span?.sampled === true && this.spans.active) {
      const span = buildSpan(rec, st, this.recorder.serviceOf(st.view, rec));
      if (span !== null) this.spans.add(span);
    }
  };

  // === Output ===

  /** The standard metrics as plain data (for merging several processes' figures). */
  dump(): MetricsDump {
    return this.metrics.dump();
  }

  /**
   * Prometheus text: `istio_*` families (this process's figures merged with `others`), then the
   * proxy's health figures and telemetry's own counters.
   */
  renderPrometheus(health: ProxyHealthSource | null, others: readonly MetricsDump[] = []): string {
    const out: string[] = [];
    out.push('# TYPE istio_build gauge', `istio_build{component="proxy",tag="${this.opts.buildTag ?? ISTIO_BUILD_TAG}"} 1`);
    if (health !== null) {
      renderHealth(out, health, this.snapshotsApplied);
      renderEnvoyStats(out, health);
    }
    out.push(
      '# TYPE skiff_proxy_spans_exported_total counter',
      `skiff_proxy_spans_exported_total ${this.spans.exported}`,
      '# TYPE skiff_proxy_spans_dropped_total counter',
      `skiff_proxy_spans_dropped_total ${this.spans.dropped}`,
      '# TYPE skiff_proxy_span_export_failures_total counter',
      `skiff_proxy_span_export_failures_total ${this.spans.failed}`,
      '# TYPE skiff_proxy_access_log_dropped_total counter',
      `skiff_proxy_access_log_dropped_total ${this.accessLogDropped}`,
      '# TYPE skiff_proxy_metric_series_dropped_total counter',
      `skiff_proxy_metric_series_dropped_total ${this.metrics.droppedSeries}`,
    );
    return `${out.join('\n')}\n${renderIstioMetrics([this.metrics.dump(), ...others])}`;
  }

  /** Exports queued spans and writes buffered log lines. */
  async flush(): Promise<void> {
    this.accessLog?.flush();
    await this.spans.flush();
  }

  /** Final flush at shutdown. */
  async close(): Promise<void> {
    await this.spans.close();
    this.accessLog?.close();
  }
}
