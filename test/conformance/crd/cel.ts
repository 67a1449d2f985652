/**
 * Evaluates the `x-kubernetes-validations` CEL rules of Istio's CRDs the way the API server does:
 * `self` is the field's value (integers as CEL ints), a false result or a runtime error rejects
 * the object. A rule this evaluator cannot compile or run is reported as undecided, never passed.
 */
import { Environment } from '@marcbachmann/cel-js';

/** Outcome of one rule on one value. */
export type RuleOutcome = { kind: 'pass' } | { kind: 'fail'; reason: string } | { kind: 'undecided'; reason: string };

/** A parsed URL as Kubernetes' CEL `url()` library exposes it (only what Istio's rules use). */
class KubeURL {
  constructor(readonly scheme: string) {}
}

/**
 * Kubernetes' `url(string)`: Go's `url.ParseRequestURI`, which takes an absolute URI or an
 * absolute path, and errors otherwise.
 */
function parseRequestURI(s: string): KubeURL {
  if (s.startsWith('/')) return new KubeURL('');
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(s);
  if (!m || !URL.canParse(s)) throw new Error(`URL parse error during conversion from string: ${s}`);
  return new KubeURL(m[1].toLowerCase());
}

const env = new Environment({ unlistedVariablesAreDyn: true })
  .registerType('URL', KubeURL)
  .registerFunction('url(string): URL', parseRequestURI)
  .registerFunction('isURL(string): bool', (s: string) => {
    try {
      parseRequestURI(s);
      return true;
    } catch {
      return false;
    }
  })
  .registerFunction('URL.getScheme(): string', (u: KubeURL) => u.scheme);

type Program = (ctx: Record<string, unknown>) => unknown;
const compiled = new Map<string, Program | { error: string }>();

/** Compiles (once) and type-checks a rule; an error string when this evaluator cannot run it. */
export function compileRule(rule: string): Program | { error: string } {
  let p = compiled.get(rule);
  if (!p) {
    try {
      const parsed = env.parse(rule);
      const check = parsed.check();
      p = check.valid ? (ctx: Record<string, unknown>) => parsed(ctx) as unknown : { error: String(check.error?.message) };
    } catch (e) {
      p = { error: e instanceof Error ? e.message : String(e) };
    }
    compiled.set(rule, p);
  }
  return p;
}

/**
 * Errors that say this evaluator lacks something (an overload, a function), as opposed to
 * errors the API server would also raise on this data (a malformed duration, a missing key).
 */
const evaluatorGap = /no (matching|such) overload|unknown function|not (yet )?supported|unsupported/i;

export function evaluateRule(rule: string, self: unknown): RuleOutcome {
  const program = compileRule(rule);
  if (typeof program !== 'function') return { kind: 'undecided', reason: `cannot compile CEL rule: ${program.error.split('\n')[0]}` };
  try {
    const result = program({ self });
    if (result === true) return { kind: 'pass' };
    if (result === false) return { kind: 'fail', reason: 'rule evaluated to false' };
    return { kind: 'undecided', reason: `rule returned a non-boolean: ${String(result)}` };
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    if (evaluatorGap.test(msg)) return { kind: 'undecided', reason: `CEL evaluator cannot run rule: ${msg}` };
    return { kind: 'fail', reason: `evaluation error: ${msg}` };
  }
}
