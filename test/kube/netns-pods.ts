/**
 * The kubelet's runtime part for the kubelet harness: each Pod run for real on this machine, as
 * a node runs it.
 *
 * - The node: a bridge in the root namespace with the pod subnet's first address (`<subnet>.1`),
 *   the pods' default route, so a ClusterIP is routable from a pod and thus capturable.
 * - The pod's sandbox: a network namespace `skk-<run>-<n>` with the Pod's IP on its `eth0`, and
 *   `/etc/netns/<ns>/hosts` and `resolv.conf`, so its processes resolve Service names as
 *   cluster DNS answers them (`reviews`, `reviews.default`, `reviews.default.svc`,
 *   `reviews.default.svc.cluster.local` → the ClusterIP the API server allocated), skiffd's
 *   Service name included (→ the node's address, where skiffd's TLS push port listens).
 * - Volumes: a projected service-account token (written for its audience through the API
 *   server's token issuer), a ConfigMap (waited for, as the kubelet waits), an emptyDir;
 *   bind-mounted at their mount paths in each container's own mount namespace, readable by the
 *   container's uid.
 * - Containers: init containers in order (run to completion — `istio-init`'s `skiff iptables`
 *   — or, with `restartPolicy: Always`, started as a native sidecar whose startup probe holds
 *   the next ones), then the app containers; each as its security context's uid and gid, with
 *   the downward-API env and `$(VAR)` expanded in its args. The Skiff image runs
 *   `skiff <args>`; any other image the local command `samples/images.yaml` maps it to (the
 *   local runtime's image map).
 * - Ready: once every container started and the readiness probes (HTTP, from the node) answer.
 *
 * `stop()` kills every process, deletes the namespaces (their `/etc/netns` files and veths with
 * them) and the bridge, and can be called at any point of a start.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Container } from '../../src/api/kinds/kube/container.js';
import type { KubeObject } from '../../src/kube/client.js';
import { normalizeImage } from '../../src/runtime/image-map.js';
import { resolveCommand } from '../../src/runtime/command.js';
import { defaultImageMap, skiffArgv } from '../../src/runtime/install.js';
import { Bridge, ETC_NETNS, Netns, run } from '../helpers/netns.js';

interface VolumeSpec {
  name: string;
  emptyDir?: object;
  configMap?: { name: string };
  projected?: { sources?: Array<{ serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string }; configMap?: { name: string; items?: Array<{ key: string; path: string }> } }> };
}

interface PodSpec {
  serviceAccountName?: string;
  securityContext?: { runAsUser?: number; runAsGroup?: number };
  initContainers?: Array<Container & { restartPolicy?: string }>;
  containers: Container[];
  volumes?: VolumeSpec[];
}

type HttpGetProbe = { path?: string; port: number | string };

export interface NetnsPodsOptions {
  /** The pods' subnet as its first three octets, e.g. `10.246.7`: the node is `.1`. */
  subnet: string;
  /** The image that runs `skiff` (its args are `skiff`'s), e.g. `skiff:test`. */
  skiffImage: string;
  /** A service-account token for `audience`, as the API server's TokenRequest issues it. */
  issueToken(namespace: string, serviceAccount: string, audience: string): string;
  /** A ConfigMap's data, or undefined while it does not exist. */
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** The names the node answers for (`skiffd.istio-system.svc`: skiffd runs on the node). */
  nodeNames: readonly string[];
  log?: (line: string) => void;
  /**
   * How long a pod may take to start (volumes, init containers, probes) before it is reported
   * failed. Default 3 min: on a busy machine, every pod starting at once starts slowly.
   */
  startTimeoutMs?: number;
}

/** One container's process and what it printed (the last 64 KiB). */
export interface ContainerProcess {
  name: string;
  proc: ChildProcess;
  output(): string;
}

/** A pod as it runs: its namespace, its IP and its containers' processes. */
export interface RunningPod {
  namespace: string;
  name: string;
  ip: string;
  netns: Netns;
  containers: Map<string, ContainerProcess>;
}

