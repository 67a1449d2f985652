/**
 * Child processes of the benchmark (backend, proxies, load generator): started with their output
 * captured, awaited on a log line or a port, and always stopped — also when the benchmark is
 * interrupted or fails.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

export class Managed {
  /** stdout and stderr, interleaved as they arrived. */
  output = '';
  exited = false;
  private readonly exit: Promise<void>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => this.append(d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => this.append(d));
    this.exit = new Promise((resolve) => {
      child.once('exit', () => {
        this.exited = true;
        live.delete(this);
        resolve();
      });
      child.once('error', (err) => {
        this.append(`\n${err.message}\n`);
        this.exited = true;
        live.delete(this);
        resolve();
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} did not start: ${this.output.trim()}`);
    return this.child.pid;
  }

  private append(d: string): void {
    // Proxies can log a lot under errors; the tail is what explains a failure.
    this.output = (this.output + d).slice(-64 * 1024);
  }

  /** Resolves with the first match of `re` in the output; rejects if the process exits or time runs out. */
  async waitFor(re: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.output);
      if (m !== null) return m;
      if (this.exited) throw new Error(`${this.name} exited before it was ready:\n${this.output.trim()}`);
      if (Date.now() > deadline) throw new Error(`${this.name} was not ready after ${timeoutMs} ms:\n${this.output.trim()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Waits for the process to end on its own. */
  async done(): Promise<void> {
    await this.exit;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exit;
    clearTimeout(timer);
  }
}

const live = new Set<Managed>();

/**
 * Starts a process with its output captured (stdout to `stdoutFile` instead when given, for
 * processes that write a line per request); it is killed when the benchmark exits.
 */
export function start(name: string, command: string, args: readonly string[], opts: { stdoutFile?: string } = {}): Managed {
  const out = opts.stdoutFile === undefined ? 'pipe' : openSync(opts.stdoutFile, 'w');
  const child = spawn(command, args, { stdio: ['ignore', out, 'pipe'] });
  if (typeof out === 'number') closeSync(out);
  const m = new Managed(name, child);
  live.add(m);
  return m;
}

/** Stops every process still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((m) => m.stop()));
}

let hooked = false;
/** Kills children on exit and on Ctrl-C, so no proxy or backend outlives the benchmark. */
export function killChildrenOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const m of live) m.child.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping processes\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

/** A TCP port free on `host` right now (bound and released). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once something accepts connections on host:port. */
export async function waitForPort(host: string, port: number, owner: Managed, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (owner.exited) throw new Error(`${owner.name} exited before listening on ${host}:${port}:\n${owner.output.trim()}`);
    if (Date.now() > deadline) throw new Error(`${owner.name} is not listening on ${host}:${port} after ${timeoutMs} ms:\n${owner.output.trim()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
