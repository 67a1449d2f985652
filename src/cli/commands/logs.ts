/**
 * `skiff logs NAME [-n NS] [-f] [--proxy] [--tail N]`: prints a pod's app output (or its sidecar's)
 * from the runtime's log files, by pod or Deployment name like kubectl logs; -f follows it.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { withStateDir } from '../state-dir-option.js';

interface LogsOptions {
  namespace: string;
  follow?: boolean;
  proxy?: boolean;
  tail?: number;
  stateDir?: string;
}

function lineCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < -1) throw new InvalidArgumentError(`must be a whole number of lines (-1 for all): ${value}`);
  return n;
}

/** The last `n` lines of `text` (all when n < 0). */
export function lastLines(text: string, n: number): string {
  if (n < 0 || text === '') return text;
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  const kept = n === 0 ? [] : lines.slice(-n);
  return kept.length === 0 ? '' : `${kept.join('\n')}\n`;
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('logs')
      .description("Print a pod's output (by pod or Deployment name, like kubectl logs); --proxy for its sidecar")
      .argument('<name>', 'pod name, Deployment name, deploy/NAME or pod/NAME')
      .option('-n, --namespace <namespace>', 'namespace', 'default')
      .option('-f, --follow', 'keep printing what is appended')
      .option('--proxy', "the sidecar's log instead of the app's (same as -c istio-proxy)")
      .option('-c, --container <name>', 'istio-proxy for the sidecar; any other name means the app')
      .option('--tail <lines>', 'only the last lines (-1: all)', lineCount, -1),
  ).action(async (name: string, opts: LogsOptions & { container?: string }) => {
    const { readFile } = await import('node:fs/promises');
    const { existsSync } = await import('node:fs');
    const { resolveStateDir } = await import('../../config/state-dir.js');
    const { findLeftLog, findPod, parsePodRef, podNames } = await import('../../runtime/pod-lookup.js');
    const stateDir = resolveStateDir(opts.stateDir);
    const ref = parsePodRef(name);
    const container = opts.proxy === true || opts.container === 'istio-proxy' ? 'proxy' : 'app';
    const pod = findPod(stateDir, ref, opts.namespace);
    const file = pod !== undefined ? pod.logs[container] : findLeftLog(stateDir, ref, opts.namespace, container);
    if (file === undefined || !existsSync(file)) {
      const running = podNames(stateDir, opts.namespace);
      const hint = running.length > 0 ? ` (pods in ${opts.namespace}: ${running.join(', ')})` : ` (no pods run in namespace ${opts.namespace}; state dir ${stateDir})`;
      throw new Error(`${pod !== undefined ? `pod ${pod.name} has no ${container} log yet` : `no pod or deployment "${name}" in namespace ${opts.namespace}`}${hint}`);
    }
    const text = await readFile(file, 'utf8');
    process.stdout.write(lastLines(text, opts.tail ?? -1));
    if (opts.follow !== true) return;
    const { followLog } = await import('../../runtime/log-follow.js');
    const follower = followLog(file, (line) => process.stdout.write(`${line}\n`), { fromOffset: Buffer.byteLength(text), keepAlive: true });
    await new Promise<void>((resolve) => {
      const stop = (): void => void follower.stop().then(resolve);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      // Following ends with the reader: a closed pipe (`skiff logs -f | head`) stops it too.
      process.stdout.once('error', stop);
    });
  });
}
