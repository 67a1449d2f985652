/**
 * Applying the capture rules: one `iptables-restore --noflush` run with the whole `nat` section,
 * so the rules go in together or not at all and the table's other chains stay as they were. A
 * failure names the program (missing from PATH) or the rule iptables-restore refused (its line
 * number mapped back to the rule's text).
 */
import { spawn } from 'node:child_process';

/** What running iptables-restore came to, as an error whose message a user can act on. */
export class IptablesApplyError extends Error {
  override name = 'IptablesApplyError';
}

export interface ApplyOptions {
  /** The program run (default `iptables-restore`, looked up on PATH). */
  program?: string;
}

/** Runs iptables-restore with `text` on stdin; resolves when it exits 0. */
export function applyRestoreText(text: string, opts: ApplyOptions = {}): Promise<void> {
  const program = opts.program ?? 'iptables-restore';
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['--noflush'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        reject(new IptablesApplyError(`${program} not found on PATH: the capture rules need Debian's iptables (apt-get install -y iptables)`));
      } else {
        reject(new IptablesApplyError(`${program} could not be run: ${err.message}`));
      }
    });
    // A program that exits before reading its input closes the pipe: its exit status says why.
    child.stdin.on('error', () => undefined);
    child.on('close', (code, signal) => {
      if (code === 0) {
        resolve();
        return;
      }
      reject(new IptablesApplyError(failureMessage(program, text, stderr, code, signal)));
    });
    child.stdin.end(text);
  });
}

/** The refused rule when iptables-restore names its line, and what it said. */
export function failureMessage(program: string, text: string, stderr: string, code: number | null, signal: NodeJS.Signals | null): string {
  const said = stderr.trim();
  const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code ?? '?'}`;
  const line = /line:?\s*(\d+)/i.exec(said);
  if (line !== null) {
    const rule = text.split('\n')[Number(line[1]) - 1];
    if (rule !== undefined) return `${program} ${how}: the rule "${rule}" (line ${line[1]}) failed: ${said}`;
  }
  return `${program} ${how}${said === '' ? '' : `: ${said}`}`;
}
