/**
 * OTLP/HTTP JSON encoding of spans (`POST /v1/traces`, `ExportTraceServiceRequest` in the protobuf
 * JSON mapping: ids as hex, times as nanosecond strings, enums as numbers), one resource per
 * reporting service.
 */
import type { FinishedSpan } from './span.js';

type AnyValue = { stringValue: string } | { intValue: string } | { boolValue: boolean };
interface KeyValue {
  key: string;
  value: AnyValue;
}

/** OTLP `Span.SpanKind`. */
const KIND = { SERVER: 2, CLIENT: 3 } as const;
/** OTLP `Status.StatusCode`. */
const STATUS_ERROR = 2;

function attr(key: string, value: string): KeyValue {
  return { key, value: { stringValue: value } };
}

function nanos(us: number): string {
  return `${BigInt(Math.round(us)) * 1000n}`;
}

function otlpSpan(span: FinishedSpan): Record<string, unknown> {
  const attributes: KeyValue[] = Object.entries(span.tags).map(([k, v]) => attr(k, v));
  if (span.remote !== undefined) {
    attributes.push(attr('net.peer.ip', span.remote.ip));
    attributes.push({ key: 'net.peer.port', value: { intValue: String(span.remote.port) } });
  }
  const out: Record<string, unknown> = {
    traceId: span.traceId.padStart(32, '0'),
    spanId: span.id,
    name: span.name,
    kind: KIND[span.kind],
    startTimeUnixNano: nanos(span.timestampUs),
    endTimeUnixNano: nanos(span.timestampUs + span.durationUs),
    attributes,
    status: span.error ? { code: STATUS_ERROR } : {},
  };
  if (span.parentId !== undefined) out.parentSpanId = span.parentId;
  return out;
}

/** The request body for a batch. */
export function otlpBody(spans: readonly FinishedSpan[]): string {
  const byService = new Map<string, FinishedSpan[]>();
  for (const s of spans) {
    let list = byService.get(s.serviceName);
    if (list === undefined) byService.set(s.serviceName, (list = []));
    list.push(s);
  }
  return JSON.stringify({
    resourceSpans: [...byService].map(([service, list]) => ({
      resource: { attributes: [attr('service.name', service)] },
      scopeSpans: [{ scope: { name: 'skiff-proxy' }, spans: list.map(otlpSpan) }],
    })),
  });
}
