/**
 * Time sources for upstream modules: the system clock for the proxy and a manual clock that
 * tests advance by hand, so ejection windows and intervals run on virtual time.
 */
import type { Clock, TimerHandle } from './types.js';

/** Monotonic milliseconds; timers are unref'd so they never keep the process alive. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

export interface ManualClock extends Clock {
  /** Moves time forward, firing due timers in time order (timers set while firing included). */
  advance(ms: number): void;
  /** Timers not yet fired or cancelled. */
  pendingTimers(): number;
}

interface ManualTimer {
  at: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

export function createManualClock(start = 0): ManualClock {
  let now = start;
  let seq = 0;
  let timers: ManualTimer[] = [];
  return {
    now: () => now,
    setTimer(fn, ms): TimerHandle {
      const t: ManualTimer = { at: now + Math.max(0, ms), seq: seq++, fn, live: true };
      timers.push(t);
      return { cancel: () => void (t.live = false) };
    },
    advance(ms) {
      const end = now + ms;
      while (true) {
        timers = timers.filter((t) => t.live);
        let next: ManualTimer | undefined;
        for (const t of timers) if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
        if (!next) break;
        now = next.at;
        next.live = false;
        next.fn();
      }
      now = end;
    },
    pendingTimers: () => timers.filter((t) => t.live).length,
  };
}
