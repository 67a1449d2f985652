/**
 * String matches as Istio's `StringMatch` means them (exact, prefix, whole-string RE2 regex),
 * compiled once into plain tests: the vocabulary of route matches and of the policies that match
 * on request values (CORS origins today).
 */
import { compileRegex } from '../../api/regex.js';
import { RouteConfigError } from '../../snapshot/index.js';
import type { StringMatch } from '../../snapshot/index.js';

/** A compiled string test. */
export type StringTest = (value: string) => boolean;

/** Which one of a StringMatch's variants is set; throws on zero or several. */
export function stringMatchKind(m: StringMatch, where: string): 'exact' | 'prefix' | 'regex' {
  if (m === null || typeof m !== 'object') throw new RouteConfigError(where, 'must be a match object {exact|prefix|regex: string}');
  const kinds = (['exact', 'prefix', 'regex'] as const).filter(
    (k) => typeof (m as Record<string, unknown>)[k] === 'string',
  );
  if (kinds.length !== 1) {
    throw new RouteConfigError(where, 'must set exactly one of exact, prefix, regex');
  }
  return kinds[0];
}

/** Compiles an RE2 regex as a whole-string test; a bad pattern is a config error. */
export function compileRegexTest(src: string, where: string): StringTest {
  const r = compileRegex(src);
  if (!r.ok) throw new RouteConfigError(where, `invalid regex ${JSON.stringify(src)}: ${r.error}`);
  const full = r.matcher;
  // RE2 in JavaScript costs a few hundred ns per test; a whole-string match must begin with the
  // pattern's literal prefix, so most non-matching values are turned away by `startsWith`.
  const prefix = literalPrefix(src);
  return prefix === '' ? full : (v) => v.startsWith(prefix) && full(v);
}

const REGEX_META = new Set(['\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$']);

/**
 * The literal text every whole-string match of `src` starts with ('' when unsure): leading plain
 * characters (an optional `^` skipped, `\.`-style escapes of punctuation included), minus a last
 * character made optional by a quantifier; nothing when the pattern has a top-level `|`.
 */
export function literalPrefix(src: string): string {
  if (hasTopLevelAlternation(src)) return '';
  let i = src.startsWith('^') ? 1 : 0;
  let out = '';
  let lastLen = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '\\') {
      const n = src[i + 1];
      // Only escaped punctuation is a literal; \d, \w, \b, \pL... are classes or assertions.
      if (n === undefined || /[0-9A-Za-z]/.test(n)) break;
      out += n;
      lastLen = 1;
      i += 2;
      continue;
    }
    if (REGEX_META.has(c)) break;
    out += c;
    lastLen = c.length;
    i++;
  }
  const next = src[i];
  if (next === '*' || next === '?' || next === '{') out = out.slice(0, out.length - lastLen);
  return out;
}

function hasTopLevelAlternation(src: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
      if (src[i + 1] === '^') i++;
      if (src[i + 1] === ']') i++; // a leading ']' is a literal inside the class
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth--;
    } else if (c === '|' && depth === 0) {
      return true;
    }
  }
  return false;
}

/** Compiles a case-sensitive StringMatch (exact, prefix, whole-string RE2 regex). */
export function compileStringTest(m: StringMatch, where: string): StringTest {
  const kind = stringMatchKind(m, where);
  if (kind === 'exact') {
    const want = (m as { exact: string }).exact;
    return (v) => v === want;
  }
  if (kind === 'prefix') {
    const want = (m as { prefix: string }).prefix;
    return (v) => v.startsWith(want);
  }
  return compileRegexTest((m as { regex: string }).regex, `${where}.regex`);
}
