/**
 * One pod of the local runtime: its app process and its proxy (a sidecar, or the gateway proxy
 * alone), their readiness, crash restarts with exponential backoff, its entry in the service
 * registry, and a graceful termination.
 */
import { writeVolumes } from './volumes.js';
import { statSync } from 'node:fs';
import type { WorkloadInstance } from '../registry/types.js';
import { followLog, type LogFollower } from './log-follow.js';
import { ManagedProcess, alive, type ExitInfo } from './process.js';
import { releasePorts } from './ports.js';
import { ReadinessLoop } from './readiness.js';
import { logFilePath, type PodRecord } from './state-file.js';
import type { PodPhase, PodPorts, PodStatus } from './types.js';
import { allPorts, namesToPorts, portNames, type ReplicaContext, type ReplicaPlan } from './replica-plan.js';

type Which = 'app' | 'proxy';

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function describeExit(info: ExitInfo): string {
  if (info.error !== undefined) return info.error;
  return info.signal !== null ? `killed by ${info.signal}` : `exit code ${info.code}`;
}

export class Replica {
  restarts: number;
  readonly startedAt: string;
  reason: string | undefined;
  private readonly procs: Partial<Record<Which, ManagedProcess>> = {};
  private readonly readyOf: Record<Which, boolean> = { app: false, proxy: false };
  private readonly loops: Partial<Record<Which, ReadinessLoop>> = {};
  private readonly timers: Partial<Record<Which, NodeJS.Timeout>> = {};
  private readonly crashes: Record<Which, number> = { app: 0, proxy: 0 };
  private readonly began: Record<Which, number> = { app: 0, proxy: 0 };
  private readonly followers: LogFollower[] = [];
  private finished: 'Completed' | 'Error' | undefined;
  private termination: Promise<void> | undefined;
  /** Set before the termination's first step, which already notifies the runtime. */
  private stopping = false;

  constructor(
    readonly plan: ReplicaPlan,
    readonly ports: PodPorts,
    private readonly ctx: ReplicaContext,
    private readonly adopted?: PodRecord,
  ) {
    this.restarts = adopted?.restarts ?? 0;
    this.startedAt = adopted?.startedAt ?? new Date().toISOString();
  }

  get name(): string {
    return this.plan.name;
  }

  get namespace(): string {
    return this.plan.namespace;
  }

  get terminating(): boolean {
    return this.stopping;
  }

  get ready(): boolean {
    return (this.plan.app === undefined || this.readyOf.app) && (this.plan.proxyArgv === undefined || this.readyOf.proxy);
  }

  /** Done for good (a Pod that completed or failed under restartPolicy Never/OnFailure). */
  get done(): boolean {
    return this.finished !== undefined;
  }

  get status(): PodPhase {
    if (this.terminating) return 'Terminating';
    if (this.finished) return this.finished;
    if (this.timers.app || this.timers.proxy) return 'CrashLoopBackOff';
    return Object.values(this.procs).some((p) => p?.running) ? 'Running' : 'Pending';
  }

  logFile(which: Which): string {
    return logFilePath(this.ctx.stateDir, this.namespace, this.name, this.plan.app === undefined ? 'proxy' : which);
  }

  start(): void {
    if (this.plan.kind === 'workload') this.ctx.registry.upsertWorkload(this.instance());
    if (this.plan.app) this.follow('app', `[${this.name}] `);
    if (this.ctx.logProxies || this.plan.app === undefined) this.follow('proxy', `[${this.name} proxy] `);
    if (this.plan.proxyArgv) {
      const pid = this.adopted?.pids.proxy;
      if (pid !== undefined && alive(pid) && this.adopted?.controlPlaneUrl !== this.ctx.controlPlaneUrl) {
        // It would keep asking the old control plane: replaced once it has let go of its ports.
        void ManagedProcess.adopt(pid, 100)
          .terminate(this.plan.graceMs)
          .then(() => this.terminating || this.run('proxy'));
      } else {
        this.run('proxy', pid);
      }
    }
    if (this.plan.app) this.run('app', this.adopted?.pids.app);
  }

  /** Deregisters, waits `deregisterDelayMs` for proxies to stop sending traffic, then stops both processes. */
  terminate(deregisterDelayMs: number): Promise<void> {
    this.stopping = true;
    this.termination ??= (async () => {
      for (const which of ['app', 'proxy'] as const) {
        clearTimeout(this.timers[which]);
        delete this.timers[which];
        this.loops[which]?.stop();
        this.readyOf[which] = false;
      }
      if (this.plan.kind === 'workload') this.ctx.registry.removeWorkload(this.namespace, this.name);
      this.ctx.changed();
      if (deregisterDelayMs > 0) await new Promise((r) => setTimeout(r, deregisterDelayMs));
      await Promise.all(Object.values(this.procs).map((p) => p?.terminate(this.plan.graceMs)));
      await Promise.all(this.followers.map((f) => f.stop()));
      releasePorts(allPorts(this.ports));
      this.ctx.changed();
    })();
    return this.termination;
  }

  toStatus(): PodStatus {
    return {
      name: this.name,
      namespace: this.namespace,
      deployment: this.plan.deployment,
      kind: this.plan.kind,
      ready: this.ready,
      status: this.status,
      restarts: this.restarts,
      startedAt: this.startedAt,
      ports: this.ports,
      labels: this.plan.labels,
      serviceAccount: this.plan.serviceAccount,
      image: this.plan.image,
      container: this.plan.containerName,
      pids: { app: this.procs.app?.running ? this.procs.app.pid : undefined, proxy: this.procs.proxy?.running ? this.procs.proxy.pid : undefined },
      reason: this.ready ? undefined : this.reason,
    };
  }

