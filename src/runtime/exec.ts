/**
 * Runs a command "inside" a pod of the local runtime: with the pod's exec environment (its
 * container env, HOSTNAME, and its sidecar's outbound listener as HTTP_PROXY), the image's
 * tools mapped to their local stand-ins, stdio passed through and the exit status returned.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { baseEnvironment } from './plans.js';
import { alive } from './process.js';
import type { PodRecord } from './state-file.js';

/** The argv for `command` in `pod`: a tool of its image runs as the program the image map names. */
export function execArgv(pod: Pick<PodRecord, 'tools'>, command: readonly string[]): string[] {
  const [program, ...rest] = command;
  const tool = program === undefined ? undefined : pod.tools[program];
  return tool !== undefined ? [...tool, ...rest] : [...command];
}

/** Runs `command` as if in `pod`; resolves with its exit status (128 + signal when killed, 127 when not found). */
export function execCommand(pod: PodRecord, command: readonly string[], warn: (line: string) => void): Promise<number> {
  if (command.length === 0) return Promise.reject(new Error('no command given (skiff exec WORKLOAD -- COMMAND ...)'));
  if (pod.ports.outbound !== undefined && (pod.pids.proxy === undefined || !alive(pod.pids.proxy))) {
    warn(`the sidecar of ${pod.name} is not running: requests through it will fail`);
  }
  const argv = execArgv(pod, command);
  const env = { ...baseEnvironment(process.env), ...pod.execEnv };
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: 'inherit' });
    // Ctrl-C reaches the child through the terminal; this process waits for it rather than dying first.
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    const ignoreInt = (): void => undefined;
    process.on('SIGINT', ignoreInt);
    process.on('SIGTERM', forward);
    process.on('SIGHUP', forward);
    let finished = false;
    const done = (status: number): void => {
      if (finished) return;
      finished = true;
      process.removeListener('SIGINT', ignoreInt);
      process.removeListener('SIGTERM', forward);
      process.removeListener('SIGHUP', forward);
      resolve(status);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      const tools = Object.keys(pod.tools);
      const known = tools.length > 0 ? ` (tools of ${pod.image ?? 'this image'}: ${tools.join(', ')})` : '';
      warn(err.code === 'ENOENT' ? `${command[0]}: command not found${known}` : `cannot run ${command[0]}: ${err.message}`);
      done(err.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => done(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
  });
}