interface ServiceName {
  ip: string;
  namespace: string;
  name: string;
}

const DOMAIN = 'cluster.local';
const OUTPUT_KEPT = 64 * 1024;

/** A short id for this run's names: veth names have at most 15 characters. */
const RUN_ID = process.pid.toString(36);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** GET `url`'s status, or 0 when it cannot be reached (a probe's view). */
function probe(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** The namespaces, /etc/netns files and bridges of runs whose process is gone. */
async function removeLeftovers(): Promise<void> {
  const alive = (id: string): boolean => {
    try {
      process.kill(Number.parseInt(id, 36), 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  const namespaces = (await run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]);
  const bridges = (await run('ip', ['-o', 'link', 'show', 'type', 'bridge'])).stdout.split('\n').map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '');
  const etc = existsSync(ETC_NETNS) ? readdirSync(ETC_NETNS) : [];
  const runOf = (name: string): string | undefined => /^skk-([0-9a-z]+)-(?:\d+|br)$/.exec(name)?.[1];
  for (const name of new Set([...namespaces, ...etc])) {
    const id = runOf(name);
    // Netns.destroy also removes the /etc/netns files of a namespace already gone.
    if (id !== undefined && !alive(id)) await Netns.adopt(name).destroy();
  }
  for (const name of bridges) {
    const id = runOf(name);
    if (id !== undefined && !alive(id)) await run('ip', ['link', 'delete', name, 'type', 'bridge']);
  }
}

export class NetnsPods {
  private bridge: Bridge | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'skiff-kubelet-'));
  private readonly pods = new Map<string, RunningPod>();
  private count = 0;
  private stopped = false;
  private services: ServiceName[] = [];
  private readonly log: (line: string) => void;

  constructor(private readonly opts: NetnsPodsOptions) {
    this.log = opts.log ?? (() => undefined);
    // Every uid the containers run as reads the volumes under it.
    chmodSync(this.dir, 0o755);
  }

  /** The node's address on the pod network (where the node's own services listen). */
  get nodeAddress(): string {
    return `${this.opts.subnet}.1`;
  }

  /**
   * Creates the bridge: the node's side of the pod network. First removes what a run killed
   * before its cleanup left behind (names carry the run's pid).
   */
  async start(): Promise<void> {
    await removeLeftovers();
    this.bridge = await Bridge.create(`skk-${RUN_ID}-br`, `${this.nodeAddress}/24`);
  }

  /** The pod `namespace/name` as it runs, once its sandbox exists. */
  pod(namespace: string, name: string): RunningPod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  /** The Services' names and ClusterIPs, as cluster DNS answers them; every pod's hosts file follows. */
  setServices(services: readonly KubeObject[]): void {
    const entries: ServiceName[] = [];
    for (const s of services) {
      const ip = (s.spec as { clusterIP?: string } | undefined)?.clusterIP;
      if (ip === undefined || ip === '' || ip === 'None') continue;
      entries.push({ ip, namespace: s.metadata.namespace ?? 'default', name: s.metadata.name });
    }
    entries.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
    if (JSON.stringify(entries) === JSON.stringify(this.services)) return;
    this.services = entries;
    for (const p of this.pods.values()) this.writeDns(p);
  }

  /** The pod's `/etc/hosts` and `resolv.conf`: its own name, the Services (short names in its namespace), the node's names. */
  private writeDns(p: RunningPod): void {
    const services = this.services
      .map((s) => {
        // The node's names stand for its own services (skiffd's), whatever Service has them.
        const names = [`${s.name}.${s.namespace}.svc.${DOMAIN}`, `${s.name}.${s.namespace}.svc`, `${s.name}.${s.namespace}`].filter((n) => !this.opts.nodeNames.includes(n));
        // The search path `<ns>.svc.cluster.local` makes the bare name the pod's own namespace's.
        if (s.namespace === p.namespace && names.length === 3) names.push(s.name);
        return names.length === 0 ? '' : `${s.ip}\t${names.join(' ')}`;
      })
      .filter((l) => l !== '');
    const hosts = ['127.0.0.1\tlocalhost', `${p.ip}\t${p.name}`, ...services, `${this.nodeAddress}\t${this.opts.nodeNames.join(' ')}`, ''].join('\n');
    p.netns.writeEtc('hosts', hosts);
    // No name server answers here: every name the pod needs is in its hosts file.
    p.netns.writeEtc('resolv.conf', `search ${p.namespace}.svc.${DOMAIN} svc.${DOMAIN} ${DOMAIN}\nnameserver 127.0.0.1\noptions ndots:5\n`);
  }

  /**
   * Runs `pod` at `ip`: its sandbox, volumes, init containers, containers; resolves once it is
   * ready (every container started, readiness probes answering), throws naming what failed.
   */
  async run(pod: KubeObject, ip: string): Promise<void> {
    if (this.bridge === undefined || this.stopped) throw new Error('the pod network is not running');
    const namespace = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name;
    const spec = pod.spec as PodSpec;
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 180_000);
    this.count += 1;
    const nsName = `skk-${RUN_ID}-${this.count}`;
    const netns = await Netns.createNamed(nsName);
    const p: RunningPod = { namespace, name, ip, netns, containers: new Map() };
    if (this.stopped) {
      await netns.destroy();
      throw new Error('the pod network stopped');
    }
    this.pods.set(`${namespace}/${name}`, p);
    await this.bridge.attach(netns, nsName, ip);
    this.writeDns(p);
    const volumes = await this.makeVolumes(p, spec, deadline);
    const env = (c: Container): Record<string, string> => this.envOf(pod, ip, c);

    for (const c of spec.initContainers ?? []) {
      if (c.restartPolicy === 'Always') {
        this.startContainer(p, pod, spec, c, env(c), volumes);
        const startup = (c as { startupProbe?: { httpGet?: HttpGetProbe } }).startupProbe?.httpGet;
        if (startup !== undefined) await this.waitProbe(p, c, startup, deadline, 'startup');
      } else {
        await this.runToCompletion(p, pod, spec, c, env(c), volumes, deadline);
      }
    }
    for (const c of spec.containers) this.startContainer(p, pod, spec, c, env(c), volumes);
    for (const c of [...(spec.initContainers ?? []).filter((i) => i.restartPolicy === 'Always'), ...spec.containers]) {
      const ready = (c as { readinessProbe?: { httpGet?: HttpGetProbe } }).readinessProbe?.httpGet;
      if (ready !== undefined) await this.waitProbe(p, c, ready, deadline, 'readiness');
    }
    this.log(`kubelet: pod ${namespace}/${name} ready at ${ip} in ${nsName}`);
  }

  /** The downward API, as the kubelet resolves `valueFrom.fieldRef`, plus `HOSTNAME`. */
  private envOf(pod: KubeObject, ip: string, c: Container): Record<string, string> {
    const spec = pod.spec as PodSpec;
    const fields: Record<string, string> = {
      'metadata.name': pod.metadata.name,
      'metadata.namespace': pod.metadata.namespace ?? 'default',
      'status.podIP': ip,
      'status.hostIP': this.nodeAddress,
      'spec.serviceAccountName': spec.serviceAccountName ?? 'default',
      'spec.nodeName': 'node',
    };
    const out: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOSTNAME: pod.metadata.name, NO_COLOR: '1' };
    for (const e of c.env ?? []) {
      const path = e.valueFrom?.fieldRef?.fieldPath;
      if (e.value !== undefined) out[e.name] = e.value;
      else if (path !== undefined && fields[path] !== undefined) out[e.name] = fields[path];
    }
    return out;
  }

  private async makeVolumes(p: RunningPod, spec: PodSpec, deadline: number): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const root = join(this.dir, `${p.namespace}_${p.name}`);
    for (const v of spec.volumes ?? []) {
      const dir = join(root, v.name);
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      chmodSync(root, 0o755);
      if (v.configMap !== undefined) await this.writeConfigMap(dir, p.namespace, v.configMap.name, undefined, deadline);
      for (const s of v.projected?.sources ?? []) {
        if (s.serviceAccountToken !== undefined) {
          const token = this.opts.issueToken(p.namespace, spec.serviceAccountName ?? 'default', s.serviceAccountToken.audience ?? `https://kubernetes.default.svc.${DOMAIN}`);
          writeFileSync(join(dir, s.serviceAccountToken.path), token, { mode: 0o644 });
        }
        if (s.configMap !== undefined) await this.writeConfigMap(dir, p.namespace, s.configMap.name, s.configMap.items, deadline);
      }
      out.set(v.name, dir);
    }
    return out;
  }

  /** A ConfigMap's keys as files, once it exists (the kubelet holds the pod until then). */
  private async writeConfigMap(dir: string, namespace: string, name: string, items: Array<{ key: string; path: string }> | undefined, deadline: number): Promise<void> {
    let last = 'not found';
    for (;;) {
      // An API server too busy to answer this time is asked again, as the kubelet would.
      const data = await this.opts.configMap(namespace, name).catch((err: unknown) => {
        last = err instanceof Error ? err.message : String(err);
        return undefined;
      });
      if (data !== undefined) {
        for (const [key, value] of Object.entries(data)) {
          const path = items === undefined ? key : items.find((i) => i.key === key)?.path;
          if (path !== undefined) writeFileSync(join(dir, path), value, { mode: 0o644 });
        }
        return;
      }
      if (Date.now() > deadline || this.stopped) throw new Error(`configmap ${namespace}/${name} for a volume: ${last}`);
      await sleep(200);
    }
  }

  /** The argv of `c`: `skiff <args>` for the Skiff image, else the image map's command. */
  private argvOf(pod: KubeObject, c: Container, env: Record<string, string>): { argv: string[]; env: Record<string, string> } {
    const expand = (a: string): string => a.replace(/\$\((\w+)\)/g, (m, v: string) => env[v] ?? m);
    const args = (c.args ?? []).map(expand);
    if (c.image !== undefined && normalizeImage(c.image) === normalizeImage(this.opts.skiffImage)) return { argv: [...skiffArgv(), ...args], env };
    const where = `pod ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name} container ${c.name}`;
    const resolved = resolveCommand(pod.metadata.annotations ?? {}, { ...c, args }, defaultImageMap(), where);
    return { argv: resolved.argv, env: { ...resolved.env, ...env } };
  }

  private mountsOf(c: Container, volumes: Map<string, string>): Array<{ source: string; target: string }> {
    const out: Array<{ source: string; target: string }> = [];
    for (const m of c.volumeMounts ?? []) {
      const source = volumes.get(m.name);
      // The node's own directories are not created for a container: a mount outside /run needs
      // its target to exist (the proxy's scratch space at /etc/istio/proxy is not used here).
      if (source === undefined) continue;
      if (!/^\/(var\/)?run\//.test(m.mountPath) && !existsSync(m.mountPath)) {
        this.log(`kubelet: ${c.name}: ${m.mountPath} does not exist on the node; volume ${m.name} not mounted`);
        continue;
      }
      out.push({ source, target: m.mountPath });
    }
    return out;
  }

  private idsOf(spec: PodSpec, c: Container): { uid: number | undefined; gid: number | undefined } {
    const sc = (c as { securityContext?: { runAsUser?: number; runAsGroup?: number } }).securityContext;
    const uid = sc?.runAsUser ?? spec.securityContext?.runAsUser;
    const gid = sc?.runAsGroup ?? spec.securityContext?.runAsGroup ?? uid;
    return { uid: uid === 0 ? undefined : uid, gid: uid === 0 ? undefined : gid };
  }

  private startContainer(p: RunningPod, pod: KubeObject, spec: PodSpec, c: Container, env: Record<string, string>, volumes: Map<string, string>): ContainerProcess {
    const { argv, env: fullEnv } = this.argvOf(pod, c, env);
    const { uid, gid } = this.idsOf(spec, c);
    const proc = p.netns.spawnContainer(argv, { env: fullEnv, mounts: this.mountsOf(c, volumes), ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}) });
    let out = '';
    const keep = (d: string): void => {
      out += d;
      if (out.length > OUTPUT_KEPT) out = out.slice(-OUTPUT_KEPT);
    };
    proc.stdout?.setEncoding('utf8').on('data', keep);
    proc.stderr?.setEncoding('utf8').on('data', keep);
    proc.on('exit', (code, signal) => {
      if (!this.stopped) this.log(`kubelet: ${p.namespace}/${p.name} container ${c.name} exited ${code ?? signal}`);
    });
    const cp: ContainerProcess = { name: c.name, proc, output: () => out };
    p.containers.set(c.name, cp);
    return cp;
  }

  private async runToCompletion(p: RunningPod, pod: KubeObject, spec: PodSpec, c: Container, env: Record<string, string>, volumes: Map<string, string>, deadline: number): Promise<void> {
    const cp = this.startContainer(p, pod, spec, c, env, volumes);
    const code = await new Promise<number | null>((resolve) => {
      if (cp.proc.exitCode !== null) return resolve(cp.proc.exitCode);
      const timer = setTimeout(() => cp.proc.kill('SIGKILL'), Math.max(1000, deadline - Date.now()));
      cp.proc.once('exit', (exit) => {
        clearTimeout(timer);
        resolve(exit);
      });
    });
    if (code !== 0) throw new Error(`pod ${p.namespace}/${p.name}: init container ${c.name} exited ${code ?? 'by signal'}: ${cp.output().trim()}`);
  }

  /** Polls an HTTP probe from the node at the pod's IP until it answers 2xx or 3xx. */
  private async waitProbe(p: RunningPod, c: Container, get: HttpGetProbe, deadline: number, kind: string): Promise<void> {
    const port = typeof get.port === 'number' ? get.port : (c.ports ?? []).find((cp) => cp.name === get.port)?.containerPort;
    if (port === undefined) throw new Error(`pod ${p.namespace}/${p.name}: ${kind} probe of ${c.name} names port ${get.port}, which it does not declare`);
    const url = `http://${p.ip}:${port}${get.path ?? '/'}`;
    for (;;) {
      const status = await probe(url);
      if (status >= 200 && status < 400) return;
      const exited = p.containers.get(c.name)?.proc.exitCode;
      if (this.stopped) throw new Error('stopped');
      if (exited !== null && exited !== undefined) throw new Error(`pod ${p.namespace}/${p.name}: ${c.name} exited ${exited} before its ${kind} probe passed: ${p.containers.get(c.name)?.output().trim() ?? ''}`);
      if (Date.now() > deadline) throw new Error(`pod ${p.namespace}/${p.name}: ${kind} probe of ${c.name} (${url}) did not pass (last status ${status}): ${p.containers.get(c.name)?.output().trim() ?? ''}`);
      await sleep(200);
    }
  }

  /** Kills every container, deletes the namespaces (with their /etc/netns files), the bridge and the volumes. */
  async stop(): Promise<void> {
    this.stopped = true;
    const pods = [...this.pods.values()];
    this.pods.clear();
    const failures: string[] = [];
    await Promise.all(
      pods.map((p) =>
        p.netns.destroy().catch((err: unknown) => {
          failures.push(err instanceof Error ? err.message : String(err));
        }),
      ),
    );
    await this.bridge?.destroy().catch((err: unknown) => failures.push(err instanceof Error ? err.message : String(err)));
    this.bridge = undefined;
    rmSync(this.dir, { recursive: true, force: true });
    if (failures.length > 0) throw new Error(`kubelet: cleanup failed: ${failures.join('; ')}`);
  }
}

/** Runs `argv` inside a pod's namespace (as root, or `uid`) to its end: a test's `kubectl exec`. */
export async function execInPod(p: RunningPod, argv: readonly string[], uid?: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return p.netns.run(argv[0], argv.slice(1), uid !== undefined ? { uid, gid: uid } : {});
}
