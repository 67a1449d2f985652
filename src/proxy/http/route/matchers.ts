/**
 * Compiles Istio match conditions (string, header, query-parameter and source matches) into
 * closures evaluated against a request, with Envoy's semantics for each kind.
 */
import { compileStringTest } from '../../match/string-match.js';
import { RouteConfigError } from '../../../snapshot/index.js';
import type { HeaderMatch, StringMatch } from '../../../snapshot/index.js';
import type { RouteRequest } from './request.js';

/** Per-request values derived lazily and shared by all conditions of one `select` call. */
export class MatchScratch {
  private req: RouteRequest | null = null;
  private pathOnlyCache: string | null = null;

  reset(req: RouteRequest): void {
    this.req = req;
    this.pathOnlyCache = null;
  }

  /** The request path without query string and fragment (what Envoy's exact/regex path matches see). */
  pathOnly(): string {
    if (this.pathOnlyCache === null) this.pathOnlyCache = stripQuery((this.req as RouteRequest).path);
    return this.pathOnlyCache;
  }
}

/** A compiled condition; true when the request satisfies it. */
export type Condition = (req: RouteRequest, scratch: MatchScratch) => boolean;

/** Index of the query (`?`) or fragment (`#`) start, or the length when there is neither. */
export function queryStart(path: string): number {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) return i;
  }
  return path.length;
}

export function stripQuery(path: string): string {
  const q = queryStart(path);
  return q === path.length ? path : path.slice(0, q);
}

/** ASCII case-insensitive `startsWith`, as Envoy's `StartsWithIgnoreCase`. */
export function startsWithIgnoreCase(s: string, prefix: string): boolean {
  if (s.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (asciiLower(s.charCodeAt(i)) !== asciiLower(prefix.charCodeAt(i))) return false;
  }
  return true;
}

function asciiLower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/**
 * True when a header/query match means "present": `{ present: true }`, an empty match `{}`,
 * or `regex: "*"` (not valid RE2; Istio documents it as presence).
 */
export function isPresenceMatch(m: HeaderMatch): boolean {
  const r = m as Record<string, unknown>;
  if (r.present === true) return true;
  if (r.exact === undefined && r.prefix === undefined && r.regex === undefined) return true;
  return r.regex === '*';
}

const HEADER_MATCH_KEYS = new Set(['exact', 'prefix', 'regex', 'present']);

/** Rejects what is not a header/query match object, so a typo never turns into a presence check. */
export function checkHeaderMatch(m: unknown, where: string): asserts m is HeaderMatch {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) {
    throw new RouteConfigError(where, 'must be a match object ({exact|prefix|regex: string} or {present: true})');
  }
  const keys = Object.keys(m);
  const unknown = keys.filter((k) => !HEADER_MATCH_KEYS.has(k));
  if (unknown.length > 0 || keys.length > 1) {
    throw new RouteConfigError(where, `must set at most one of exact, prefix, regex, present (got ${keys.join(', ')})`);
  }
  const present = (m as Record<string, unknown>).present;
  if (present !== undefined && present !== true) throw new RouteConfigError(`${where}.present`, 'must be true when set');
}

/**
 * A header condition (Envoy HeaderMatcher as Istio configures it). With `invert` (withoutHeaders)
 * a missing header counts as the empty string for value matches, so that an absent header
 * satisfies `withoutHeaders` — Istio sets `treat_missing_header_as_empty` for this.
 */
export function compileHeaderCondition(
  name: string,
  m: HeaderMatch,
  invert: boolean,
  where: string,
): Condition {
  checkHeaderMatch(m, where);
  const key = name.toLowerCase();
  if (isPresenceMatch(m)) {
    return invert ? (req) => !req.headers.has(key) : (req) => req.headers.has(key);
  }
  const test = compileStringTest(m as StringMatch, where);
  if (invert) return (req) => !test(req.headers.get(key) ?? '');
  return (req) => {
    const v = req.headers.get(key);
    return v !== undefined && test(v);
  };
}

/** Condition on a pseudo-header value taken from the request (method, scheme, authority). */
export function compilePseudoHeaderCondition(
  read: (req: RouteRequest) => string,
  m: StringMatch,
  where: string,
): Condition {
  checkHeaderMatch(m, where);
  if (isPresenceMatch(m)) return () => true;
  const test = compileStringTest(m, where);
  return (req) => test(read(req));
}

/** Condition on the first occurrence of a query parameter (Envoy QueryParameterMatcher). */
export function compileQueryCondition(name: string, m: HeaderMatch, where: string): Condition {
  checkHeaderMatch(m, where);
  if (isPresenceMatch(m)) return (req) => findQueryParam(req.path, name) !== undefined;
  const test = compileStringTest(m as StringMatch, where);
  return (req) => {
    const v = findQueryParam(req.path, name);
    return v !== undefined && test(v);
  };
}

/**
 * The percent-decoded value of the first `name` parameter in the path's query string: `''` for
 * `?name` and `?name=`, undefined when absent. Scans in place, no splitting of the query.
 */
export function findQueryParam(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  let end = path.indexOf('#', q);
  if (end < 0) end = path.length;
  let i = q + 1;
  while (i <= end) {
    let amp = path.indexOf('&', i);
    if (amp < 0 || amp > end) amp = end;
    let eq = path.indexOf('=', i);
    if (eq >= amp) eq = -1;
    const keyEnd = eq < 0 ? amp : eq;
    if (keyEnd - i === name.length && path.startsWith(name, i)) {
      return eq < 0 ? '' : percentDecode(path.slice(eq + 1, amp));
    }
    i = amp + 1;
  }
  return undefined;
}

/** Decodes %XX escapes; malformed escapes are kept as written (Envoy does the same). */
export function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
}
