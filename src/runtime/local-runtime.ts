/**
 * The local runtime, a workload provider: keeps the running pods (each replica an app process
 * with its sidecar) and the ingress gateway in line with the desired Deployments and Pods,
 * publishing one workload instance per replica into the registry and the pod table on disk as
 * they change. Services reach the registry through its Service sync, not through the runtime.
 * A workload that cannot run (its image maps to no local program...) has its pods listed as
 * waiting, with the reason and how to fix it, while the others run.
 */
import type { Resource } from '../api/types.js';
import { GATEWAY_NAME, GATEWAY_SERVICE_ACCOUNT, gatewayHash, gatewayPlan, gatewayTarget, ingressPortMap } from './gateway.js';
import { skiffArgv } from './install.js';
import { allocatePorts, canBind, reservePorts } from './ports.js';
import { baseEnvironment, proxyArgv, servicePortsFor, workloadPlan } from './plans.js';
import { replicaName } from './pod-names.js';
import { ManagedProcess, alive } from './process.js';
import { Replica } from './replica.js';
import { allPorts, type ReplicaContext } from './replica-plan.js';
import { logFilePath, readPodsFile, writePodsFile, type PodRecord } from './state-file.js';
import type { GatewayTarget, LocalRuntime, LocalRuntimeOptions, PodPorts, PodStatus } from './types.js';
import { desiredState, type WaitingWorkload, type WorkloadSpec } from './workload-spec.js';
import { ReadyWaiter, notReadyReport } from './wait-ready.js';
import { PodCredentials } from './credentials.js';
import { ServiceProxy } from './service-proxy.js';

export function createLocalRuntime(opts: LocalRuntimeOptions): LocalRuntime {
  return new Runtime(opts);
}

