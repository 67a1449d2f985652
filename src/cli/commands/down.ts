/**
 * `skiff down`: stops the skiffd of the state directory (started with `skiff up --detach`, or in
 * another terminal) through its API and waits until its process has exited — its workloads and
 * proxies stop with it.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { withStateDir } from '../state-dir-option.js';

interface DownOptions {
  stateDir?: string;
  timeout: number;
}

function seconds(value: string): number {
  const n = Number(value.replace(/s$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`not a number of seconds: ${value}`);
  return n;
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('down')
      .description('Stop skiffd and everything it runs (started with skiff up)')
      .option('--timeout <seconds>', 'how long to wait for a clean stop before terminating it', seconds, 60),
  ).action(async (opts: DownOptions) => {
    const { resolveStateDir } = await import('../../config/state-dir.js');
    const { apiRequest, isAlive, readSkiffdInfo } = await import('../skiffd-client.js');
    const stateDir = resolveStateDir(opts.stateDir);
    const info = await readSkiffdInfo(stateDir);
    if (info === undefined) {
      const stopped = await stopLeftovers(stateDir, isAlive);
      if (stopped > 0) process.stdout.write(`stopped ${stopped} ${stopped === 1 ? 'process' : 'processes'} left running by a skiffd that ended abruptly\n`);
      else process.stderr.write(`skiffd is not running for ${stateDir}; nothing to stop\n`);
      return;
    }
    try {
      await apiRequest(info, 'POST', '/api/v1/shutdown');
    } catch (err) {
      // An API that no longer answers: a signal asks the same thing.
      process.stderr.write(`skiffd's API did not answer (${err instanceof Error ? err.message : String(err)}); sending SIGTERM\n`);
      process.kill(info.pid, 'SIGTERM');
    }
    const exited = async (ms: number): Promise<boolean> => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if (!isAlive(info.pid)) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return !isAlive(info.pid);
    };
    if (await exited(opts.timeout * 1000)) {
      process.stdout.write(`skiffd stopped (pid ${info.pid})\n`);
      return;
    }
    process.stderr.write(`skiffd (pid ${info.pid}) did not stop within ${opts.timeout}s; sending SIGTERM\n`);
    process.kill(info.pid, 'SIGTERM');
    if (await exited(10_000)) {
      process.stdout.write(`skiffd stopped (pid ${info.pid})\n`);
      return;
    }
    process.stderr.write(`skiffd (pid ${info.pid}) is still running\n`);
    process.exitCode = 1;
  });
}

/**
 * A skiffd that was killed (SIGKILL, a crash) leaves its workloads running, listed in the
 * runtime's pod table; they are stopped here (SIGTERM, then SIGKILL after 10 s). Returns how many.
 */
async function stopLeftovers(stateDir: string, isAlive: (pid: number) => boolean): Promise<number> {
  const { readPodsFile } = await import('../../runtime/state-file.js');
  const table = readPodsFile(stateDir);
  // A live host still owns its pods (a runtime hosted elsewhere than skiffd); leave them alone.
  if (table === undefined || isAlive(table.pid)) return 0;
  const pids = table.pods.flatMap((p) => [p.pids.app, p.pids.proxy]).filter((p): p is number => p !== undefined && isAlive(p));
  for (const pid of pids) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids.filter(isAlive)) process.kill(pid, 'SIGKILL');
  return pids.length;
}
