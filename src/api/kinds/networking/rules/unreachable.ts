/**
 * Warnings Istio attaches to VirtualServices whose rules can never be reached: a catch-all rule
 * before the last one, or matches identical to an earlier rule's (IST0130, IST0131).
 */
import type { VirtualServiceSpec } from '../virtual-service.js';
import type { Findings, Path } from './findings.js';

interface RuleLike {
  name?: string;
  match?: ReadonlyArray<Record<string, unknown>>;
}

/** A stable serialisation of a match, without its name (names do not affect routing). */
function matchKey(match: Record<string, unknown>): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'name').sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sorted(x)]));
    }
    return v;
  };
  return JSON.stringify(sorted(match));
}

function ruleName(rule: RuleLike, index: number): string {
  return rule.name !== undefined && rule.name !== '' ? `"${rule.name}"` : `#${index}`;
}

function matchName(match: Record<string, unknown>, index: number): string {
  return typeof match.name === 'string' && match.name !== '' ? `"${match.name}"` : `#${index}`;
}

function analyze(rules: readonly RuleLike[], path: Path, f: Findings): void {
  const seen = new Map<string, number>();
  let catchAll = -1;
  rules.forEach((rule, i) => {
    const matches = rule.match ?? [];
    if (matches.length === 0) {
      if (catchAll >= 0) {
        f.warn([...path, i], `virtualService rule ${ruleName(rule, i)} not used (only the last rule can have no matches)`, 'IST0130');
      }
      catchAll = i;
      return;
    }
    let duplicates = 0;
    matches.forEach((m, j) => {
      const key = matchKey(m);
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        const dup = rules[earlier] ?? {};
        f.warn([...path, i, 'match', j],
          `virtualService rule ${ruleName(rule, i)} match ${matchName(m, j)} is not used (duplicate/overlapping match in rule ${ruleName(dup, earlier)})`,
          'IST0131');
        duplicates++;
      } else {
        seen.set(key, i);
      }
    });
    if (duplicates === matches.length) {
      f.warn([...path, i], `virtualService rule ${ruleName(rule, i)} not used (all matches used by prior rules)`, 'IST0130');
    }
  });
}

export function checkUnreachableRules(spec: VirtualServiceSpec, f: Findings): void {
  analyze(spec.http ?? [], ['spec', 'http'], f);
  // TCP and TLS rules have no names; the helper falls back to their index.
  analyze((spec.tcp ?? []).map((t) => ({ match: t.match })), ['spec', 'tcp'], f);
  analyze((spec.tls ?? []).map((t) => ({ match: t.match })), ['spec', 'tls'], f);
}
