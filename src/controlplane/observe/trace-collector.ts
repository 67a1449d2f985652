/**
 * skiffd's embedded trace collector: proxies POST Zipkin v2 JSON (`/api/v2/spans`) and the
 * newest traces are kept in memory within fixed bounds — at most `maxTraces` traces and
 * `maxSpans` spans in all; past either bound the oldest traces go first. A trace that keeps
 * receiving spans stays as old as its first span, so a busy trace cannot pin memory forever.
 */
import type { TraceSpan, TraceSummary } from '../../dashboard/sources.js';

export interface TraceCollectorOptions {
  /** Traces kept at most. Default 2000. */
  maxTraces?: number;
  /** Spans kept at most, over all traces. Default 20000. */
  maxSpans?: number;
  /** Spans kept per trace at most; more are dropped. Default 1000. */
  maxSpansPerTrace?: number;
}

/** What one POST did: spans kept, and spans refused with the first reason. */
export interface IngestResult {
  accepted: number;
  rejected: number;
  firstError?: string;
}

/** A body that is not a list of spans at all. */
export class SpanBatchError extends Error {}

interface StoredTrace {
  spans: TraceSpan[];
}

const HEX_ID = /^[0-9a-f]{16}$|^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

function str(o: Record<string, unknown>, key: string, at: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new Error(`${at}.${key}: must be a non-empty string`);
  return v;
}

function num(o: Record<string, unknown>, key: string, at: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${at}.${key}: must be a non-negative number`);
  return v;
}

/** One Zipkin v2 span as the collector keeps it; throws naming the field that is wrong. */
export function spanFromZipkin(v: unknown, at: string): TraceSpan {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${at}: must be an object`);
  const o = v as Record<string, unknown>;
  const traceId = str(o, 'traceId', at).toLowerCase();
  if (!HEX_ID.test(traceId)) throw new Error(`${at}.traceId: must be 16 or 32 hex digits`);
  const id = str(o, 'id', at).toLowerCase();
  if (!SPAN_ID.test(id)) throw new Error(`${at}.id: must be 16 hex digits`);
  let parentId: string | undefined;
  if (o.parentId !== undefined) {
    parentId = str(o, 'parentId', at).toLowerCase();
    if (!SPAN_ID.test(parentId)) throw new Error(`${at}.parentId: must be 16 hex digits`);
  }
  const kind = o.kind === 'SERVER' ? 'SERVER' : 'CLIENT';
  const local = o.localEndpoint;
  const serviceName = typeof local === 'object' && local !== null && typeof (local as Record<string, unknown>).serviceName === 'string' ? ((local as Record<string, unknown>).serviceName as string) : 'unknown';
  const tags: Record<string, string> = {};
  if (o.tags !== undefined) {
    if (typeof o.tags !== 'object' || o.tags === null || Array.isArray(o.tags)) throw new Error(`${at}.tags: must be an object of strings`);
    for (const [k, t] of Object.entries(o.tags as Record<string, unknown>)) if (typeof t === 'string') tags[k] = t;
  }
  return {
    traceId,
    id,
    ...(parentId !== undefined ? { parentId } : {}),
    name: typeof o.name === 'string' ? o.name : '',
    kind,
    serviceName,
    timestampUs: num(o, 'timestamp', at),
    durationUs: o.duration === undefined ? 0 : num(o, 'duration', at),
    error: tags.error !== undefined,
    tags,
  };
}

export class TraceCollector {
  private readonly traces = new Map<string, StoredTrace>();
  private spanCount = 0;
  private readonly maxTraces: number;
  private readonly maxSpans: number;
  private readonly maxPerTrace: number;
  /** Spans received and kept, refused as malformed, and dropped (trace full or evicted later). */
  received = 0;
  rejected = 0;
  evictedTraces = 0;

  constructor(opts: TraceCollectorOptions = {}) {
    this.maxTraces = opts.maxTraces ?? 2000;
    this.maxSpans = opts.maxSpans ?? 20_000;
    this.maxPerTrace = opts.maxSpansPerTrace ?? 1000;
  }

