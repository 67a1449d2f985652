/**
 * Path rewriting as Envoy does it for Istio's `rewrite`: `uri` replaces the matched part of
 * the path (prefix, or the whole path before the query), `uriRegex` globally substitutes RE2
 * matches in the path with `\N` capture references; the query string is always kept.
 */
import { RE2JS } from 're2js';
import { RouteConfigError } from '../../../snapshot/index.js';
import { queryStart } from './matchers.js';

export type PathRewriter = (path: string) => string;

/** How the route's match block matched the path, which decides what `rewrite.uri` replaces. */
export type MatchedPath = { kind: 'prefix'; length: number } | { kind: 'whole' };

/** `rewrite.uri`: replaces the matched prefix, or the whole path (query kept) for exact/regex matches. */
export function compileUriRewrite(replacement: string, matched: MatchedPath): PathRewriter {
  if (matched.kind === 'prefix') {
    const len = matched.length;
    return (path) => replacement + path.slice(Math.min(len, path.length));
  }
  return (path) => replacement + path.slice(queryStart(path));
}

type Piece = string | number;

/** Parses RE2 rewrite syntax: `\0`..`\9` are groups, `\\` is a backslash; anything else after `\` is an error. */
function parseSubstitution(sub: string, groups: number, where: string): Piece[] {
  const pieces: Piece[] = [];
  let lit = '';
  for (let i = 0; i < sub.length; i++) {
    const c = sub[i];
    if (c !== '\\') {
      lit += c;
      continue;
    }
    const n = sub[i + 1];
    if (n === '\\') {
      lit += '\\';
      i++;
    } else if (n !== undefined && n >= '0' && n <= '9') {
      const g = n.charCodeAt(0) - 48;
      if (g > groups) {
        throw new RouteConfigError(where, `substitution refers to \\${g} but the pattern has ${groups} capture group(s)`);
      }
      if (lit !== '') pieces.push(lit);
      lit = '';
      pieces.push(g);
      i++;
    } else {
      throw new RouteConfigError(where, `invalid escape in substitution ${JSON.stringify(sub)}: use \\0-\\9 or \\\\`);
    }
  }
  if (lit !== '') pieces.push(lit);
  return pieces;
}

/** `rewrite.uriRegex`: every match of `pattern` in the path (query excluded) is replaced. */
export function compileRegexRewrite(pattern: string, substitution: string, where: string): PathRewriter {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err: unknown) {
    throw new RouteConfigError(`${where}.match`, `invalid regex ${JSON.stringify(pattern)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const pieces = parseSubstitution(substitution, re.groupCount(), `${where}.rewrite`);
  return (path) => {
    const q = queryStart(path);
    const just = q === path.length ? path : path.slice(0, q);
    const m = re.matcher(just);
    let out = '';
    let last = 0;
    let found = false;
    while (m.find()) {
      found = true;
      out += just.slice(last, m.start());
      for (let i = 0; i < pieces.length; i++) {
        const p = pieces[i];
        out += typeof p === 'string' ? p : (m.group(p) ?? '');
      }
      last = m.end();
    }
    if (!found) return path;
    return out + just.slice(last) + path.slice(q);
  };
}
