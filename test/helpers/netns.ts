/**
 * Linux network namespaces for tests of the data path as Kubernetes lays it out: a pod is a
 * namespace of its own with an address, joined to others by veth pairs, and iptables rules
 * applied inside it stay there. Tests run as root; without root, `ip` or `iptables` they skip
 * (or fail under SKIFF_REQUIRE_TOOLS=1) with a message naming what is missing.
 *
 * `Netns.create()` makes a named namespace (`ip netns add`) with loopback up; `link()` joins two
 * with a veth pair and addresses; `run()` runs a command inside and collects its output,
 * `spawn()` starts a long-lived one (a proxy, an app), both optionally as another uid and gid (the
 * proxy's 1337). `destroy()` kills what was spawned and deletes the namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { tool, toolsRequired, MissingToolError, REQUIRE_TOOLS_VAR, type Requirement } from './tools.js';

/** What network namespace tests need: root, `ip` (iproute2) and `iptables`. */
export function netnsRequirement(env: NodeJS.ProcessEnv = process.env): Requirement {
  const ip = tool('ip', env);
  const iptables = tool('iptables', env);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const missing = !isRoot ? 'network namespace tests need root (they create namespaces and iptables rules)' : ip.path === null ? ip.require.bind(ip) : iptables.path === null ? iptables.require.bind(iptables) : null;
  if (missing === null) return { name: 'network namespaces', path: 'root', skip: false, require: () => 'root' };
  const message = (): string => {
    if (typeof missing === 'string') return missing;
    try {
      missing();
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
    return 'network namespaces unavailable';
  };
  const required = toolsRequired(env);
  return {
    name: 'network namespaces',
    path: null,
    skip: required ? false : `${message()}; skipping (set ${REQUIRE_TOOLS_VAR}=1 to make this a failure)`,
    require(): string {
      throw new MissingToolError(message());
    },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs `cmd args` to its end and collects what it printed. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A command that exits without reading its input closes the pipe under us: not an error.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Like `run`, but a non-zero exit is an error carrying the command and what it printed. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code ?? 'by signal'}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}

/** Runs a command in a fresh, unnamed network namespace (`unshare -n`) with loopback up. */
export function runInFreshNetns(script: string, opts: RunOptions = {}): Promise<RunResult> {
  return run('unshare', ['-n', 'sh', '-c', `ip link set lo up && ${script}`], opts);
}

let counter = 0;

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

/** A named network namespace, deleted with everything spawned in it by `destroy()`. */
export class Netns {
  private readonly children = new Set<ChildProcess>();
  private vethCount = 0;

  private constructor(readonly name: string) {}

  /** A new namespace with loopback up, named after `label`, the process and a counter. */
  static async create(label: string): Promise<Netns> {
    counter += 1;
    const name = `sk-${label}-${process.pid}-${counter}`.slice(0, 60);
    await runOk('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    await ns.runOk('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Runs a command inside the namespace to its end (as `uid`/`gid` when given). */
  run(cmd: string, args: readonly string[], opts: RunOptions & SpawnOptions = {}): Promise<RunResult> {
    return run('nsenter', this.enter(cmd, args, opts), opts);
  }

  runOk(cmd: string, args: readonly string[], opts: RunOptions & SpawnOptions = {}): Promise<RunResult> {
    return runOk('nsenter', this.enter(cmd, args, opts), opts);
  }

  /** nsenter's arguments: enter the namespace as root, then drop to `uid`/`gid` when given. */
  private enter(cmd: string, args: readonly string[], opts: SpawnOptions): string[] {
    const ids = [...(opts.uid !== undefined ? ['--setuid', String(opts.uid)] : []), ...(opts.gid !== undefined ? ['--setgid', String(opts.gid)] : [])];
    return [`--net=/run/netns/${this.name}`, ...ids, cmd, ...args];
  }

  /**
   * Starts a long-lived process inside the namespace (as `uid`/`gid` when given: nsenter enters
   * the namespace as root, then drops to them); `destroy()` kills it.
   */
  spawn(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('nsenter', this.enter(cmd, args, opts), {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /**
   * Joins this namespace to `peer` with a veth pair: `cidr` (address/prefix) here, `peerCidr`
   * there, both links up. Extra addresses on either side are `addAddress`'s.
   */
  async link(peer: Netns, cidr: string, peerCidr: string): Promise<void> {
    this.vethCount += 1;
    const here = `v${counter}a${this.vethCount}`;
    const there = `v${counter}b${this.vethCount}`;
    await runOk('ip', ['link', 'add', here, 'netns', this.name, 'type', 'veth', 'peer', 'name', there, 'netns', peer.name]);
    await this.runOk('ip', ['addr', 'add', cidr, 'dev', here]);
    await this.runOk('ip', ['link', 'set', here, 'up']);
    await peer.runOk('ip', ['addr', 'add', peerCidr, 'dev', there]);
    await peer.runOk('ip', ['link', 'set', there, 'up']);
  }

  /** Adds `cidr` to the namespace's first veth (the one `link` made first on this side or its peer's). */
  async addAddress(cidr: string): Promise<void> {
    const links = await this.runOk('ip', ['-o', 'link', 'show', 'type', 'veth']);
    const dev = /^\d+:\s+([^@:\s]+)/.exec(links.stdout)?.[1];
    if (dev === undefined) throw new Error(`netns ${this.name} has no veth to add ${cidr} to`);
    await this.runOk('ip', ['addr', 'add', cidr, 'dev', dev]);
  }

  /** Sends every destination without a more specific route through `via`. */
  async defaultRoute(via: string): Promise<void> {
    await this.runOk('ip', ['route', 'add', 'default', 'via', via]);
  }

  /** Kills the processes spawned here (and waits for them), then deletes the namespace. */
  async destroy(): Promise<void> {
    await Promise.all(
      [...this.children].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    await run('ip', ['netns', 'delete', this.name]);
  }
}
