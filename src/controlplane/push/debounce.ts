/**
 * Coalesces bursts of changes into one run: the run starts once changes pause for `quietMs`, or
 * `maxMs` after the first change of the burst under a steady stream of them (as Istio's
 * PILOT_DEBOUNCE_AFTER / PILOT_DEBOUNCE_MAX). Runs never overlap: a change during a run schedules
 * the next one. One timer serves all proxies.
 */
export class Debouncer {
  private timer: NodeJS.Timeout | null = null;
  private burstStart: number | null = null;
  private running: Promise<void> | null = null;
  private rerun = false;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly quietMs: number,
    private readonly maxMs: number,
  ) {}

  /**
   * Notes a change: (re)arms the timer within the burst's deadline. An `urgent` change does not
   * wait for the quiet period: the run starts on the next turn of the event loop, taking along
   * whatever else changed in this one.
   */
  trigger(urgent = false): void {
    if (this.stopped) return;
    const now = Date.now();
    if (this.burstStart === null) this.burstStart = now;
    const due = urgent ? now : Math.min(now + this.quietMs, this.burstStart + this.maxMs);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), Math.max(0, due - now));
  }

  /** Resolves once nothing is scheduled or running. */
  idle(): Promise<void> {
    if (this.timer === null && this.running === null) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.running === null) this.wakeIdle();
  }

  private fire(): void {
    this.timer = null;
    this.burstStart = null;
    if (this.running !== null) {
      this.rerun = true;
      return;
    }
    // `run` reports its own failures; the catch only keeps a rejection from going unhandled.
    this.running = this.run()
      .catch(() => {})
      .finally(() => {
        this.running = null;
        if (this.rerun && !this.stopped) {
          this.rerun = false;
          this.fire();
        } else if (this.timer === null) {
          this.wakeIdle();
        }
      });
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
