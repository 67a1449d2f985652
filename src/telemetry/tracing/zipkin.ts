/**
 * Zipkin v2 JSON encoding of spans (`POST /api/v2/spans`, a JSON array), the format Jaeger,
 * Zipkin and skiffd's embedded collector accept.
 */
import type { FinishedSpan } from './span.js';

export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind: 'CLIENT' | 'SERVER';
  timestamp: number;
  duration: number;
  localEndpoint: { serviceName: string };
  remoteEndpoint?: { ipv4?: string; ipv6?: string; port: number };
  tags: Record<string, string>;
}

export function toZipkin(span: FinishedSpan): ZipkinSpan {
  const out: ZipkinSpan = {
    traceId: span.traceId,
    id: span.id,
    name: span.name,
    kind: span.kind,
    timestamp: span.timestampUs,
    duration: span.durationUs,
    localEndpoint: { serviceName: span.serviceName },
    tags: { ...span.tags },
  };
  if (span.parentId !== undefined) out.parentId = span.parentId;
  if (span.remote !== undefined) {
    out.remoteEndpoint = span.remote.ip.includes(':') ? { ipv6: span.remote.ip, port: span.remote.port } : { ipv4: span.remote.ip, port: span.remote.port };
  }
  return out;
}

/** The request body for a batch. */
export function zipkinBody(spans: readonly FinishedSpan[]): string {
  return JSON.stringify(spans.map(toZipkin));
}
