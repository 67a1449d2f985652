/**
 * `skiff logs NAME [-n NS] [-f] [--proxy] [--tail N]`: prints a pod's app output (or its sidecar's)
 * from the runtime's log files, by pod or Deployment name like kubectl logs; -f follows it.
 * `-l SELECTOR` takes every pod whose labels match instead (the last 10 lines of each unless
 * --tail says otherwise, as kubectl does), `--prefix` names the pod and container on each line.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { withStateDir } from '../state-dir-option.js';

interface LogsOptions {
  namespace: string;
  follow?: boolean;
  proxy?: boolean;
  tail?: number;
  selector?: string;
  prefix?: boolean;
  stateDir?: string;
}

/** kubectl's default --tail with a selector. */
const SELECTOR_TAIL = 10;

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
      .argument('[name]', 'pod name, Deployment name, deploy/NAME or pod/NAME (or -l SELECTOR)')
      .option('-n, --namespace <namespace>', 'namespace', 'default')
      .option('-f, --follow', 'keep printing what is appended')
      .option('--proxy', "the sidecar's log instead of the app's (same as -c istio-proxy)")
      .option('-c, --container <name>', 'istio-proxy for the sidecar; any other name means the app')
      .option('--tail <lines>', 'only the last lines (-1: all; default 10 with -l)', lineCount)
      .option('-l, --selector <selector>', 'every pod whose labels match (key=value, key!=value, key in (a,b)...)')
      .option('--prefix', 'begin each line with the pod and container it comes from'),
  ).action(async (name: string | undefined, opts: LogsOptions & { container?: string }) => {
    const { readFile } = await import('node:fs/promises');
    const { existsSync } = await import('node:fs');
    const { resolveStateDir } = await import('../../config/state-dir.js');
    const { findLeftLog, findPod, parsePodRef, podNames } = await import('../../runtime/pod-lookup.js');
    const stateDir = resolveStateDir(opts.stateDir);
    const container = opts.proxy === true || opts.container === 'istio-proxy' ? 'proxy' : 'app';
    const containerName = container === 'proxy' ? 'istio-proxy' : (opts.container ?? 'app');
    let sources: { pod: string; file: string }[];
    if (opts.selector !== undefined) {
      if (name !== undefined) throw new InvalidArgumentError('give either NAME or -l SELECTOR, not both');
      const { parseSelector } = await import('../label-selector.js');
      const { readPodsFile } = await import('../../runtime/state-file.js');
      let selector;
      try {
        selector = parseSelector(opts.selector);
      } catch (err) {
        throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
      }
      const pods = (readPodsFile(stateDir)?.pods ?? []).filter((p) => p.namespace === opts.namespace && p.status !== 'Terminating' && selector(p.labels));
      sources = pods.map((p) => ({ pod: p.name, file: p.logs[container] })).filter((s) => existsSync(s.file));
      if (sources.length === 0) {
        process.stderr.write(`No resources found in ${opts.namespace} namespace.\n`);
        return;
      }
    } else {
      if (name === undefined) throw new InvalidArgumentError('name a pod or Deployment, or select pods with -l SELECTOR');
      const ref = parsePodRef(name);
      const pod = findPod(stateDir, ref, opts.namespace);
      const file = pod !== undefined ? pod.logs[container] : findLeftLog(stateDir, ref, opts.namespace, container);
      if (file === undefined || !existsSync(file)) {
        const running = podNames(stateDir, opts.namespace);
        const hint = running.length > 0 ? ` (pods in ${opts.namespace}: ${running.join(', ')})` : ` (no pods run in namespace ${opts.namespace}; state dir ${stateDir})`;
        throw new Error(`${pod !== undefined ? `pod ${pod.name} has no ${container} log yet` : `no pod or deployment "${name}" in namespace ${opts.namespace}`}${hint}`);
      }
      sources = [{ pod: pod?.name ?? ref.name, file }];
    }
    const tail = opts.tail ?? (opts.selector !== undefined ? SELECTOR_TAIL : -1);
    const prefixOf = (pod: string): string => (opts.prefix === true ? `[pod/${pod}/${containerName}] ` : '');
    const offsets: number[] = [];
    for (const s of sources) {
      const text = await readFile(s.file, 'utf8');
      offsets.push(Buffer.byteLength(text));
      const prefix = prefixOf(s.pod);
      const shown = lastLines(text, tail);
      process.stdout.write(prefix === '' ? shown : shown.replace(/^(?=.)/gm, prefix));
    }
    if (opts.follow !== true) return;
    const { followLog } = await import('../../runtime/log-follow.js');
    const followers = sources.map((s, i) => followLog(s.file, (line) => process.stdout.write(`${prefixOf(s.pod)}${line}\n`), { fromOffset: offsets[i], keepAlive: true }));
    await new Promise<void>((resolve) => {
      const stop = (): void => void Promise.all(followers.map((f) => f.stop())).then(() => resolve());
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      // Following ends with the reader: a closed pipe (`skiff logs -f | head`) stops it too.
      process.stdout.once('error', stop);
    });
  });
}
