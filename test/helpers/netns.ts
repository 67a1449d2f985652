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
 *
 * For pods run as a kubelet runs them: `Netns.createNamed()` takes the exact name, `writeEtc()`
 * gives the namespace its own `/etc/netns/<name>/hosts` and `resolv.conf` (which `ip netns exec`
 * mounts over `/etc`), `spawnContainer()` starts a process that way with a clean environment,
 * volumes bind-mounted in a mount namespace of its own, and its uid; a `Bridge` in the root
 * namespace (the node) links namespaces as pods on one subnet.
 *
 * `untilReady()` waits for a spawned server to say `ready` (as the capture fixtures do).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/**
 * Resolves once `child` has printed a line `ready` on its stdout (a fixture server listening on
 * all its ports); throws, with what it printed, if it exits first.
 */
export async function untilReady(child: ChildProcess): Promise<void> {
  let out = '';
  const stdout = child.stdout;
  if (stdout === null) throw new Error(`${child.spawnargs.join(' ')}: no stdout to read 'ready' from`);
  stdout.setEncoding('utf8');
  while (!out.includes('ready\n')) {
    const [chunk] = (await Promise.race([once(stdout, 'data'), once(child, 'exit').then(() => [null])])) as [string | null];
    if (chunk === null) throw new Error(`exited before it was ready: ${out}`);
    out += chunk;
  }
}

let counter = 0;

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

/** A volume a container sees: `source` (a directory on the node) mounted at `target`. */
export interface Mount {
  source: string;
  target: string;
}

export interface ContainerSpawnOptions {
  /** The whole environment (nothing of the test's own is passed on). */
  env: Record<string, string>;
  uid?: number;
  gid?: number;
  cwd?: string;
  /**
   * Bind mounts made in the process's own mount namespace before it starts. A target under
   * `/run` (`/var/run`) is made on a tmpfs mounted over `/run` there, so nothing is created on
   * the node; any other target must exist.
   */
  mounts?: readonly Mount[];
}

/** Single-quotes `s` for sh. */
const shQuote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

/** Where `ip netns exec` finds a namespace's own files for `/etc`. */
export const ETC_NETNS = '/etc/netns';

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

  /** A new namespace with loopback up, named exactly `name` (a caller that needs a prefix of its own). */
  static async createNamed(name: string): Promise<Netns> {
    await runOk('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    await ns.runOk('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A namespace that exists already (`destroy()` then removes it, and whatever runs in it). */
  static adopt(name: string): Netns {
    return new Netns(name);
  }

  /**
   * Writes `/etc/netns/<name>/<file>`, which `ip netns exec` (and so `spawnContainer`) mounts
   * over `/etc/<file>`. Written in place, so a process already running sees the new text.
   */
  writeEtc(file: string, text: string): void {
    const dir = join(ETC_NETNS, this.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, file), text, { mode: 0o644 });
  }

  /**
   * Starts a long-lived process as a container runs: through `ip netns exec` (so the
   * namespace's `/etc/netns` files are its `/etc/hosts` and `/etc/resolv.conf`), in a mount
   * namespace of its own with `mounts` bind-mounted, with only `env`, as `uid`/`gid` (setpriv
   * drops root after the mounts). `destroy()` kills it.
   */
  spawnContainer(argv: readonly string[], opts: ContainerSpawnOptions): ChildProcess {
    const steps: string[] = [];
    if ((opts.mounts ?? []).some((m) => /^\/(var\/)?run\//.test(m.target))) steps.push('mount -t tmpfs -o mode=755 tmpfs /run');
    for (const m of opts.mounts ?? []) {
      const target = m.target.replace(/^\/var\/run\//, '/run/');
      if (target.startsWith('/run/')) steps.push(`mkdir -p ${shQuote(target)}`);
      steps.push(`mount --bind ${shQuote(m.source)} ${shQuote(target)}`);
    }
    const drop = opts.uid !== undefined ? `setpriv --reuid ${opts.uid} --regid ${opts.gid ?? opts.uid} --clear-groups -- ` : '';
    steps.push(`exec ${drop}"$@"`);
    const child = spawn('ip', ['netns', 'exec', this.name, 'sh', '-ec', steps.join('\n'), 'sh', ...argv], {
      env: opts.env,
      cwd: opts.cwd ?? '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
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

  /**
   * Kills the processes spawned here (and waits for them), then any other process still in the
   * namespace, then deletes it and its `/etc/netns` files.
   */
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
    // Whatever those started (and anything else entered) would outlive the namespace's name.
    const left = await run('ip', ['netns', 'pids', this.name]);
    for (const pid of left.stdout.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await run('ip', ['netns', 'delete', this.name]);
    rmSync(join(ETC_NETNS, this.name), { recursive: true, force: true });
  }
}

/**
 * A Linux bridge in the root namespace (the node): namespaces attached to it are pods on one
 * subnet, the bridge's own address their default route. `destroy()` deletes it (the veths of
 * namespaces already deleted are gone with them).
 */
export class Bridge {
  private constructor(
    readonly name: string,
    /** The bridge's address, without prefix: the pods' gateway. */
    readonly address: string,
    private readonly prefix: number,
  ) {}

  /** A bridge named `name` (at most 15 characters) with `cidr` (address/prefix) on it, up. */
  static async create(name: string, cidr: string): Promise<Bridge> {
    const [address, prefix] = cidr.split('/');
    await runOk('ip', ['link', 'add', name, 'type', 'bridge']);
    const bridge = new Bridge(name, address, Number(prefix));
    try {
      await runOk('ip', ['addr', 'add', cidr, 'dev', name]);
      await runOk('ip', ['link', 'set', name, 'up']);
    } catch (err) {
      await bridge.destroy();
      throw err;
    }
    return bridge;
  }

  /**
   * Attaches `ns` with a veth pair: `hostVeth` (at most 15 characters) on the bridge, `eth0` in
   * the namespace with `address`, its default route through the bridge.
   */
  async attach(ns: Netns, hostVeth: string, address: string): Promise<void> {
    await runOk('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
    await runOk('ip', ['link', 'set', hostVeth, 'master', this.name, 'up']);
    await ns.runOk('ip', ['addr', 'add', `${address}/${this.prefix}`, 'dev', 'eth0']);
    await ns.runOk('ip', ['link', 'set', 'eth0', 'up']);
    await ns.defaultRoute(this.address);
  }

  async destroy(): Promise<void> {
    await run('ip', ['link', 'delete', this.name, 'type', 'bridge']);
  }
}
