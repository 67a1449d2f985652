/**
 * Regular expressions with RE2 semantics (as Istio and Envoy use them), compiled once into
 * full-string matchers; JavaScript's own RegExp differs (lookaround, backreferences, `\Z`...).
 */
import { RE2JS } from 're2js';

export type CompiledRegex =
  | { ok: true; matcher: (s: string) => boolean }
  | { ok: false; error: string };

/**
 * Compiles `src` under RE2. The matcher tests the WHOLE string, as Envoy's `safe_regex` does
 * (`a.c` matches `abc`, not `xabcx`). On failure `error` is RE2's message, e.g.
 * "error parsing regexp: invalid or unsupported Perl syntax: `(?=`".
 */
export function compileRegex(src: string): CompiledRegex {
  try {
    const re = RE2JS.compile(src);
    return { ok: true, matcher: (s: string) => re.matches(s) };
  } catch (err: unknown) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