class Runtime implements LocalRuntime {
  private readonly replicas = new Map<string, Replica>();
  private readonly terminations = new Set<Promise<void>>();
  private desired = new Map<string, WorkloadSpec>();
  /** The Services of the last sync: a pod starting gets local ports for those of its namespace. */
  private services: readonly Resource[] = [];
  /** Workloads that cannot run, by key, with the names of their waiting pods. */
  private waiting = new Map<string, WaitingPods>();
  private gateway: Replica | undefined;
  private readonly portMap: Record<number, number>;
  private readonly sidecars: boolean;
  private readonly gatewayEnabled: boolean;
  private readonly ctx: ReplicaContext;
  private readonly skiff: string[];
  private readonly waiter = new ReadyWaiter();
  /** Per namespace, the port of the service proxy its pods without a sidecar use (`service-proxy.ts`). */
  private readonly serviceProxies = new Map<string, Promise<number>>();
  private readonly serviceProxyServers: ServiceProxy[] = [];
  /** Every proxy's bootstrap token, the proof of workload the control plane's CA asks about. */
  private readonly credentials: PodCredentials;
  /** Pods a previous runtime left running, until they are adopted or stopped. */
  private leftovers: PodRecord[];
  private readonly adopt: boolean;
  private chain: Promise<void> = Promise.resolve();
  private persistTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: LocalRuntimeOptions) {
    this.sidecars = opts.sidecars ?? true;
    this.gatewayEnabled = this.sidecars && (opts.gateway ?? true);
    this.portMap = ingressPortMap(opts.ingressPort ?? 8080, opts.ingressPorts);
    this.reserveIngressPorts();
    this.skiff = opts.skiffCommand ?? skiffArgv();
    this.credentials = new PodCredentials(opts.stateDir);
    this.ctx = {
      registry: opts.registry,
      stateDir: opts.stateDir,
      cwd: opts.repoRoot,
      controlPlaneUrl: opts.controlPlaneUrl,
      baseEnv: baseEnvironment(),
      backoff: opts.backoffMs ?? { initial: 1000, max: 30_000 },
      log: opts.log,
      logProxies: opts.logProxies ?? false,
      changed: () => this.changed(),
    };
    const previous = readPodsFile(opts.stateDir);
    // Only a runtime whose host is gone leaves pods behind; a live one still owns them. They are
    // adopted where they match the desired state, and stopped after the first sync otherwise.
    this.leftovers = previous !== undefined && (previous.pid === process.pid || !alive(previous.pid)) ? previous.pods : [];
    this.adopt = opts.adopt ?? true;
  }

  sync(resources: readonly Resource[]): Promise<void> {
    const run = this.chain.then(() => this.reconcile(resources));
    this.chain = run.catch(() => undefined);
    return run;
  }

  pods(): PodStatus[] {
    const all = [...this.replicas.values(), ...(this.gateway ? [this.gateway] : [])];
    return [...all.map((r) => r.toStatus()), ...[...this.waiting.values()].flatMap(waitingStatuses)].sort(byNamespaceAndName);
  }

  gateways(): GatewayTarget[] {
    return this.gatewayEnabled ? [gatewayTarget(this.portMap)] : [];
  }

  identityOfCredential(credential: string): { namespace: string; serviceAccount: string } | undefined {
    const pod = this.credentials.lookup(credential);
    return pod === undefined ? undefined : { namespace: pod.namespace, serviceAccount: pod.serviceAccount };
  }

  waitReady(timeoutMs: number): Promise<void> {
    return this.waiter.wait(timeoutMs, () => this.notReady(), () => this.blocked());
  }

  logFile(pod: string, container: 'app' | 'proxy', namespace?: string): string {
    const r = this.find(pod, namespace);
    return r ? r.logFile(container) : logFilePath(this.opts.stateDir, namespace ?? 'default', pod, container);
  }

  execEnv(workload: { name: string; namespace?: string }): Record<string, string> {
    const r = this.find(workload.name, workload.namespace);
    if (r === undefined) throw new Error(`no pod or deployment "${workload.name}" in namespace ${workload.namespace ?? 'default'}`);
    return { ...r.plan.execEnv };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.chain;
    const all = [...this.replicas.values(), ...(this.gateway ? [this.gateway] : [])];
    await Promise.all([...all.map((r) => r.terminate(0)), ...this.terminations]);
    for (const r of all) this.credentials.revoke(r.namespace, r.name);
    this.replicas.clear();
    this.gateway = undefined;
    await this.stopLeftovers();
    clearTimeout(this.persistTimer);
    await Promise.all(this.serviceProxyServers.map((p) => p.close()));
    writePodsFile(this.opts.stateDir, []);
    this.waiter.settle(() => new Error('the runtime stopped before everything was ready'));
  }

  /**
   * A proxy it runs refused its config. One that cannot listen on a port it was given (another
   * process bound the port between its allocation and the proxy's bind) gets a fresh start, as a
   * pod whose container cannot start is recreated: the replica is retired at once and its
   * workload scaled back up, the new replica on freshly drawn ports. The gateway listens where
   * the user said, so its conflicts are only reported.
   */
  proxyRejected(proxyId: string, reason: string): void {
    if (this.stopped || !/EADDRINUSE|address already in use/i.test(reason)) return;
    const replica = [...this.replicas.values()].find((r) => r.plan.proxyId === proxyId && !r.terminating);
    if (replica === undefined) return;
    this.opts.log(`pod ${replica.namespace}/${replica.name}: its proxy cannot listen (${reason}); replacing the pod on fresh ports`);
    const owner = replica.plan.owner;
    void this.retire(replica, true).then(() => {
      if (this.stopped) return;
      const run = this.chain.then(async () => {
        const spec = this.desired.get(owner);
        if (spec !== undefined && !this.stopped) await this.scale(spec);
        this.changed();
      });
      this.chain = run.catch((err: unknown) => this.opts.log(`${owner}: cannot start a replacement: ${err instanceof Error ? err.message : String(err)}`));
    });
  }

  private async reconcile(resources: readonly Resource[]): Promise<void> {
    if (this.stopped) throw new Error('the runtime has stopped');
    const state = desiredState(resources, this.opts.images, this.opts.maxGraceMs ?? 10_000);
    if (this.gatewayEnabled && this.gateway === undefined) await this.startGateway();
    this.services = state.services;
    for (const spec of state.workloads) {
      const seen = this.desired.get(spec.key)?.hash === spec.hash;
      if (!seen) for (const name of spec.ignoredContainers) this.opts.log(`${spec.key}: container "${name}" does not run locally (only the first container does)`);
    }
    this.desired = new Map(state.workloads.map((w) => [w.key, w]));
    this.waiting = new Map(state.waiting.map((w) => [w.key, this.waitingPods(w)]));
    for (const spec of state.workloads) await this.scale(spec);
    // Pods of a template that ran keep running while its new one cannot (a rollout that is stuck).
    for (const r of [...this.replicas.values()]) if (!this.desired.has(r.plan.owner) && !this.waiting.has(r.plan.owner)) void this.retire(r);
    await this.stopLeftovers();
    this.changed();
  }

  /** The waiting pods of `w`: the same names while its template and replica count stay the same. */
  private waitingPods(w: WaitingWorkload): WaitingPods {
    const before = this.waiting.get(w.key);
    if (before !== undefined && before.spec.hash === w.hash && before.spec.replicas === w.replicas && before.spec.message === w.message) return before;
    this.opts.log(`${w.kind} ${w.namespace}/${w.name}: its pods wait (${w.reason}): ${w.message}`);
    const taken = (n: string): boolean => this.replicas.has(`${w.namespace}/${n}`);
    const names = w.kind === 'Pod' ? [w.name] : Array.from({ length: w.replicas }, () => replicaName(w.name, w.hash, taken));
    return { spec: w, names, since: before?.spec.hash === w.hash ? before.since : new Date().toISOString() };
  }

  /** Starts missing replicas of the current template and retires extra ones; old templates go once the new ones are ready. */
  private async scale(spec: WorkloadSpec): Promise<void> {
    const mine = [...this.replicas.values()].filter((r) => r.plan.owner === spec.key && !r.terminating);
    const current = mine.filter((r) => r.plan.hash === spec.hash);
    const outdated = mine.filter((r) => r.plan.hash !== spec.hash);
    // A Pod is immutable: a changed one is replaced, not surged.
    if (spec.kind === 'Pod') for (const r of outdated) await this.retire(r, true);
    for (let i = current.length; i < spec.replicas; i++) current.push(await this.startReplica(spec));
    const extra = current
      .sort((a, b) => Number(a.ready) - Number(b.ready) || cmp(b.startedAt, a.startedAt))
      .slice(0, Math.max(current.length - spec.replicas, 0));
    for (const r of extra) void this.retire(r);
    this.rollOver(spec);
  }

  /** Retires a Deployment's replicas of older templates once enough of the current one are ready. */
  private rollOver(spec: WorkloadSpec): void {
    const mine = [...this.replicas.values()].filter((r) => r.plan.owner === spec.key && !r.terminating);
    const readyCurrent = mine.filter((r) => r.plan.hash === spec.hash && r.ready).length;
    if (readyCurrent < spec.replicas) return;
    for (const r of mine) if (r.plan.hash !== spec.hash) void this.retire(r);
  }

  private async startReplica(spec: WorkloadSpec): Promise<Replica> {
    const withSidecar = this.sidecars && spec.sidecar;
    const leftover = this.takeLeftover((p) => p.owner === spec.key && p.hash === spec.hash && p.kind === 'workload' && (p.ports.admin !== undefined) === withSidecar);
    let name: string;
    let ports: PodPorts;
    if (leftover) {
      name = leftover.name;
      ports = leftover.ports;
      reservePorts(allPorts(ports));
      this.opts.log(`pod ${spec.namespace}/${name}: adopted from the previous run`);
    } else {
      name = spec.kind === 'Deployment' ? replicaName(spec.name, spec.hash, (n) => this.replicas.has(`${spec.namespace}/${n}`)) : spec.name;
      ports = await this.allocate(spec);
    }
    const credentialFile = ports.admin === undefined ? undefined : this.credentials.issue({ namespace: spec.namespace, pod: name, serviceAccount: spec.serviceAccount });
    // A pod the mesh left without a sidecar reaches Services as through kube-proxy.
    const serviceProxyPort = this.sidecars && !spec.sidecar ? await this.serviceProxyPort(spec.namespace) : undefined;
    const plan = workloadPlan(spec, name, ports, {
      baseEnv: this.ctx.baseEnv,
      stateDir: this.ctx.stateDir,
      skiff: this.skiff,
      controlPlaneUrl: this.opts.controlPlaneUrl,
      ...(credentialFile !== undefined ? { credentialFile } : {}),
      ...(serviceProxyPort !== undefined ? { serviceProxyPort } : {}),
    });
    const replica = new Replica(plan, ports, this.ctx, leftover);
    this.replicas.set(`${spec.namespace}/${name}`, replica);
    replica.start();
    return replica;
  }

  private async allocate(spec: WorkloadSpec): Promise<PodPorts> {
    const n = spec.ports.length;
    const sidecar = this.sidecars && spec.sidecar;
    const services = sidecar ? servicePortsFor(this.services, spec.namespace) : [];
    const free = await allocatePorts(sidecar ? 2 * n + 2 + services.length : n);
    const app: Record<number, number> = {};
    const mesh: Record<number, number> = {};
    spec.ports.forEach((p, i) => {
      app[p.containerPort] = free[i]!;
      mesh[p.containerPort] = sidecar ? free[n + i] : free[i];
    });
    if (!sidecar) return { app, mesh };
    const ports: PodPorts = { app, mesh, outbound: free[2 * n], admin: free[2 * n + 1] };
    if (services.length > 0) ports.services = services.map((s, i) => ({ ...s, localPort: free[2 * n + 2 + i] }));
    return ports;
  }

  /** The namespace's service proxy for pods without a sidecar, started on first use. */
  private serviceProxyPort(namespace: string): Promise<number> | undefined {
    const registry = this.opts.services;
    if (registry === undefined) return undefined;
    let port = this.serviceProxies.get(namespace);
    if (port === undefined) {
      const proxy = new ServiceProxy({ namespace, registry });
      this.serviceProxyServers.push(proxy);
      port = proxy.listen(0);
      this.serviceProxies.set(namespace, port);
    }
    return port;
  }

  private async startGateway(): Promise<void> {
    const hash = gatewayHash(this.portMap);
    const leftover = this.takeLeftover((p) => p.kind === 'gateway' && p.hash === hash && p.pids.proxy !== undefined && alive(p.pids.proxy));
    if (leftover === undefined) {
      await this.stopLeftovers((p) => p.kind === 'gateway');
      for (const port of new Set(Object.values(this.portMap).filter((p) => p !== 0))) {
        if (!(await canBind(port))) throw new Error(`the ingress gateway cannot listen on 127.0.0.1:${port}: the port is in use (choose another with --ingress-port)`);
      }
    }
    // A retired gateway released its ports with the rest of its own.
    this.reserveIngressPorts();
    const admin = leftover?.ports.admin ?? (await allocatePorts(1))[0];
    const name = leftover?.name ?? replicaName(GATEWAY_NAME, hash, () => false);
    const target = gatewayTarget(this.portMap);
    const credentialFile = this.credentials.issue({ namespace: target.namespace, pod: name, serviceAccount: GATEWAY_SERVICE_ACCOUNT });
    const argv = proxyArgv(this.skiff, this.opts.controlPlaneUrl, target.id, admin, 'gateway', { name, namespace: target.namespace, serviceAccount: GATEWAY_SERVICE_ACCOUNT, labels: target.labels }, credentialFile);
    const plan = gatewayPlan(name, this.portMap, argv, this.opts.maxGraceMs ?? 10_000);
    this.gateway = new Replica(plan, { app: {}, mesh: { ...this.portMap }, admin }, this.ctx, leftover);
    this.gateway.start();
  }

  /**
   * The gateway's listener ports are chosen by the user (or the caller's own allocation) before
   * the gateway binds them: no pod or admin port may be drawn on top of them meanwhile.
   */
  private reserveIngressPorts(): void {
    if (this.gatewayEnabled) reservePorts(Object.values(this.portMap).filter((p) => p !== 0));
  }

  /** Takes a replica out of service and stops it, then forgets it. */
  private retire(r: Replica, now = false): Promise<void> {
    const done = r.terminate(now || this.stopped ? 0 : (this.opts.deregisterDelayMs ?? 1000)).then(() => {
      this.credentials.revoke(r.namespace, r.name);
      if (this.replicas.get(`${r.namespace}/${r.name}`) === r) this.replicas.delete(`${r.namespace}/${r.name}`);
      this.terminations.delete(done);
      this.changed();
    });
    this.terminations.add(done);
    return done;
  }

  private takeLeftover(match: (p: PodRecord) => boolean): PodRecord | undefined {
    if (!this.adopt) return undefined;
    const i = this.leftovers.findIndex((p) => match(p) && (p.pids.app === undefined || alive(p.pids.app)));
    return i < 0 ? undefined : this.leftovers.splice(i, 1)[0];
  }

  /** Stops processes of a previous run that nothing adopted (all of them, or those matching). */
  private async stopLeftovers(match: (p: PodRecord) => boolean = () => true): Promise<void> {
    const gone = this.leftovers.filter(match);
    this.leftovers = this.leftovers.filter((p) => !match(p));
    for (const p of gone) this.credentials.revoke(p.namespace, p.name);
    const pids = gone.flatMap((p) => [p.pids.app, p.pids.proxy]).filter((pid): pid is number => pid !== undefined && alive(pid));
    await Promise.all(pids.map((pid) => ManagedProcess.adopt(pid, 100).terminate(this.opts.maxGraceMs ?? 10_000)));
  }

  private find(name: string, namespace?: string): Replica | undefined {
    const all = [...this.replicas.values(), ...(this.gateway ? [this.gateway] : [])].filter((r) => namespace === undefined || r.namespace === namespace);
    return all.find((r) => r.name === name) ?? all.filter((r) => r.plan.deployment === name && !r.terminating).sort((a, b) => Number(b.ready) - Number(a.ready))[0];
  }

  private notReady(): string[] {
    const pods = [...this.replicas.values()];
    const problems: string[] = [];
    for (const spec of this.desired.values()) {
      const mine = pods.filter((r) => r.plan.owner === spec.key);
      const readyCurrent = mine.filter((r) => r.plan.hash === spec.hash && (r.ready || r.done)).length;
      if (readyCurrent < spec.replicas || mine.some((r) => r.plan.hash !== spec.hash || r.terminating)) {
        problems.push(notReadyReport(`${spec.kind} ${spec.namespace}/${spec.name}: ${readyCurrent}/${spec.replicas} ready`, mine));
      }
    }
    problems.push(...this.blocked());
    for (const r of pods) if (!this.desired.has(r.plan.owner) && !this.waiting.has(r.plan.owner)) problems.push(`pod ${r.namespace}/${r.name}: still terminating`);
    if (this.gatewayEnabled && !this.gateway?.ready) problems.push(notReadyReport('the ingress gateway is not ready', this.gateway ? [this.gateway] : []));
    return problems;
  }

  /** What cannot become ready until the config changes: the waiting workloads, each with its reason. */
  private blocked(): string[] {
    return [...this.waiting.values()].map(({ spec: w }) => `${w.kind} ${w.namespace}/${w.name}: 0/${w.replicas} ready: ${w.reason}: ${w.message}`);
  }

  private changed(): void {
    for (const spec of this.desired.values()) if (spec.kind === 'Deployment') this.rollOver(spec);
    this.waiter.check(() => this.notReady());
    if (this.persistTimer !== undefined || this.stopped) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      if (this.stopped) return;
      const all = [...this.replicas.values(), ...(this.gateway ? [this.gateway] : [])];
      writePodsFile(this.opts.stateDir, all.map((r) => r.record()).sort(byNamespaceAndName));
    }, 50);
  }
}

interface WaitingPods {
  spec: WaitingWorkload;
  names: string[];
  /** When its pods started waiting (their AGE). */
  since: string;
}

/** The pods of a workload that cannot run, as `skiff get pods` shows them: not ready, the reason as their status. */
function waitingStatuses({ spec: w, names, since }: WaitingPods): PodStatus[] {
  return names.map((name) => ({
    name,
    namespace: w.namespace,
    ...(w.kind === 'Deployment' ? { deployment: w.name } : {}),
    kind: 'workload',
    ready: false,
    status: w.reason,
    restarts: 0,
    startedAt: since,
    ports: { app: {}, mesh: {} },
    labels: w.labels,
    serviceAccount: w.serviceAccount,
    ...(w.image !== undefined ? { image: w.image } : {}),
    ...(w.container !== undefined ? { container: w.container } : {}),
    pids: {},
    reason: w.message,
  }));
}

function byNamespaceAndName(a: { namespace: string; name: string }, b: { namespace: string; name: string }): number {
  return a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
