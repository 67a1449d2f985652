/**
 * The query parameters of the dashboard's JSON endpoints, checked: a bad value is a 400 naming
 * the parameter and what it takes, never a source called with nonsense.
 */
import type { GraphQuery } from './sources.js';

export class BadRequest extends Error {}

/** Kubernetes namespace names (RFC 1123 labels). */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Zipkin trace ids: 64 or 128 bits in hex; shorter ones are accepted as Zipkin does. */
const TRACE_ID = /^[0-9a-f]{1,32}$/i;
const MAX_WINDOW_SECONDS = 24 * 3600;
export const DEFAULT_TRACE_LIMIT = 50;
const MAX_TRACE_LIMIT = 1000;

/** `?namespace=a&namespace=b` or `?namespace=a,b`, and `?window=60` (seconds; `30s`, `5m`, `1h` too). */
export function graphQuery(params: URLSearchParams): GraphQuery {
  const namespaces = params
    .getAll('namespace')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  for (const ns of namespaces) {
    if (!NAMESPACE.test(ns)) throw new BadRequest(`namespace: "${ns}" is not a namespace name`);
  }
  const query: GraphQuery = {};
  if (namespaces.length > 0) query.namespaces = [...new Set(namespaces)];
  const window = params.get('window');
  if (window !== null && window !== '') query.windowSeconds = duration(window, 'window');
  return query;
}

export function tracesQuery(params: URLSearchParams): { limit: number; service?: string } {
  const given = params.get('limit');
  let limit = DEFAULT_TRACE_LIMIT;
  if (given !== null && given !== '') {
    limit = Number(given);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_TRACE_LIMIT) {
      throw new BadRequest(`limit: "${given}" is not a whole number from 1 to ${MAX_TRACE_LIMIT}`);
    }
  }
  const service = params.get('service');
  return service !== null && service !== '' ? { limit, service } : { limit };
}

export function traceId(raw: string): string {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new BadRequest(`trace id: "${raw}" is not valid URL encoding`);
  }
  if (!TRACE_ID.test(id)) throw new BadRequest(`trace id: "${id}" is not a hexadecimal trace id`);
  return id.toLowerCase();
}

function duration(value: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(value.trim());
  const unit = { s: 1, m: 60, h: 3600 }[m?.[2] ?? 's'] ?? 1;
  const seconds = m === null ? NaN : Number(m[1]) * unit;
  if (!(seconds > 0 && seconds <= MAX_WINDOW_SECONDS)) {
    throw new BadRequest(`${name}: "${value}" is not a duration from 1s to 24h (seconds, or with s, m or h)`);
  }
  return seconds;
}
