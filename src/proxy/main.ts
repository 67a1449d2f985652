/**
 * Runs the proxy as a process: loads the snapshot file, applies it, reloads it on SIGHUP
 * (a bad file is refused and the running config kept), drains on SIGTERM/SIGINT, and with
 * `concurrency` > 1 runs that many worker processes sharing the listeners (node:cluster).
 */
import cluster from 'node:cluster';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { SkiffProxy } from './proxy.js';
import { SnapshotError } from './snapshot.js';

export interface RunProxyOptions {
  snapshotFile: string;
  adminPort: number;
  adminAddress: string;
  healthPort: number;
  healthAddress: string;
  /** Worker processes; 1 runs in this process. */
  concurrency: number;
  drainMs: number;
  log: (line: string) => void;
}

/** Reads a snapshot file (JSON, or YAML for .yaml/.yml). Errors name the file. */
export async function readSnapshotFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read snapshot ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return /\.ya?ml$/i.test(file) ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (err) {
    throw new Error(`snapshot ${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Starts the proxy (or its workers) and resolves once it has shut down. */
export async function runProxy(opts: RunProxyOptions): Promise<void> {
  if (opts.concurrency > 1 && cluster.isPrimary) {
    await runPrimary(opts);
    return;
  }
  // A fault in one request's path must not take every connection of the process down with it.
  process.on('uncaughtException', (err) => opts.log(`internal error (serving on): ${err.stack ?? String(err)}`));
  // Among workers only the first serves admin and health, so those ports stay single.
  const first = cluster.isPrimary || cluster.worker?.id === 1;
  const proxy = await SkiffProxy.create({
    adminPort: first ? opts.adminPort : null,
    adminAddress: opts.adminAddress,
    healthPort: first ? opts.healthPort : null,
    healthAddress: opts.healthAddress,
    drainTimeoutMs: opts.drainMs,
  });
  const tag = cluster.isWorker ? `[worker ${cluster.worker!.id}] ` : '';
  const load = async (): Promise<boolean> => {
    try {
      const report = await proxy.applySnapshot(await readSnapshotFile(opts.snapshotFile));
      const where = proxy
        .listenerList()
        .map((l) => `${l.name}=${l.address().address}:${l.address().port}`)
        .join(' ');
      opts.log(`${tag}snapshot ${report.version} applied; listeners: ${where || 'none'}`);
      return true;
    } catch (err) {
      const why = err instanceof SnapshotError ? `snapshot rejected: ${err.message}` : err instanceof Error ? err.message : String(err);
      opts.log(`${tag}${why}`);
      return false;
    }
  };
  if (!(await load())) {
    await proxy.close();
    throw new Error('no valid snapshot to start with');
  }
  if (first) {
    const admin = proxy.adminAddress();
    const health = proxy.healthAddress();
    if (admin !== null) opts.log(`${tag}admin on ${admin.address}:${admin.port}`);
    if (health !== null) opts.log(`${tag}health on ${health.address}:${health.port}`);
  }
  await new Promise<void>((resolve) => {
    const onHup = (): void => void load();
    const onStop = (): void => {
      process.removeListener('SIGHUP', onHup);
      opts.log(`${tag}draining`);
      void proxy.close(opts.drainMs).then(resolve);
    };
    process.on('SIGHUP', onHup);
    process.once('SIGTERM', onStop);
    process.once('SIGINT', onStop);
  });
  // A worker's channel to the primary would keep it alive.
  cluster.worker?.disconnect();
}

async function runPrimary(opts: RunProxyOptions): Promise<void> {
  for (let i = 0; i < opts.concurrency; i++) cluster.fork();
  let stopping = false;
  cluster.on('exit', (worker, code) => {
    if (stopping) return;
    opts.log(`worker ${worker.id} exited (${code}); starting another`);
    cluster.fork();
  });
  await new Promise<void>((resolve) => {
    process.on('SIGHUP', () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP');
    });
    const stop = (): void => {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
      let left = workers.length;
      if (left === 0) resolve();
      for (const w of workers) {
        w.once('exit', () => --left === 0 && resolve());
        w.process.kill('SIGTERM');
      }
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
