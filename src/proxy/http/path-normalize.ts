/**
 * Request path normalisation, as Istio configures Envoy's connection manager from the mesh
 * config's `pathNormalization` (Istio's "Authorization Policy Normalization" page): the path is
 * normalised once, before routing and before any policy, and the normalised path is what every
 * later phase reads and what goes upstream, so a route or a policy cannot be side-stepped by
 * spelling a path another way.
 *
 *   NONE                      nothing changes (the fragment still goes, see below)
 *   BASE (Istio's default)    RFC 3986 §6 as Envoy's `normalize_path`: percent-encoded
 *                             unreserved characters (ALPHA DIGIT - . _ ~) decoded, other escapes
 *                             kept as sent; `\` read as `/`; `.` and `..` segments resolved, a
 *                             `..` above the root staying at the root (§5.2.4)
 *   MERGE_SLASHES             BASE, then runs of `/` merged into one (Envoy's `merge_slashes`)
 *   DECODE_AND_MERGE_SLASHES  `%2F` and `%5C` decoded to `/` and `\` first (Envoy's
 *                             `path_with_escaped_slashes_action: UNESCAPE_AND_FORWARD`), then
 *                             MERGE_SLASHES
 *
 * Under every option the query is kept as sent and the fragment (`#…`, never part of a request
 * target) is dropped, as Istio runs Envoy (`http_reject_path_with_fragment` off: stripped, not
 * refused). A path that cannot be normalised is refused (400): one that does not
 * start with `/` (but `*` of `OPTIONS *` and the authority form of CONNECT), `%00` (Istio
 * rejects it under every option), and, under the options that decode, a `%` not followed by two
 * hex digits (a later hop could read such an escape another way; Envoy's header validator
 * refuses it too). Decoding happens once: `%252e` stays `%252e`.
 *
 * The common path — no `%`, `\`, `#`, no `.` or `..` segment and, when slashes merge, no `//` —
 * is recognised in one scan that allocates nothing, and returned as the same string.
 */
import type { PathNormalization } from '../../snapshot/index.js';

/** Why a path was refused: the details of the 400 the request gets. */
export interface PathRefusal {
  readonly details: string;
}

const NOT_ORIGIN_FORM: PathRefusal = Object.freeze({ details: 'http.invalid_path' });
const CANNOT_NORMALIZE: PathRefusal = Object.freeze({ details: 'path_normalization_failed' });

const SLASH = 47;
const DOT = 46;
const PERCENT = 37;
const BACKSLASH = 92;
const HASH = 35;
const QUESTION = 63;

/**
 * The request's path as the mesh reads and forwards it under `mode`, or why it is refused. The
 * path is the request target as the codec gives it (origin form with its query; the authority
 * for CONNECT; `*` for `OPTIONS *`).
 */
export function normalizeRequestPath(method: string, path: string, mode: PathNormalization): string | PathRefusal {
  if (path.charCodeAt(0) !== SLASH) {
    if (method === 'CONNECT' || (path === '*' && method === 'OPTIONS')) return path;
    return NOT_ORIGIN_FORM;
  }
  if (mode === 'NONE') return keepAsSent(path);
  return isNormal(path, mode !== 'BASE') ? path : normalizeSlowly(path, mode);
}

/** NONE: the path as sent, but for its fragment and a `%00`. */
function keepAsSent(path: string): string | PathRefusal {
  if (path.indexOf('%00') >= 0) return CANNOT_NORMALIZE;
  const hash = path.indexOf('#');
  return hash < 0 ? path : path.slice(0, hash);
}

/** One scan: true when normalising would leave the path as it is. */
function isNormal(p: string, mergeSlashes: boolean): boolean {
  const n = p.length;
  for (let i = 0; i < n; i++) {
    const c = p.charCodeAt(i);
    if (c === QUESTION) return p.indexOf('#', i + 1) < 0;
    if (c === PERCENT || c === BACKSLASH || c === HASH) return false;
    if (c === SLASH) {
      const next = p.charCodeAt(i + 1);
      if (next === SLASH && mergeSlashes) return false;
      if (next === DOT && isDotSegment(p, i + 1)) return false;
    }
  }
  return true;
}

/** Whether the segment starting at `at` (a `.`) is `.` or `..`. */
function isDotSegment(p: string, at: number): boolean {
  let end = at + 1;
  if (p.charCodeAt(end) === DOT) end++;
  return end >= p.length || endsSegment(p.charCodeAt(end));
}

function endsSegment(c: number): boolean {
  return c === SLASH || c === QUESTION || c === HASH;
}

/** The full normalisation, for a path the scan found work in. */
function normalizeSlowly(p: string, mode: Exclude<PathNormalization, 'NONE'>): string | PathRefusal {
  let pathEnd = p.length;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c === QUESTION || c === HASH) {
      pathEnd = i;
      break;
    }
  }
  const hash = p.indexOf('#', pathEnd);
  const query = p.charCodeAt(pathEnd) === QUESTION ? p.slice(pathEnd, hash < 0 ? p.length : hash) : '';
  const decoded = decode(p, pathEnd, mode === 'DECODE_AND_MERGE_SLASHES');
  if (decoded === null) return CANNOT_NORMALIZE;
  let out = removeDotSegments(decoded);
  if (mode !== 'BASE') out = out.replace(/\/{2,}/g, '/');
  return out + query;
}

/**
 * Decodes the escapes of unreserved characters (and, with `slashes`, of `/` and `\`), reads `\`
 * as `/`, and keeps every other escape as sent; null for `%00` or a malformed escape.
 */
function decode(p: string, end: number, slashes: boolean): string | null {
  let out = '';
  let from = 0;
  for (let i = 0; i < end; i++) {
    const c = p.charCodeAt(i);
    if (c === BACKSLASH) {
      out += p.slice(from, i) + '/';
      from = i + 1;
    } else if (c === PERCENT) {
      const hi = hexValue(p.charCodeAt(i + 1));
      const lo = hexValue(p.charCodeAt(i + 2));
      if (i + 2 >= end || hi < 0 || lo < 0) return null;
      const byte = hi * 16 + lo;
      if (byte === 0) return null;
      if (UNRESERVED[byte] === 1 || (slashes && (byte === SLASH || byte === BACKSLASH))) {
        // A decoded backslash is read as a slash, as a sent one is.
        out += p.slice(from, i) + (byte === BACKSLASH ? '/' : String.fromCharCode(byte));
        from = i + 3;
      }
      i += 2;
    }
  }
  return out + p.slice(from, end);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** RFC 3986 §2.3 unreserved characters, by code. */
const UNRESERVED = new Uint8Array(128);
for (const c of '-._~') UNRESERVED[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) UNRESERVED[c] = 1;
for (let c = 65; c <= 90; c++) UNRESERVED[c] = 1;
for (let c = 97; c <= 122; c++) UNRESERVED[c] = 1;

/**
 * RFC 3986 §5.2.4 on an absolute path: `.` segments go, `..` takes the segment before it with it
 * (none above the root), and a path ending in either ends with `/`.
 */
function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const out: string[] = [''];
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i];
    const last = i === segments.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..' && out.length > 1) out.pop();
      if (last) out.push('');
    } else {
      out.push(s);
    }
  }
  return out.length === 1 ? '/' : out.join('/');
}
