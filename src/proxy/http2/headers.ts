/**
 * Header translation at the HTTP/2 boundary: node:http2 raw header arrays to the request flow's
 * `HeaderList` (pseudo-headers split off, `:authority` folded into `host` as Envoy treats them as
 * one header), and `HeaderList`s back to node:http2 header objects without the connection-specific
 * fields HTTP/2 forbids (RFC 9113 §8.2.2).
 */
import http2 from 'node:http2';
import type { OutgoingHttpHeaders } from 'node:http2';
import { HeaderList } from '../http/headers.js';

/**
 * Fields not carried as HTTP/2 fields: the connection-specific ones HTTP/2 forbids (node:http2
 * throws on them) and `host`, which travels as `:authority`.
 */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'host']);

/** Fields node:http2 accepts once only (it throws ERR_HTTP2_HEADER_SINGLE_VALUE on repeats). */
const SINGLE_VALUE = new Set([
  'access-control-allow-credentials',
  'access-control-max-age',
  'access-control-request-method',
  'age',
  'authorization',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'dnt',
  'etag',
  'expires',
  'from',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'tk',
  'upgrade-insecure-requests',
  'user-agent',
  'x-content-type-options',
]);

export const { NGHTTP2_NO_ERROR, NGHTTP2_PROTOCOL_ERROR, NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL } = http2.constants;
export const NGHTTP2_FLAG_END_STREAM = http2.constants.NGHTTP2_FLAG_END_STREAM;

/** A received header block: its pseudo-headers and the regular fields in arrival order. */
export interface ReceivedHeaders {
  pseudo: Map<string, string>;
  headers: HeaderList;
}

/**
 * Splits a raw header array (`[name, value, name, value, …]`, names lowercase as HTTP/2 requires).
 * `:authority` also appears as a leading `host` field (the one the request flow reads and
 * rewrites). Crumbled `cookie` fields are joined with `; ` into one, as RFC 9113 §8.2.3 asks
 * before handing them to an HTTP/1.1 hop.
 */
export function fromRawHeaders(raw: readonly string[]): ReceivedHeaders {
  const pseudo = new Map<string, string>();
  const headers = new HeaderList();
  let cookie: string | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    if (name.charCodeAt(0) === 58 /* : */) {
      if (pseudo.has(name)) continue;
      pseudo.set(name, value);
      if (name === ':authority') headers.push('host', 'host', value);
      continue;
    }
    if (name === 'cookie') {
      cookie = cookie === null ? value : `${cookie}; ${value}`;
      continue;
    }
    headers.push(name, name, value);
  }
  if (cookie !== null) headers.push('cookie', 'cookie', cookie);
  return { pseudo, headers };
}

/**
 * Copies regular fields into a node:http2 header object, leaving out connection-specific ones
 * (`te` survives only as `trailers`) and extra values of single-value fields.
 */
export function toHttp2Fields(headers: HeaderList, out: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const { lower, values } = headers;
  for (let i = 0; i < lower.length; i++) {
    const name = lower[i];
    if (name.charCodeAt(0) === 58 || NOT_FORWARDED.has(name)) continue;
    const value = values[i];
    if (name === 'te' && value.trim().toLowerCase() !== 'trailers') continue;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (SINGLE_VALUE.has(name)) continue;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [String(prev), value];
  }
  return out;
}

/** Request headers for an upstream HTTP/2 stream: pseudo-headers first, `host` becomes `:authority`. */
export function requestHeaders(method: string, path: string, headers: HeaderList, bodyLength: number): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':method': method, ':scheme': 'http', ':path': path };
  const authority = headers.get('host');
  if (authority !== undefined) out[':authority'] = authority;
  toHttp2Fields(headers, out);
  if (bodyLength > 0 && out['content-length'] === undefined) out['content-length'] = String(bodyLength);
  return out;
}

/** Response headers for a downstream HTTP/2 stream. */
export function responseHeaders(status: number, headers: HeaderList): OutgoingHttpHeaders {
  return toHttp2Fields(headers, { ':status': status });
}

/** Trailers as node:http2 takes them (empty when there are none). */
export function trailerFields(trailers: HeaderList | null): OutgoingHttpHeaders {
  return trailers === null ? {} : toHttp2Fields(trailers, {});
}

/** The Content-Length of a received message, -1 when absent or unreadable. */
export function contentLengthOf(headers: HeaderList): number {
  const v = headers.get('content-length');
  if (v === undefined || !/^\d+$/.test(v)) return -1;
  return Number(v);
}
