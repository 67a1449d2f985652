/**
 * Compiles one Istio match block (HTTPMatchRequest) into a single condition — every set field
 * must hold — and records how its uri matched, which `rewrite.uri` needs.
 */
import { compileClaimCondition, isClaimKey } from './claims.js';
import { RouteConfigError } from '../../../snapshot/index.js';
import { compileRegexTest, stringMatchKind } from '../../match/string-match.js';
import { compileHeaderCondition, compilePseudoHeaderCondition, compileQueryCondition, startsWithIgnoreCase, type Condition } from './matchers.js';
import type { MatchedPath } from './rewrite.js';
import type { RouteMatch, StringMatch } from '../../../snapshot/index.js';

export interface CompiledMatch {
  /** null when the block has no conditions (matches every request). */
  condition: Condition | null;
  matchedPath: MatchedPath;
}

/** Header keys Istio ignores in `headers` (they have their own fields). */
const IGNORED_HEADER_KEYS = new Set(['uri', 'scheme', 'method', 'authority']);

/** A request without a gateway is on a sidecar: Istio's `mesh` gateway. */
const MESH = 'mesh';

/** No uri match is Envoy's prefix `/`. */
const ROOT_PREFIX: MatchedPath = { kind: 'prefix', length: 1 };

function compileUri(m: StringMatch, ignoreCase: boolean, where: string): { cond: Condition; matched: MatchedPath } {
  const kind = stringMatchKind(m, where);
  if (kind === 'prefix') {
    const p = (m as { prefix: string }).prefix;
    // Envoy compares the prefix against the raw :path, query included.
    const cond: Condition = ignoreCase ? (req) => startsWithIgnoreCase(req.path, p) : (req) => req.path.startsWith(p);
    return { cond, matched: { kind: 'prefix', length: p.length } };
  }
  if (kind === 'exact') {
    const e = (m as { exact: string }).exact;
    // Compared in place: the path equals `e` up to where its query (or fragment) starts.
    // A value holding '?' or '#' can never equal a path without its query.
    const cond: Condition = /[?#]/.test(e)
      ? () => false
      : ignoreCase
      ? (req) => startsWithIgnoreCase(req.path, e) && endsAt(req.path, e.length)
      : (req) => req.path.startsWith(e) && endsAt(req.path, e.length);
    return { cond, matched: { kind: 'whole' } };
  }
  // ignoreUriCase does not apply to regex (Envoy's case_sensitive only covers prefix and path).
  const test = compileRegexTest((m as { regex: string }).regex, `${where}.regex`);
  return { cond: (_req, s) => test(s.pathOnly()), matched: { kind: 'whole' } };
}

/** True when the path ends at `i` or its query / fragment starts there. */
function endsAt(path: string, i: number): boolean {
  if (path.length === i) return true;
  const c = path.charCodeAt(i);
  return c === 63 /* ? */ || c === 35 /* # */;
}

function checkRecord(value: unknown, where: string): void {
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw new RouteConfigError(where, 'must be a map');
  }
}

export function compileMatch(m: RouteMatch, where: string): CompiledMatch {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new RouteConfigError(where, 'must be a match block');
  const conds: Condition[] = [];
  let matchedPath = ROOT_PREFIX;

  if (m.port !== undefined && m.port !== 0) {
    const port = m.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RouteConfigError(`${where}.port`, `${port} is not a port number`);
    conds.push((req) => req.port === port);
  }
  if (m.gateways !== undefined && m.gateways.length > 0) {
    const gateways = new Set(m.gateways);
    conds.push((req) => gateways.has(req.gateway ?? MESH));
  }
  if (m.method !== undefined) conds.push(compilePseudoHeaderCondition((r) => r.method, m.method, `${where}.method`));
  if (m.uri !== undefined) {
    const u = compileUri(m.uri, m.ignoreUriCase === true, `${where}.uri`);
    conds.push(u.cond);
    matchedPath = u.matched;
  }
  if (m.authority !== undefined) conds.push(compilePseudoHeaderCondition((r) => r.authority, m.authority, `${where}.authority`));
  if (m.scheme !== undefined) conds.push(compilePseudoHeaderCondition((r) => r.scheme, m.scheme, `${where}.scheme`));

  for (const [field, invert] of [['headers', false], ['withoutHeaders', true]] as const) {
    const map = m[field];
    checkRecord(map, `${where}.${field}`);
    for (const [name, hm] of Object.entries(map ?? {})) {
      const at = `${where}.${field}.${name}`;
      if (isClaimKey(name)) {
        conds.push(compileClaimCondition(name, hm, invert, at));
      } else if (!IGNORED_HEADER_KEYS.has(name.toLowerCase())) {
        conds.push(compileHeaderCondition(name, hm, invert, at));
      }
    }
  }
  checkRecord(m.queryParams, `${where}.queryParams`);
  for (const [name, qm] of Object.entries(m.queryParams ?? {})) {
    conds.push(compileQueryCondition(name, qm, `${where}.queryParams.${name}`));
  }

  checkRecord(m.sourceLabels, `${where}.sourceLabels`);
  const labels = Object.entries(m.sourceLabels ?? {});
  if (labels.length > 0) {
    conds.push((req) => {
      const have = req.sourceLabels;
      if (have === undefined) return false;
      for (let i = 0; i < labels.length; i++) {
        const [k, v] = labels[i];
        if (have[k] !== v) return false;
      }
      return true;
    });
  }
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== '') {
    const ns = m.sourceNamespace;
    conds.push((req) => req.sourceNamespace === ns);
  }

  return { condition: allOf(conds), matchedPath };
}

function allOf(conds: Condition[]): Condition | null {
  if (conds.length === 0) return null;
  if (conds.length === 1) return conds[0];
  if (conds.length === 2) {
    const [a, b] = conds as [Condition, Condition];
    return (req, s) => a(req, s) && b(req, s);
  }
  return (req, s) => {
    for (let i = 0; i < conds.length; i++) if (!(conds[i])(req, s)) return false;
    return true;
  };
}
