/** Option handling shared by the verbs that read configuration files (validate, analyze, apply). */
import { InvalidArgumentError } from 'commander';

export type OutputFormat = 'text' | 'json';

/** Files from positional arguments and every `-f`; at least one is required. */
export function collectFileArgs(positional: readonly string[] | undefined, flagged: readonly string[] | undefined): string[] {
  const paths = [...(flagged ?? []), ...(positional ?? [])];
  if (paths.length === 0) throw new InvalidArgumentError('no input: pass files or directories with -f FILE|DIR (or -f - for stdin)');
  return paths;
}

/** `text` (alias `log`, istioctl's name for it) or `json`. */
export function parseOutputFormat(value: string): OutputFormat {
  const v = value.toLowerCase();
  if (v === 'text' || v === 'log') return 'text';
  if (v === 'json') return 'json';
  throw new InvalidArgumentError(`unknown output format "${value}" (use text or json)`);
}
