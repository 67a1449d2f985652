/**
 * Trace context propagation as Envoy's Zipkin tracer does it, with W3C as well: the incoming
 * context is read from B3 multi headers (`x-b3-*`), then the B3 single header (`b3`), then W3C
 * `traceparent`; the proxy's own span is written back into all of them (`b3` only when the request
 * carried it; `tracestate` passes through untouched), so an application copying the headers
 * continues the trace under this proxy's span.
 */
import type { TelemetryHeaders } from '../request-record.js';

/** The context of the span a proxy makes for a request. */
export interface SpanContext {
  /** 32 hex digits, or 16 when the trace arrived with a 64-bit B3 id. */
  readonly traceId: string;
  readonly spanId: string;
  /** The caller's span, when the request arrived inside a trace. */
  readonly parentId: string | undefined;
  readonly sampled: boolean;
  /** B3 debug (`x-b3-flags: 1` or `b3: …-d`): always sampled, and propagated as such. */
  readonly debug: boolean;
}

/** What the incoming headers say: a parent span (or none) and a sampling decision (or none). */
export interface IncomingTrace {
  traceId: string | null;
  spanId: string | null;
  sampled: boolean | undefined;
  debug: boolean;
  /** The request carried a `b3` single header (it is rewritten, not added). */
  b3Single: boolean;
}

const ALL_ZERO = /^0+$/;
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** True when `s` is lowercase hex and not all zeros (checked by hand: this runs per request). */
function nonZeroHex(s: string): boolean {
  let nonZero = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 48 && c <= 57) nonZero = true;
    else if (c >= 97 && c <= 102) nonZero = true;
    else if (c !== 48) return false;
  }
  return nonZero;
}

function traceIdOf(v: string | undefined): string | null {
  if (v === undefined) return null;
  const s = v.trim().toLowerCase();
  return (s.length === 32 || s.length === 16) && nonZeroHex(s) ? s : null;
}

function spanIdOf(v: string | undefined): string | null {
  if (v === undefined) return null;
  const s = v.trim().toLowerCase();
  return s.length === 16 && nonZeroHex(s) ? s : null;
}

function b3Sampled(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  if (s === '1' || s === 'true' || s === 'd') return true;
  if (s === '0' || s === 'false') return false;
  return undefined;
}

/**
 * Reads the incoming trace context (the first value of each header); never throws on malformed
 * headers (they are ignored).
 */
export function extractTrace(headers: Pick<TelemetryHeaders, 'lower' | 'values'>): IncomingTrace {
  const out: IncomingTrace = { traceId: null, spanId: null, sampled: undefined, debug: false, b3Single: false };
  // One pass over the headers collects the candidates (most requests carry few of them).
  let b3TraceId: string | undefined;
  let b3SpanId: string | undefined;
  let b3SampledValue: string | undefined;
  let flags: string | undefined;
  let b3: string | undefined;
  let traceparent: string | undefined;
  const lower = headers.lower;
  for (let i = 0; i < lower.length; i++) {
    const n = lower[i];
    if (n.charCodeAt(0) === 120 /* x */) {
      if (n === 'x-b3-traceid') b3TraceId ??= headers.values[i];
      else if (n === 'x-b3-spanid') b3SpanId ??= headers.values[i];
      else if (n === 'x-b3-sampled') b3SampledValue ??= headers.values[i];
      else if (n === 'x-b3-flags') flags ??= headers.values[i];
    } else if (n === 'b3') b3 ??= headers.values[i];
    else if (n === 'traceparent') traceparent ??= headers.values[i];
  }
  // B3 multi.
  if (flags !== undefined && flags.trim() === '1') out.debug = true;
  out.sampled = b3Sampled(b3SampledValue);
  const traceId = traceIdOf(b3TraceId);
  const spanId = spanIdOf(b3SpanId);
  if (traceId !== null && spanId !== null) {
    out.traceId = traceId;
    out.spanId = spanId;
  }
  // B3 single: `{traceid}-{spanid}[-{sampling}[-{parent}]]` or just `{sampling}`.
  if (b3 !== undefined) {
    out.b3Single = true;
    const parts = b3.trim().split('-');
    if (parts.length === 1) {
      out.sampled ??= b3Sampled(parts[0]);
      if (parts[0].toLowerCase() === 'd') out.debug = true;
    } else if (out.traceId === null) {
      const t = traceIdOf(parts[0]);
      const s = spanIdOf(parts[1]);
      if (t !== null && s !== null) {
        out.traceId = t;
        out.spanId = s;
        if (parts.length > 2) {
          out.sampled ??= b3Sampled(parts[2]);
          if (parts[2].toLowerCase() === 'd') out.debug = true;
        }
      }
    }
  }
  // W3C trace context.
  if (out.traceId === null) {
    const m = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim().toLowerCase());
    if (m !== null && m[1] !== 'ff' && !(m[1] === '00' && m[5] !== undefined) && !ALL_ZERO.test(m[2]) && !ALL_ZERO.test(m[3])) {
      out.traceId = m[2];
      out.spanId = m[3];
      out.sampled ??= (parseInt(m[4], 16) & 1) === 1;
    }
  }
  if (out.debug) out.sampled = true;
  return out;
}

/** Writes `span` into the request headers the proxy forwards. */
export function injectTrace(headers: TelemetryHeaders, span: SpanContext, b3Single: boolean): void {
  const sampled = span.sampled ? '1' : '0';
  headers.set('x-b3-traceid', span.traceId);
  headers.set('x-b3-spanid', span.spanId);
  if (span.parentId === undefined) headers.remove('x-b3-parentspanid');
  else headers.set('x-b3-parentspanid', span.parentId);
  headers.set('x-b3-sampled', sampled);
  if (span.debug) headers.set('x-b3-flags', '1');
  if (b3Single) {
    const flag = span.debug ? 'd' : sampled;
    headers.set('b3', span.parentId === undefined ? `${span.traceId}-${span.spanId}-${flag}` : `${span.traceId}-${span.spanId}-${flag}-${span.parentId}`);
  }
  headers.set('traceparent', `00-${span.traceId.padStart(32, '0')}-${span.spanId}-${span.sampled ? '01' : '00'}`);
}
