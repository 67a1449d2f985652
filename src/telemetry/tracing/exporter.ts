/**
 * Span export off the request path: finished spans go into a bounded queue (full = the span is
 * dropped and counted), and batches are POSTed to every configured endpoint (Zipkin v2 JSON or
 * OTLP/HTTP JSON) on an interval, when a batch fills, and at shutdown.
 */
import { otlpBody } from './otlp.js';
import type { FinishedSpan } from './span.js';
import { zipkinBody } from './zipkin.js';

export type ExportFormat = 'zipkin' | 'otlp';

export interface SpanExporter {
  readonly format: ExportFormat;
  readonly url: string;
  /** Sends one batch; rejects when the endpoint cannot be reached or answers non-2xx. */
  export(spans: readonly FinishedSpan[]): Promise<void>;
}

/** POSTs batches as JSON in the given format. */
export class HttpSpanExporter implements SpanExporter {
  constructor(
    readonly format: ExportFormat,
    readonly url: string,
    private readonly timeoutMs = 5000,
  ) {}

  async export(spans: readonly FinishedSpan[]): Promise<void> {
    const body = this.format === 'zipkin' ? zipkinBody(spans) : otlpBody(spans);
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    // Read the answer through so the connection goes back to the pool.
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${this.url} answered ${res.status}`);
  }
}

export interface SpanBatcherOptions {
  /** Spans waiting for export at most; more are dropped. Default 4096. */
  maxQueue?: number;
  /** Spans per POST at most. Default 512. */
  maxBatch?: number;
  /** Flush interval. Default 1000 ms. */
  flushIntervalMs?: number;
}

export class SpanBatcher {
  /** Spans accepted by an endpoint (counted once per endpoint). */
  exported = 0;
  /** Spans dropped because the queue was full. */
  dropped = 0;
  /** Spans whose export failed (counted once per endpoint). */
  failed = 0;
  private queue: FinishedSpan[] = [];
  private exporters: readonly SpanExporter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly intervalMs: number;

  constructor(opts: SpanBatcherOptions = {}) {
    this.maxQueue = opts.maxQueue ?? 4096;
    this.maxBatch = opts.maxBatch ?? 512;
    this.intervalMs = opts.flushIntervalMs ?? 1000;
  }

  /** True when some endpoint is configured (spans are worth building). */
  get active(): boolean {
    return this.exporters.length > 0;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Replaces the endpoints (a snapshot changed them); queued spans go to the new ones. */
  setExporters(exporters: readonly SpanExporter[]): void {
    this.exporters = exporters;
    if (exporters.length > 0 && this.timer === null) {
      this.timer = setInterval(() => void this.flush(), this.intervalMs);
      this.timer.unref();
    } else if (exporters.length === 0) {
      this.stopTimer();
      this.queue = [];
    }
  }

  add(span: FinishedSpan): void {
    if (this.exporters.length === 0) return;
    if (this.queue.length >= this.maxQueue) {
      this.dropped++;
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.maxBatch && this.flushing === null) void this.flush();
  }

  /** Exports everything queued now; resolves when done (failures are counted, never thrown). */
  flush(): Promise<void> {
    if (this.flushing !== null) return this.flushing.then(() => (this.queue.length > 0 ? this.flush() : undefined));
    if (this.queue.length === 0) return Promise.resolve();
    const run = this.drain().finally(() => {
      this.flushing = null;
    });
    this.flushing = run;
    return run;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const results = await Promise.allSettled(this.exporters.map((e) => e.export(batch)));
      for (const r of results) {
        if (r.status === 'fulfilled') this.exported += batch.length;
        else this.failed += batch.length;
      }
    }
  }

  private stopTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops the interval and exports what is left. */
  async close(): Promise<void> {
    this.stopTimer();
    await this.flush();
  }
}
