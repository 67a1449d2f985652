/**
 * Go-style flag parsing for the fortio-compatible client: `-c 2`, `-c=2`, `--c 2`, boolean
 * flags without a value (`-quiet`), repeatable `-H`, and positional arguments after the flags.
 */

export class FlagError extends Error {}

export interface FlagSpec {
  /** Flags that take a value. */
  values: readonly string[];
  /** Flags that are true when present (or `-flag=false`). */
  booleans: readonly string[];
  /** Value flags that may be given more than once. */
  repeatable?: readonly string[];
}

export interface ParsedFlags {
  values: Map<string, string[]>;
  booleans: Map<string, boolean>;
  positional: string[];
}

export function parseFlags(argv: readonly string[], spec: FlagSpec): ParsedFlags {
  const out: ParsedFlags = { values: new Map(), booleans: new Map(), positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-') || arg === '-') {
      out.positional.push(...argv.slice(i));
      break;
    }
    if (arg === '--') {
      out.positional.push(...argv.slice(i + 1));
      break;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (spec.booleans.includes(name)) {
      if (inline !== undefined && !/^(true|false|1|0)$/i.test(inline)) throw new FlagError(`invalid boolean value "${inline}" for -${name}`);
      out.booleans.set(name, inline === undefined || /^(true|1)$/i.test(inline));
    } else if (spec.values.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new FlagError(`flag needs an argument: -${name}`);
      const list = spec.repeatable?.includes(name) ? (out.values.get(name) ?? []) : [];
      out.values.set(name, [...list, value]);
    } else {
      throw new FlagError(`flag provided but not defined: -${name}`);
    }
  }
  return out;
}

export function numberFlag(flags: ParsedFlags, name: string, fallback: number): number {
  const raw = flags.values.get(name)?.[0];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new FlagError(`invalid value "${raw}" for flag -${name}: not a number`);
  return value;
}
