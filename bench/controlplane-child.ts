/**
 * A forked child of the control-plane benchmark (skiffd, a process of simulated proxies): typed
 * messages both ways, awaited in order, with the child's stderr tail in every failure.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export class ForkedChild<Command extends object, Event extends { event: string }> {
  private readonly child: ChildProcess;
  private readonly inbox: Event[] = [];
  private wake: (() => void) | null = null;
  private stderr = '';
  private exited = false;
  private readonly exit: Promise<void>;

  constructor(
    readonly name: string,
    entry: string,
    args: readonly string[],
    execArgv: readonly string[] = [],
  ) {
    this.child = fork(entry, args, { execArgv: ['--enable-source-maps', ...execArgv], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-16 * 1024)));
    this.child.on('message', (m: Event) => {
      this.inbox.push(m);
      this.wake?.();
    });
    this.exit = new Promise((resolve) => {
      this.child.once('exit', () => {
        this.exited = true;
        this.wake?.();
        resolve();
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} did not start: ${this.stderr.trim()}`);
    return this.child.pid;
  }

  send(command: Command): void {
    this.child.send(command);
  }

  /** The next message, which must be `event`; an `error` message, an exit or the timeout rejects. */
  async next<K extends Event['event']>(event: K, timeoutMs: number): Promise<Extract<Event, { event: K }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.inbox.shift();
      if (m !== undefined) {
        if (m.event === event) return m as Extract<Event, { event: K }>;
        const detail = 'message' in m && typeof m.message === 'string' ? m.message : JSON.stringify(m);
        throw new Error(`${this.name}: expected ${event}, got ${m.event}: ${detail}\n${this.stderr.trim()}`);
      }
      if (this.exited) throw new Error(`${this.name} exited while the benchmark waited for ${event}:\n${this.stderr.trim()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no ${event} within ${timeoutMs} ms:\n${this.stderr.trim()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  /** Asks the child to stop with `command`, then SIGKILL after `graceMs`. */
  async stop(command: Command, graceMs = 5000): Promise<void> {
    if (this.exited) return;
    if (this.child.connected) this.send(command);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exit;
    clearTimeout(timer);
  }
}
