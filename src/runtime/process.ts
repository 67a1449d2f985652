/**
 * One supervised OS process: spawned in its own process group with its output appended to a
 * log file (so it keeps running and logging if the runtime's host dies), or adopted by pid from
 * an earlier runtime; stopped group-wide with SIGTERM, then SIGKILL after a grace period.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (ENOENT, EACCES). */
  error?: string;
}

export interface SpawnSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
}

/** True while a process exists and has not exited (a zombie awaiting its reaper counts as exited). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An orphan's exit is reaped by init whenever init gets to it; /proc tells it has exited already.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone: nothing left to signal.
  }
}

export class ManagedProcess {
  readonly exited: Promise<ExitInfo>;
  private done = false;
  private poll: NodeJS.Timeout | undefined;

  private constructor(
    readonly pid: number | undefined,
    exited: Promise<ExitInfo>,
  ) {
    this.exited = exited.then((info) => {
      this.done = true;
      if (this.poll) clearInterval(this.poll);
      // Whatever the leader left behind in its group goes with it.
      if (this.pid !== undefined) signalGroup(this.pid, 'SIGKILL');
      return info;
    });
  }

  get running(): boolean {
    return !this.done;
  }

  /** Starts `spec.argv` in a new process group, stdout and stderr appended to `spec.logFile`. */
  static spawn(spec: SpawnSpec): ManagedProcess {
    mkdirSync(dirname(spec.logFile), { recursive: true });
    const fd = openSync(spec.logFile, 'a');
    try {
      const [file, ...args] = spec.argv;
      const child = spawn(file, args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', fd, fd], detached: true });
      const exited = new Promise<ExitInfo>((resolve) => {
        child.once('error', (err) => resolve({ code: null, signal: null, error: `cannot start ${file}: ${err.message}` }));
        child.once('exit', (code, signal) => resolve({ code, signal }));
      });
      return new ManagedProcess(child.pid, exited);
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(fd);
    }
  }

  /**
   * Watches a process this runtime did not start (it cannot see its exit status). Polled often:
   * until its exit is seen, its replica stays in the endpoints and requests sent to it fail (a
   * signal-0 probe costs one system call).
   */
  static adopt(pid: number, pollMs = 50): ManagedProcess {
    let timer: NodeJS.Timeout | undefined;
    const exited = new Promise<ExitInfo>((resolve) => {
      timer = setInterval(() => {
        if (!alive(pid)) resolve({ code: null, signal: null, error: 'exited while adopted (status unknown)' });
      }, pollMs);
    });
    const p = new ManagedProcess(pid, exited);
    p.poll = timer;
    return p;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.pid !== undefined && this.running) signalGroup(this.pid, signal);
  }

  /** SIGTERM to the group, SIGKILL after `graceMs` (at once when 0); resolves on exit. */
  async terminate(graceMs: number): Promise<ExitInfo> {
    if (!this.running) return this.exited;
    this.signal(graceMs <= 0 ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), Math.max(graceMs, 0));
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
