/**
 * Routing on JWT claims: Istio's `@request.auth.claims.<name>` (or `[a][b]`) header keys match
 * the claims of the request's validated JWT, a string claim or any element of a string list.
 */
import { RouteConfigError } from '../../../snapshot/index.js';
import { compileStringTest } from '../../match/string-match.js';
import { checkHeaderMatch, isPresenceMatch, type Condition } from './matchers.js';
import type { HeaderMatch, StringMatch } from '../../../snapshot/index.js';

const PREFIX = '@request.auth.claims';

export function isClaimKey(key: string): boolean {
  return key.startsWith(PREFIX);
}

/** `@request.auth.claims.a.b` and `@request.auth.claims[a][b]` → `['a', 'b']`. */
export function parseClaimPath(key: string, where: string): string[] {
  const rest = key.slice(PREFIX.length);
  let parts: string[] | null = null;
  if (rest.startsWith('.')) {
    parts = rest.slice(1).split('.');
  } else if (rest.startsWith('[') && rest.endsWith(']')) {
    parts = rest.slice(1, -1).split('][');
  }
  if (parts === null || parts.length === 0 || parts.some((p) => p === '' || p.includes('[') || p.includes(']'))) {
    throw new RouteConfigError(where, `invalid claim key ${JSON.stringify(key)}: use @request.auth.claims.name or @request.auth.claims[name][nested]`);
  }
  return parts;
}

function lookup(claims: Readonly<Record<string, unknown>> | undefined, path: readonly string[]): unknown {
  let cur: unknown = claims;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** A condition on one claim; `invert` for withoutHeaders (a missing claim then satisfies it). */
export function compileClaimCondition(key: string, m: HeaderMatch, invert: boolean, where: string): Condition {
  checkHeaderMatch(m, where);
  const path = parseClaimPath(key, where);
  let matches: (v: unknown) => boolean;
  if (isPresenceMatch(m)) {
    matches = (v) => v !== undefined;
  } else {
    const test = compileStringTest(m as StringMatch, where);
    matches = (v) => (typeof v === 'string' ? test(v) : Array.isArray(v) && v.some((e) => typeof e === 'string' && test(e)));
  }
  return invert
    ? (req) => !matches(lookup(req.jwtClaims, path))
    : (req) => matches(lookup(req.jwtClaims, path));
}
