/**
 * The external programs the benchmark uses (wrk, nginx, haproxy, taskset), found on PATH (and in
 * the sbin directories where distributions put daemons), and what to tell the user when one is
 * missing. Nothing is ever installed by the benchmark.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface Tools {
  wrk: string | null;
  nginx: string | null;
  haproxy: string | null;
  taskset: string | null;
  nice: string | null;
  /** Niceness every benchmark process runs at (`--nice`); 0 leaves it alone. */
  niceness: number;
}

/** Daemons live in sbin, which is often not on a normal user's PATH. */
const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

/** The full path of an executable `name` on `pathVar` (plus the sbin directories), or null. */
export function which(name: string, pathVar: string = process.env.PATH ?? ''): string | null {
  const dirs = [...pathVar.split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function findTools(niceness = 0): Tools {
  return { wrk: which('wrk'), nginx: which('nginx'), haproxy: which('haproxy'), taskset: which('taskset'), nice: which('nice'), niceness };
}

/** Lines explaining what is missing, what that skips, and how to install it (empty when all present). */
export function missingToolsReport(t: Tools): string[] {
  const lines: string[] = [];
  const missing = (['wrk', 'nginx', 'haproxy'] as const).filter((n) => t[n] === null);
  if (t.wrk === null) lines.push('wrk not found: it generates the load of every row, so nothing can be measured.');
  if (t.nginx === null) {
    lines.push('nginx not found: the nginx row is skipped and the backend is a Node raw-socket server instead of nginx (it saturates earlier; ratios to direct shrink).');
  }
  if (t.haproxy === null) lines.push('haproxy not found: the haproxy row is skipped.');
  if (t.taskset === null) lines.push('taskset not found: processes are not pinned to cores (install util-linux); figures get noisier.');
  if (missing.length > 0) {
    lines.push(`Install with: sudo apt-get install -y ${missing.join(' ')}   (Debian/Ubuntu; nginx-light also works; the benchmark itself never installs anything)`);
  }
  return lines;
}

/**
 * Prefixes a command so it runs on one CPU core (when taskset is available) and at the chosen
 * niceness (when one was asked for).
 */
export function pinned(t: Tools, core: number, command: string, args: readonly string[]): { command: string; args: string[] } {
  let cmd = { command, args: [...args] };
  if (t.taskset !== null) cmd = { command: t.taskset, args: ['-c', String(core), cmd.command, ...cmd.args] };
  if (t.niceness !== 0 && t.nice !== null) cmd = { command: t.nice, args: ['-n', String(t.niceness), cmd.command, ...cmd.args] };
  return cmd;
}