  record(): PodRecord {
    const s = this.toStatus();
    return {
      name: s.name,
      namespace: s.namespace,
      kind: s.kind,
      owner: this.plan.owner,
      deployment: s.deployment,
      hash: this.plan.hash,
      labels: s.labels,
      serviceAccount: s.serviceAccount,
      image: s.image,
      containerPortNames: portNames(this.plan.containerPorts),
      ports: s.ports,
      pids: s.pids,
      controlPlaneUrl: this.plan.proxyArgv ? this.ctx.controlPlaneUrl : undefined,
      status: s.status,
      ready: s.ready,
      restarts: s.restarts,
      startedAt: s.startedAt,
      logs: { app: this.logFile('app'), proxy: this.logFile('proxy') },
      execEnv: this.plan.execEnv,
      tools: this.plan.tools,
    };
  }

  /** The registry's view of this replica. */
  instance(): WorkloadInstance {
    const w: WorkloadInstance = {
      name: this.name,
      namespace: this.namespace,
      labels: this.plan.labels,
      serviceAccount: this.plan.serviceAccount,
      address: '127.0.0.1',
      ready: this.ready,
      meshPorts: this.ports.mesh,
      appPorts: this.ports.app,
      containerPortNames: portNames(this.plan.containerPorts),
    };
    if (this.ports.outbound !== undefined && this.ports.admin !== undefined && this.plan.proxyId !== undefined) {
      w.sidecar = { outboundPort: this.ports.outbound, adminPort: this.ports.admin, proxyId: this.plan.proxyId };
      if (this.ports.services !== undefined && this.ports.services.length > 0) w.sidecar.localServices = this.ports.services;
    }
    return w;
  }

  private follow(which: Which, prefix: string): void {
    const file = logFilePath(this.ctx.stateDir, this.namespace, this.name, which);
    this.followers.push(followLog(file, (line) => this.ctx.log(`${prefix}${line}`), { fromOffset: fileSize(file) }));
  }

  private run(which: Which, adoptPid?: number): void {
    delete this.timers[which];
    const spec = which === 'app' ? this.plan.app! : undefined;
    // The app's volumes are (re)written as it starts, as the kubelet mounts them.
    if (spec?.files !== undefined && adoptPid === undefined) writeVolumes(spec.files.root, spec.files.volumes);
    const proc =
      adoptPid !== undefined && alive(adoptPid)
        ? ManagedProcess.adopt(adoptPid)
        : ManagedProcess.spawn({
            argv: which === 'app' ? spec!.argv : this.plan.proxyArgv!,
            env: which === 'app' ? spec!.env : this.ctx.baseEnv,
            cwd: this.ctx.cwd,
            logFile: logFilePath(this.ctx.stateDir, this.namespace, this.name, which),
          });
    this.procs[which] = proc;
    this.began[which] = Date.now();
    const loop =
      which === 'app'
        ? new ReadinessLoop(spec!.probe, { appPorts: this.ports.app, portNames: namesToPorts(this.plan.containerPorts) }, (ready, reason) => this.setReady('app', ready, reason))
        : // A proxy is ready once it has applied a snapshot (its admin /ready says LIVE).
          new ReadinessLoop(
            { httpGet: { path: '/ready', port: this.ports.admin! }, periodSeconds: 2, failureThreshold: 2 },
            { appPorts: { [this.ports.admin!]: this.ports.admin! }, portNames: {} },
            (ready, reason) => this.setReady('proxy', ready, reason && `proxy: ${reason}`),
          );
    this.loops[which] = loop;
    loop.start();
    this.ctx.changed();
    void proc.exited.then((info) => this.exited(which, proc, info));
  }

  private setReady(which: Which, ready: boolean, reason?: string): void {
    const before = this.ready;
    this.readyOf[which] = ready;
    if (!ready && reason !== undefined) this.reason = reason;
    if (before !== this.ready) {
      if (this.plan.kind === 'workload') this.ctx.registry.setReady(this.namespace, this.name, this.ready);
      if (this.ready) this.ctx.log(`pod ${this.namespace}/${this.name} ready`);
    }
    this.ctx.changed();
  }

  private exited(which: Which, proc: ManagedProcess, info: ExitInfo): void {
    if (this.terminating || this.finished || this.procs[which] !== proc) return;
    this.loops[which]?.stop();
    this.setReady(which, false, `${which} ${describeExit(info)}`);
    const policy = which === 'app' ? this.plan.app!.restartPolicy : 'Always';
    const failed = info.code !== 0 || info.signal !== null || info.error !== undefined;
    if (policy === 'Never' || (policy === 'OnFailure' && !failed)) {
      this.finished = failed ? 'Error' : 'Completed';
      this.ctx.log(`pod ${this.namespace}/${this.name}: ${which} ${describeExit(info)}; not restarted (restartPolicy ${policy})`);
      // Nothing is left to serve: the sidecar goes too.
      void this.procs.proxy?.terminate(this.plan.graceMs);
      this.ctx.changed();
      return;
    }
    // A process that ran long enough counts as healthy again: the backoff starts over.
    if (Date.now() - this.began[which] >= 2 * this.ctx.backoff.max) this.crashes[which] = 0;
    const delay = Math.min(this.ctx.backoff.initial * 2 ** this.crashes[which], this.ctx.backoff.max);
    this.crashes[which]++;
    this.reason = `back-off ${delay} ms restarting failed ${which} (${describeExit(info)})`;
    this.ctx.log(`pod ${this.namespace}/${this.name}: ${which} ${describeExit(info)}; restarting in ${delay} ms`);
    this.timers[which] = setTimeout(() => {
      this.restarts++;
      this.run(which);
    }, delay);
    this.ctx.changed();
  }
}
