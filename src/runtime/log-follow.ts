/**
 * Follows a growing log file by polling its size and reading what was appended, line by line:
 * how the runtime relays its processes' output and how `skiff logs -f` tails it.
 */
import { open, stat } from 'node:fs/promises';

export interface LogFollower {
  /** Reads whatever is left, delivers it (a last unterminated line too), and stops. */
  stop(): Promise<void>;
}

/**
 * Calls `onLine` for every line appended to `file` after `fromOffset` (default: its current end).
 * A missing file is waited for; a truncated one is read again from the start.
 */
export function followLog(file: string, onLine: (line: string) => void, opts: { fromOffset?: number; intervalMs?: number; keepAlive?: boolean } = {}): LogFollower {
  let offset = opts.fromOffset ?? -1;
  let pending = '';
  let stopped = false;
  let busy: Promise<void> = Promise.resolve();

  const readMore = async (): Promise<void> => {
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch {
      // Not there yet: everything it will hold is new.
      if (offset < 0) offset = 0;
      return;
    }
    if (offset < 0) offset = size;
    if (size < offset) offset = 0;
    if (size === offset) return;
    const handle = await open(file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(size - offset, 1 << 20));
      const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
      offset += bytesRead;
      pending += buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line.replace(/\r$/, ''));
  };

  const tick = (): void => {
    busy = busy.then(readMore).catch(() => undefined);
  };
  // An offset of "the end" is taken now, not at the first tick, so nothing written meanwhile is lost.
  if (offset < 0) tick();
  const timer = setInterval(tick, opts.intervalMs ?? 200);
  // A runtime's relays must not keep its host alive; `skiff logs -f` lives for its follower.
  if (opts.keepAlive !== true) timer.unref();
  return {
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      tick();
      await busy;
      if (pending !== '') onLine(pending);
      pending = '';
    },
  };
}
