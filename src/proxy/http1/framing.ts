/**
 * HTTP/1.1 message semantics derived from a parsed head: request target forms (origin, absolute,
 * authority for CONNECT, asterisk), body framing per RFC 9112 §6 and connection persistence.
 */
import { hasToken } from '../http/headers.js';
import type { HeaderList } from '../http/headers.js';
import { Framing } from './body-decoder.js';
import { Http1ParseError } from './head-parser.js';
import type { ParsedRequestLine } from './head-parser.js';

export interface RequestTarget {
  scheme: string | null;
  authority: string;
  path: string;
  absoluteForm: boolean;
}

/** Splits the request target into authority and path, folding absolute-form into Host (RFC 9112 §3.2.2). */
export function parseTarget(line: ParsedRequestLine, headers: HeaderList): RequestTarget {
  const t = line.target;
  if (line.method === 'CONNECT') {
    // authority-form: host:port, nothing else.
    if (t.includes('/') || t.includes('@') || !/:\d{1,5}$/.test(t)) {
      throw new Http1ParseError(400, 'http1.invalid_url', 'CONNECT target must be host:port');
    }
    checkAuthority(t);
    return { scheme: null, authority: t, path: t, absoluteForm: false };
  }
  if (t.charCodeAt(0) === 47 /* / */) return { scheme: null, authority: hostOf(headers, line.minor), path: t, absoluteForm: false };
  if (t === '*') {
    if (line.method !== 'OPTIONS') throw new Http1ParseError(400, 'http1.invalid_url', 'asterisk-form is only valid for OPTIONS');
    return { scheme: null, authority: hostOf(headers, line.minor), path: '*', absoluteForm: false };
  }
  const sep = t.indexOf('://');
  if (sep <= 0 || !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(t.slice(0, sep))) {
    throw new Http1ParseError(400, 'http1.invalid_url', 'invalid request target');
  }
  const scheme = t.slice(0, sep).toLowerCase();
  const rest = sep + 3;
  let pathStart = rest;
  while (pathStart < t.length && t.charCodeAt(pathStart) !== 47 && t.charCodeAt(pathStart) !== 63) pathStart++;
  const authority = t.slice(rest, pathStart);
  if (authority === '' || authority.includes('@')) throw new Http1ParseError(400, 'http1.invalid_url', 'invalid authority in request target');
  checkAuthority(authority);
  let path = t.slice(pathStart);
  if (path === '') path = '/';
  else if (path.charCodeAt(0) === 63 /* ? */) path = `/${path}`;
  // The URI's authority wins over any Host header, which is rewritten to match.
  headers.set('host', authority);
  return { scheme, authority, path, absoluteForm: true };
}

function hostOf(headers: HeaderList, minor: number): string {
  const i = headers.indexOf('host');
  if (i < 0) {
    if (minor >= 1) throw new Http1ParseError(400, 'http1.missing_host_header', 'missing Host header');
    return '';
  }
  if (headers.indexOf('host', i + 1) >= 0) throw new Http1ParseError(400, 'http1.codec_error', 'multiple Host headers');
  const host = headers.values[i];
  if (host === '') throw new Http1ParseError(400, 'http1.missing_host_header', 'empty Host header');
  checkAuthority(host);
  return host;
}

/**
 * Characters of an authority as RFC 9110 §7.2 allows it in Host: `uri-host [":" port]`, the host a
 * reg-name (unreserved, pct-encoded, sub-delims) or an IP literal in brackets. No space, slash or
 * userinfo `@`: a value routing could read one way and the upstream another is refused.
 */
const AUTHORITY = new Uint8Array(128);
for (const c of "-._~%!$&'()*+,;=:[]") AUTHORITY[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) AUTHORITY[c] = 1;
for (let c = 65; c <= 90; c++) AUTHORITY[c] = 1;
for (let c = 97; c <= 122; c++) AUTHORITY[c] = 1;

function checkAuthority(value: string): void {
  for (let k = 0; k < value.length; k++) {
    const c = value.charCodeAt(k);
    if (c >= 128 || AUTHORITY[c] !== 1) throw new Http1ParseError(400, 'http.invalid_authority', `invalid character in authority ${JSON.stringify(value)}`);
  }
}

export interface BodyFraming {
  framing: Framing;
  /** Content-Length, or -1 when chunked / until close. */
  length: number;
}

/**
 * Request body framing (RFC 9112 §6.3). A request with both Transfer-Encoding and Content-Length
 * is rejected, as Envoy does by default; a transfer coding other than chunked gets 501.
 */
export function requestFraming(headers: HeaderList): BodyFraming {
  const te = headers.get('transfer-encoding');
  if (te !== undefined) {
    if (headers.has('content-length')) {
      throw new Http1ParseError(400, 'http1.content_length_and_chunked_not_allowed', 'both Content-Length and Transfer-Encoding');
    }
    if (te.trim().toLowerCase() !== 'chunked') {
      throw new Http1ParseError(501, 'http1.invalid_transfer_encoding', `unsupported transfer encoding ${te}`);
    }
    return { framing: Framing.Chunked, length: -1 };
  }
  const cl = contentLength(headers, 'http1.content_length_not_allowed');
  if (cl < 0 || cl === 0) return { framing: Framing.None, length: 0 };
  return { framing: Framing.Length, length: cl };
}

/** Response body framing (RFC 9112 §6.3) for a response to `method`. */
export function responseFraming(method: string, status: number, headers: HeaderList): BodyFraming {
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) {
    // No body whatever the head says, but a Content-Length it carries is forwarded: it must be one.
    if (headers.has('content-length')) contentLength(headers, 'upstream.invalid_content_length');
    return { framing: Framing.None, length: 0 };
  }
  const te = headers.get('transfer-encoding');
  if (te !== undefined) {
    // Chunked last means chunked; any other coding is delimited by close (RFC 9112 §6.3 item 4).
    const last = te.slice(te.lastIndexOf(',') + 1).trim().toLowerCase();
    return last === 'chunked' ? { framing: Framing.Chunked, length: -1 } : { framing: Framing.UntilClose, length: -1 };
  }
  const cl = contentLength(headers, 'upstream.invalid_content_length');
  if (cl < 0) return { framing: Framing.UntilClose, length: -1 };
  return cl === 0 ? { framing: Framing.None, length: 0 } : { framing: Framing.Length, length: cl };
}

/**
 * Content-Length value, -1 when absent. One field of digits only: a repeated field or a list
 * (`5, 5`), which RFC 9110 §8.6 lets a recipient either merge or refuse, is refused as Envoy does
 * (a request gets 400, an upstream response is a protocol error, 502), so no message is ever
 * forwarded with two lengths a later hop might read differently.
 */
function contentLength(headers: HeaderList, details: string): number {
  const i = headers.indexOf('content-length');
  if (i < 0) return -1;
  if (headers.indexOf('content-length', i + 1) >= 0) throw new Http1ParseError(400, details, 'multiple Content-Length headers');
  const value = digitsValue(headers.values[i]);
  if (value < 0) throw new Http1ParseError(400, details, 'invalid Content-Length');
  return value;
}

/** The value of 1 to 15 ASCII digits, else -1. */
function digitsValue(s: string): number {
  const n = s.length;
  if (n === 0 || n > 15) return -1;
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Whether the connection stays open after this message (RFC 9112 §9.3). */
export function wantsKeepAlive(minor: number, headers: HeaderList): boolean {
  const c = headers.get('connection');
  if (minor === 0) return hasToken(c, 'keep-alive');
  return !hasToken(c, 'close');
}
