/**
 * Waiting until the runtime's desired state is ready, and the report of what is not when the
 * wait times out: each pod with its status, restarts, the reason and where its log is.
 */
import type { Replica } from './replica.js';

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  blocked: () => string[];
  timer: NodeJS.Timeout;
}

function blockedError(stuck: readonly string[]): Error {
  return new Error(`cannot become ready until the config changes:\n  ${stuck.join('\n  ')}`);
}

export class ReadyWaiter {
  private readonly waiters = new Set<Waiter>();

  /**
   * Resolves once `problems()` is empty; rejects after `timeoutMs` with the problems left, or at
   * once (and on any later check) while `blocked()` names something no wait can fix.
   */
  wait(timeoutMs: number, problems: () => string[], blocked: () => string[] = () => []): Promise<void> {
    if (problems().length === 0) return Promise.resolve();
    const stuck = blocked();
    if (stuck.length > 0) return Promise.reject(blockedError(stuck));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        blocked,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          const left = problems();
          if (left.length === 0) resolve();
          else reject(new Error(`not ready after ${Math.round(timeoutMs / 100) / 10} s:\n  ${left.join('\n  ')}`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Called on every change: releases the waiters once nothing is left to wait for, or fails those nothing can satisfy. */
  check(problems: () => string[]): void {
    if (this.waiters.size === 0) return;
    if (problems().length === 0) {
      this.settle(() => undefined);
      return;
    }
    for (const w of this.waiters) {
      const stuck = w.blocked();
      if (stuck.length === 0) continue;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.reject(blockedError(stuck));
    }
  }

  /** Ends every wait: resolved, or rejected with the error `outcome` returns. */
  settle(outcome: () => Error | undefined): void {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      const err = outcome();
      if (err) w.reject(err);
      else w.resolve();
    }
    this.waiters.clear();
  }
}

/** `title` and one indented line per pod saying why it is not ready. */
export function notReadyReport(title: string, replicas: readonly Replica[]): string {
  const lines = replicas
    .filter((r) => !r.ready)
    .map((r) => {
      const s = r.toStatus();
      const why = s.reason ? `: ${s.reason}` : '';
      return `    ${s.name} ${s.status}, ${s.restarts} restarts${why} (log: ${r.logFile(r.plan.app ? 'app' : 'proxy')})`;
    });
  return [title, ...lines].join('\n');
}
