/** Runs the real `skiff` executable (bin/skiff.js) as a child process, as a user would. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const skiffBin = fileURLToPath(new URL('../../../bin/skiff.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runSkiff(args: string[], opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [skiffBin, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A long-running `skiff` process (skiffd, a proxy) and what it has printed so far. */
export interface RunningSkiff {
  proc: ChildProcess;
  /** Its stdout and stderr so far, interleaved. */
  out: () => string;
  /** `stopProcess` of it. */
  stop: () => Promise<void>;
}

/** Starts `skiff args` and leaves it running, gathering its output. */
export function startSkiff(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): RunningSkiff {
  const proc = spawn(process.execPath, [skiffBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...opts.env } });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { proc, out: () => out, stop: () => stopProcess(proc) };
}

/**
 * Ends a child process and resolves once it has exited: `signal` (SIGTERM, so it drains as it
 * would under a kubelet), then SIGKILL after `graceMs`. One that has exited, or never
 * started, is left be.
 */
export async function stopProcess(proc: ChildProcess, { signal = 'SIGTERM', graceMs = 5000 }: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<void> {
  // Never started (spawn failed), or gone already: nothing to wait for.
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill(signal);
  const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