  get size(): { traces: number; spans: number } {
    return { traces: this.traces.size, spans: this.spanCount };
  }

  /** Takes a parsed Zipkin v2 body (a JSON array); malformed spans are skipped and counted. */
  ingest(body: unknown): IngestResult {
    if (!Array.isArray(body)) throw new SpanBatchError('the body must be a JSON array of Zipkin v2 spans');
    const out: IngestResult = { accepted: 0, rejected: 0 };
    body.forEach((v, i) => {
      let span: TraceSpan;
      try {
        span = spanFromZipkin(v, `[${i}]`);
      } catch (err) {
        out.rejected++;
        out.firstError ??= err instanceof Error ? err.message : String(err);
        return;
      }
      if (this.add(span)) out.accepted++;
    });
    this.rejected += out.rejected;
    return out;
  }

  /** Keeps one span; false when its trace is full. */
  add(span: TraceSpan): boolean {
    let t = this.traces.get(span.traceId);
    if (t === undefined) {
      t = { spans: [] };
      this.traces.set(span.traceId, t);
    }
    if (t.spans.length >= this.maxPerTrace) return false;
    t.spans.push(span);
    this.spanCount++;
    this.received++;
    this.evict(span.traceId);
    return true;
  }

  /** Drops the oldest traces (never `keep`, the one just added to) until within bounds. */
  private evict(keep: string): void {
    while (this.traces.size > this.maxTraces || this.spanCount > this.maxSpans) {
      const oldest = this.traces.keys().next();
      if (oldest.done === true) return;
      if (oldest.value === keep && this.traces.size === 1) return;
      const id = oldest.value === keep ? [...this.traces.keys()][1] : oldest.value;
      const t = this.traces.get(id);
      if (t === undefined) return;
      this.traces.delete(id);
      this.spanCount -= t.spans.length;
      this.evictedTraces++;
    }
  }

  /** The spans of one trace, earliest first; undefined when not kept. */
  trace(traceId: string): TraceSpan[] | undefined {
    const t = this.traces.get(traceId.toLowerCase());
    if (t === undefined) return undefined;
    return [...t.spans].sort((a, b) => a.timestampUs - b.timestampUs || (a.parentId === undefined ? -1 : 0));
  }

  /** Summaries, newest first; `service` keeps traces with a span of that service (`app.ns` or `app`). */
  summaries(opts: { limit: number; service?: string }): TraceSummary[] {
    const service = opts.service;
    const matches = (s: TraceSpan): boolean => service === undefined || s.serviceName === service || s.serviceName.startsWith(`${service}.`);
    const out: TraceSummary[] = [];
    for (const [traceId, t] of this.traces) {
      if (service !== undefined && !t.spans.some(matches)) continue;
      out.push(summarize(traceId, t.spans));
    }
    out.sort((a, b) => b.startUs - a.startUs);
    return out.slice(0, Math.max(0, opts.limit));
  }
}

/** The trace's root (a span whose parent is not in the trace, earliest first), extent and services. */
export function summarize(traceId: string, spans: readonly TraceSpan[]): TraceSummary {
  const ids = new Set(spans.map((s) => s.id));
  let root: TraceSpan | undefined;
  let start = Infinity;
  let end = 0;
  const services = new Set<string>();
  let error = false;
  for (const s of spans) {
    if (s.parentId === undefined || !ids.has(s.parentId)) {
      if (root === undefined || s.timestampUs < root.timestampUs) root = s;
    }
    start = Math.min(start, s.timestampUs);
    end = Math.max(end, s.timestampUs + s.durationUs);
    services.add(s.serviceName);
    error ||= s.error;
  }
  const first = root ?? spans.reduce((a, b) => (b.timestampUs < a.timestampUs ? b : a));
  return {
    traceId,
    rootService: first.serviceName,
    rootName: first.name,
    startUs: start,
    durationUs: Math.max(0, end - start),
    spanCount: spans.length,
    services: [...services].sort(),
    error,
  };
}
