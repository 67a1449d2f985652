/**
 * Certain teardown for what a test file's setup opens. node:test runs `after` even when `before`
 * throws, but an `after` that closes `a` then `b` stops at the first one that is undefined or
 * fails to close, and a server or child process left open keeps the file's process alive: the run
 * never ends. A `Disposer` is filled as each resource is opened and drained last-opened first,
 * every step run whatever the others did, so a setup that throws at any point still closes all it
 * opened, and the file reports the hook's error and exits.
 *
 *     const disposer = new Disposer();
 *     before(disposer.setup(async () => {
 *       api = disposer.add(new FakeApiServer(), (a) => a.stop());
 *       await api.start();
 *       dir = disposer.tempDir('skiff-kube-');
 *     }));
 *     after(() => disposer.drain());
 *
 * `setup` drains at once when its body throws (so a `beforeEach` whose `afterEach` is skipped
 * leaks nothing either); `drain` is then a no-op. Resources a test opens may be added too: they
 * are closed with the rest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Step {
  readonly close: () => unknown;
}

export class Disposer {
  private steps: Step[] = [];

  /** Registers `close(resource)` for the drain and returns `resource`, so `x = d.add(open(), close)`. */
  add<T>(resource: T, close: (resource: T) => unknown): T {
    this.steps.push({ close: () => close(resource) });
    return resource;
  }

  /** Registers a step without a resource of its own (a global setting to restore). */
  defer(close: () => unknown): void {
    this.steps.push({ close });
  }

  /** A fresh directory under the system's temporary one, removed with all it holds by the drain. */
  tempDir(prefix: string): string {
    return this.add(mkdtempSync(join(tmpdir(), prefix)), (dir) => rmSync(dir, { recursive: true, force: true }));
  }

  /**
   * Wraps a `before`/`beforeEach` body: when it throws, everything registered so far is closed,
   * then the body's error is thrown on (joined with the drain's own failures, if any).
   */
  setup(body: () => unknown): () => Promise<void> {
    return async () => {
      try {
        await body();
      } catch (err) {
        try {
          await this.drain();
        } catch (drainErr) {
          throw new AggregateError([err, ...(drainErr instanceof AggregateError ? drainErr.errors : [drainErr])], `setup failed: ${message(err)}; closing what it had opened failed too`);
        }
        throw err;
      }
    };
  }

  /**
   * Closes everything registered, last first, each step awaited and tried whatever the steps
   * before it did; the disposer is empty after. Failed steps are thrown together at the end.
   */
  async drain(): Promise<void> {
    const steps = this.steps.reverse();
    this.steps = [];
    const errors: unknown[] = [];
    for (const step of steps) {
      try {
        await step.close();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} teardown steps failed: ${errors.map(message).join('; ')}`);
  }
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
