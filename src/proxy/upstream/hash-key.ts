/**
 * Derives the consistent-hash key of a request from the cluster's `HashKeySource` (header,
 * cookie, source IP, query parameter), generating the hash cookie with its TTL when the request
 * lacks it, with Envoy's semantics.
 */
import type { HashKeySource } from '../../snapshot/index.js';
import { hashString } from './hash.js';

/** The parts of a downstream request a hash key can come from. */
export interface HashRequest {
  /** Headers by lower-case name; Node's `IncomingHttpHeaders` fits. */
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Request target (`/path?query`; absolute form accepted). */
  path: string;
  /** Downstream peer IP. */
  sourceIp: string;
  /**
   * Identifies the downstream connection (e.g. `remote:port|local:port`). A generated cookie is
   * derived from it, as Envoy derives it from the connection's addresses, so requests racing on
   * one connection receive the same cookie. Defaults to `sourceIp`.
   */
  connectionId?: string;
}

export interface HashKeyResult {
  /** Undefined when the request yields no key: the balancer then picks at random. */
  hashKey: string | undefined;
  /** `Set-Cookie` value the response must carry when a cookie was generated. */
  setCookie: string | undefined;
}

const NONE: HashKeyResult = Object.freeze({ hashKey: undefined, setCookie: undefined });

export function hashKeyFor(source: HashKeySource, req: HashRequest): HashKeyResult {
  if ('header' in source) {
    const key = headerKey(req.headers[source.header]);
    return key === undefined ? NONE : { hashKey: key, setCookie: undefined };
  }
  if ('cookie' in source) return cookieHashKey(source.cookie, req.headers.cookie, req.connectionId ?? req.sourceIp);
  if ('sourceIp' in source) return { hashKey: normalizeIp(req.sourceIp), setCookie: undefined };
  const value = queryParameter(req.path, source.queryParameter);
  return value === undefined ? NONE : { hashKey: value, setCookie: undefined };
}

/**
 * Cookie hashing as Envoy's `CookieHashMethod`: the cookie's value if the request has it; else,
 * with a TTL configured, a generated value returned with the `Set-Cookie` to send back
 * (`ttlMs: 0` → session cookie); else no key.
 */
export function cookieHashKey(
  cookie: { name: string; path?: string; ttlMs?: number },
  cookieHeader: string | readonly string[] | undefined,
  connectionId: string,
): HashKeyResult {
  const existing = readCookie(cookieHeader, cookie.name);
  if (existing !== undefined) return { hashKey: existing, setCookie: undefined };
  if (cookie.ttlMs === undefined) return NONE;
  const value = generateCookieValue(connectionId);
  return { hashKey: value, setCookie: makeSetCookie(cookie, value) };
}

/** Value of cookie `name` in `Cookie` header(s), surrounding double quotes removed. */
export function readCookie(header: string | readonly string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string') {
    for (const h of header) {
      const v = readCookie(h, name);
      if (v !== undefined) return v;
    }
    return undefined;
  }
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim();
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}

/** 16 hex digits derived from the connection, stable for that connection. */
export function generateCookieValue(connectionId: string): string {
  const hi = hashString(connectionId, 0x9e3779b9).toString(16).padStart(8, '0');
  const lo = hashString(connectionId, 0x85ebca6b).toString(16).padStart(8, '0');
  return hi + lo;
}

/** `Set-Cookie` in Envoy's shape: `name="value"; Max-Age=S; Path=/p; HttpOnly`. */
export function makeSetCookie(cookie: { name: string; path?: string; ttlMs?: number }, value: string): string {
  let out = `${cookie.name}="${value}"`;
  const maxAge = Math.floor((cookie.ttlMs ?? 0) / 1000);
  if (maxAge > 0) out += `; Max-Age=${maxAge}`;
  if (cookie.path) out += `; Path=${cookie.path}`;
  return out + '; HttpOnly';
}

/** Header values sorted (Envoy: the same values in any order hash alike) and joined. */
function headerKey(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (value.length === 0) return undefined;
  return value.length === 1 ? value[0] : [...value].sort().join('\u0000');
}

/** First value of a query parameter, percent-decoded (Envoy decodes before hashing). */
function queryParameter(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  const hash = path.indexOf('#', q);
  const value = new URLSearchParams(path.slice(q + 1, hash < 0 ? undefined : hash)).get(name);
  return value ?? undefined;
}

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`, as Node reports on dual-stack sockets) hashes as the IPv4 address. */
function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
