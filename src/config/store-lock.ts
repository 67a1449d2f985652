/**
 * One writer per state directory: a lock file (`<state-dir>/store.lock`, created exclusively,
 * holding the owner's pid) taken by skiffd for its lifetime and by a CLI verb for the duration of
 * one change. A lock whose owner has died is taken over.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export const LOCK_FILE = 'store.lock';

/** Releases the lock (idempotent). */
export type ReleaseLock = () => Promise<void>;

export interface LockOptions {
  /** How long to wait for a live owner to let go before giving up (default 5 s). */
  waitMs?: number;
}

/** Takes the state directory's lock, waiting for a live owner up to `waitMs`. */
export async function acquireStoreLock(stateDir: string, opts: LockOptions = {}): Promise<ReleaseLock> {
  await mkdir(stateDir, { recursive: true });
  const file = join(stateDir, LOCK_FILE);
  const deadline = Date.now() + (opts.waitMs ?? 5000);
  for (;;) {
    try {
      const handle = await open(file, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await unlink(file).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await lockOwner(file);
    if (owner === undefined || !alive(owner)) {
      // The owner died without cleaning up (or is still writing its pid: retry shortly).
      // An empty lock file past the deadline belongs to a writer that died before writing its pid.
      if (owner !== undefined || Date.now() >= deadline) await unlink(file).catch(() => undefined);
      else await sleep(20);
      continue;
    }
    if (owner === process.pid) throw new Error(`the state directory ${stateDir} is already locked by this process`);
    if (Date.now() >= deadline) {
      throw new Error(`the state directory ${stateDir} is in use by process ${owner} (lock file ${file})`);
    }
    await sleep(50);
  }
}

async function lockOwner(file: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
