/**
 * Rules of a VirtualService are tried in order and the first match wins, so a rule after a
 * catch-all (a rule without matches, or one matching every request such as `prefix: /`) can
 * never apply (IST0130), nor can a match whose URI prefix an earlier match with the same other
 * conditions already covers (IST0131). Validation reports the simpler cases Istio's webhook
 * warns about (repeated matches, two rules without matches) with the same codes.
 */
import type { LoadedResource } from '../../config/finding.js';
import type { AnalysisContext, Analyzer } from '../context.js';
import { NETWORKING } from '../context.js';
import { MessageTypes, text } from '../messages.js';
import { vsSpec } from './vs-util.js';

interface RuleView {
  name?: string;
  match?: ReadonlyArray<Record<string, unknown>>;
}

export const vsUnreachableRules: Analyzer = {
  name: 'virtualservice.UnreachableRulesAnalyzer',
  description: 'Checks for VirtualService rules and matches that can never apply',
  analyze(ctx) {
    for (const lr of ctx.all(NETWORKING, 'VirtualService')) {
      const spec = vsSpec(lr);
      analyzeRules(ctx, lr, 'http', (spec.http ?? []));
      analyzeRules(ctx, lr, 'tcp', (spec.tcp ?? []));
      analyzeRules(ctx, lr, 'tls', (spec.tls ?? []));
    }
  },
};

interface PrefixMatch {
  rule: number;
  match: number;
  ruleName: string;
  matchName: string;
  prefix: string;
  /** Every condition but the URI, canonically encoded: prefixes only cover each other when these are equal. */
  rest: string;
}

function analyzeRules(ctx: AnalysisContext, lr: LoadedResource, proto: 'http' | 'tcp' | 'tls', rules: readonly RuleView[]): void {
  const seen = new Set<string>();
  const prefixes: PrefixMatch[] = [];
  let catchAll: { rule: number; explicit: boolean } | undefined;
  rules.forEach((rule, i) => {
    const matches = rule.match ?? [];
    const ruleName = routeName(rule, i);
    if (catchAll !== undefined) {
      // Validation already reports a rule without matches after another one (IST0130).
      if (matches.length === 0 && !catchAll.explicit) return;
      const reason = catchAll.explicit
        ? `rule ${routeName(rules[catchAll.rule] ?? {}, catchAll.rule)} before it matches every request`
        : 'route without matches defined before';
      ctx.report(MessageTypes.VirtualServiceUnreachableRule, lr, text.unreachableRule(ruleName, reason), ['spec', proto, i]);
      return;
    }
    if (matches.length === 0) {
      catchAll = { rule: i, explicit: false };
      return;
    }
    matches.forEach((match, j) => {
      // Exact repeats of an earlier match are reported by validation (IST0131); only prefixes are left.
      const key = canonical(withoutName(match));
      if (seen.has(key)) return;
      seen.add(key);
      const prefix = uriPrefix(match);
      if (prefix !== undefined) {
        const { uri: _uri, ...others } = withoutName(match);
        prefixes.push({ rule: i, match: j, ruleName, matchName: matchName(match, j), prefix, rest: canonical(others) });
      }
    });
    if (matches.some(matchesEverything)) catchAll = { rule: i, explicit: true };
  });
  reportCoveredPrefixes(ctx, lr, proto, prefixes);
}

/** A later match whose URI prefix extends an earlier one's, with the same other conditions, is never reached. */
function reportCoveredPrefixes(
  ctx: AnalysisContext,
  lr: LoadedResource,
  proto: string,
  prefixes: readonly PrefixMatch[],
): void {
  prefixes.forEach((earlier, a) => {
    for (const later of prefixes.slice(a + 1)) {
      if (later.prefix === earlier.prefix || !later.prefix.startsWith(earlier.prefix) || later.rest !== earlier.rest) continue;
      ctx.report(
        MessageTypes.VirtualServiceIneffectiveMatch,
        lr,
        text.ineffectiveMatch(later.ruleName, `${later.matchName} of prefix ${later.prefix}`, `${earlier.matchName} of prefix ${earlier.prefix} on ${earlier.ruleName}`),
        ['spec', proto, later.rule, 'match', later.match],
      );
    }
  });
}

/** A match with no condition at all, or only `uri: {prefix: /}`, selects every request. */
function matchesEverything(match: Record<string, unknown>): boolean {
  const { uri, ...others } = withoutName(match);
  if (Object.keys(others).length > 0) return false;
  return uri === undefined || uriPrefix({ uri }) === '/';
}

function uriPrefix(match: Record<string, unknown>): string | undefined {
  const uri = match.uri;
  if (typeof uri !== 'object' || uri === null) return undefined;
  const prefix = (uri as Record<string, unknown>).prefix;
  return typeof prefix === 'string' ? prefix : undefined;
}

function withoutName(match: Record<string, unknown>): Record<string, unknown> {
  const { name: _name, ...rest } = match;
  return rest;
}

/** JSON with object keys sorted, so equal conditions written in a different order compare equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Istio names rules `"name"` when named, else `#index`. */
function routeName(rule: RuleView, i: number): string {
  return rule.name ? JSON.stringify(rule.name) : `#${i}`;
}

function matchName(match: Record<string, unknown>, j: number): string {
  return typeof match.name === 'string' && match.name !== '' ? JSON.stringify(match.name) : `#${j}`;
}
