/**
 * Runs the proxy as a process: takes its snapshots from a file (reloaded on SIGHUP; a bad file is
 * refused and the running config kept) or from the control plane (`control-client.ts`), drains on
 * SIGTERM/SIGINT, and with `concurrency` > 1 runs that many worker processes sharing the
 * listeners (node:cluster).
 */
import cluster from 'node:cluster';
import { readFile } from 'node:fs/promises';
import type { ControlClient } from './control-client.js';
import { WorkerRelay, serveRelayedSnapshots } from './control-relay.js';
import { describeListeners, reportJwksStates, startControlClient, startRelayedIdentity, startWorkloadIdentity, urlOf } from './control-run.js';
import type { WorkloadIdentity } from './identity/workload-identity.js';
import type { ControlPlaneOptions } from './control-run.js';
import { SkiffProxy } from './proxy.js';
import { serveSharedBuckets, WorkerTokenBuckets } from './shared-buckets.js';
import { SnapshotError } from '../snapshot/index.js';
import { checkSnapshot } from './snapshot.js';
import { answerMetricsRequests, answerStatsRequests, otherWorkersMetrics, otherWorkersStats, relayWorkerMetrics } from './worker-metrics.js';
import { DEFAULT_RUN_TELEMETRY, ProxyProcessTelemetry } from '../telemetry/process.js';
import type { TelemetryRunOptions } from '../telemetry/process.js';
import { PROMETHEUS_PATH } from '../telemetry/metrics/server.js';
import { gatedLog } from './admin/log-levels.js';
import { appProbeHandler } from './admin/app-probes.js';
import type { AppProber } from './admin/app-probes.js';

export interface RunProxyOptions {
  /** Where snapshots come from: a file, or the control plane (exactly one of the two). */
  snapshotFile?: string;
  controlPlane?: ControlPlaneOptions;
  adminPort: number;
  adminAddress: string;
  healthPort: number;
  healthAddress: string;
  /** Worker processes; 1 runs in this process. */
  concurrency: number;
  drainMs: number;
  log: (line: string) => void;
  /** Metrics port, access log and tracing defaults (the snapshot may override); absent = Istio's defaults. */
  telemetry?: TelemetryRunOptions;
  /**
   * The app containers' original probes (`ISTIO_KUBE_APP_PROBERS`), answered on the metrics
   * port (the status port 15020) at `/app-health/…`, against `appHost` (the pod's IP).
   */
  appProbes?: { probers: ReadonlyMap<string, AppProber>; appHost: string };
}

/** Reads a snapshot file (JSON, or YAML for .yaml/.yml). Errors name the file. */
export async function readSnapshotFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read snapshot ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    // The YAML parser is loaded only for YAML files: it would add megabytes to every sidecar's memory.
    return /\.ya?ml$/i.test(file) ? ((await import('yaml')).parse(text) as unknown) : (JSON.parse(text) as unknown);
  } catch (err) {
    throw new Error(`snapshot ${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Starts the proxy (or its workers) and resolves once it has shut down. */
export async function runProxy(opts: RunProxyOptions): Promise<void> {
  if (opts.concurrency > 1 && cluster.isPrimary) {
    await runPrimary(opts);
    return;
  }
  // Lines go through the loggers the admin's /logging sets (`skiff proxy-config log`).
  const log = gatedLog(opts.log, 'main');
  const faultLog = gatedLog(opts.log, 'main', 'error');
  const configLog = gatedLog(opts.log, 'config');
  const rejectLog = gatedLog(opts.log, 'config', 'warning');
  // A fault in one request's path must not take every connection of the process down with it.
  process.on('uncaughtException', (err) => faultLog(`internal error (serving on): ${err.stack ?? String(err)}`));
  // Among workers only the first serves admin and health, so those ports stay single.
  const first = cluster.isPrimary || cluster.worker?.id === 1;
  const telemetry = ProxyProcessTelemetry.create(opts.telemetry ?? DEFAULT_RUN_TELEMETRY);
  const proxy = await SkiffProxy.create({
    adminPort: first ? opts.adminPort : null,
    adminAddress: opts.adminAddress,
    healthPort: first ? opts.healthPort : null,
    healthAddress: opts.healthAddress,
    drainTimeoutMs: opts.drainMs,
    telemetry: telemetry.hooks,
    concurrency: opts.concurrency,
    // The admin port (first worker) shows every worker's stats in /stats.
    ...(cluster.isWorker ? { otherWorkersStats } : {}),
    // Workers share the primary's token buckets, as Envoy's worker threads share one per limit.
    ...(cluster.isWorker ? { tokenBuckets: new WorkerTokenBuckets() } : {}),
  });
  const tag = cluster.isWorker ? `[worker ${cluster.worker!.id}] ` : '';
  // Under --concurrency the metrics port (first worker) sums every worker's figures.
  if (cluster.isWorker) {
    answerMetricsRequests(() => telemetry.hooks.dump());
    answerStatsRequests(() => proxy.stats());
  }
  const admin = proxy.adminAddress();
  const adminUrl = admin === null ? undefined : urlOf(admin);
  // The metrics port opens before the control stream, so the hello can announce it.
  let metricsUrl: string | undefined;
  if (first) {
    // Metrics are worth having, not worth refusing traffic over: a taken port is reported and skipped.
    const probes = opts.appProbes !== undefined ? appProbeHandler(opts.appProbes.probers, opts.appProbes.appHost) : undefined;
    const at = await telemetry.start(proxy, true, cluster.isWorker ? otherWorkersMetrics : undefined, probes).catch((err: NodeJS.ErrnoException) => {
      log(`${tag}metrics not served: cannot listen on ${opts.telemetry?.metricsAddress ?? DEFAULT_RUN_TELEMETRY.metricsAddress}:${opts.telemetry?.metricsPort ?? DEFAULT_RUN_TELEMETRY.metricsPort}: ${err.code ?? String(err)}`);
      return null;
    });
    if (at !== null) {
      metricsUrl = urlOf(at, PROMETHEUS_PATH);
      log(`${tag}metrics on ${at.address}:${at.port}${PROMETHEUS_PATH}`);
    }
  }
  let client: ControlClient | null = null;
  let identity: WorkloadIdentity | null = null;
  let onHup = (): void => log(`${tag}SIGHUP ignored: snapshots come from the control plane`);
  if (opts.snapshotFile !== undefined) {
    const file = opts.snapshotFile;
    const load = async (): Promise<boolean> => {
      try {
        const report = await proxy.applySnapshot(await readSnapshotFile(file));
        configLog(`${tag}snapshot ${report.version} applied; listeners: ${describeListeners(proxy)}`);
        return true;
      } catch (err) {
        const why = err instanceof SnapshotError ? `snapshot rejected: ${err.message}` : err instanceof Error ? err.message : String(err);
        rejectLog(`${tag}${why}`);
        return false;
      }
    };
    if (!(await load())) {
      await proxy.close();
      throw new Error('no valid snapshot to start with');
    }
    onHup = (): void => void load();
  } else if (cluster.isWorker) {
    // The primary holds the stream to the control plane and relays the snapshots.
    serveRelayedSnapshots(proxy, adminUrl, (line) => configLog(`${tag}${line}`), metricsUrl, opts.controlPlane?.credentialFile !== undefined);
  } else if (opts.controlPlane !== undefined) {
    client = startControlClient({
      controlPlane: opts.controlPlane,
      target: proxy,
      ...(adminUrl !== undefined ? { adminUrl } : {}),
      ...(metricsUrl !== undefined ? { metricsUrl } : {}),
      log: configLog,
      describe: () => describeListeners(proxy),
    });
    identity = startWorkloadIdentity(opts.controlPlane, client, proxy, log);
    reportJwksStates(client, proxy);
  } else {
    throw new Error('no snapshot source: give a snapshot file or a control plane');
  }
  if (first) {
    const health = proxy.healthAddress();
    if (admin !== null) log(`${tag}admin on ${admin.address}:${admin.port}`);
    if (health !== null) log(`${tag}health on ${health.address}:${health.port}`);
  }
  await new Promise<void>((resolve) => {
    const onStop = (): void => {
      process.removeListener('SIGHUP', onHup);
      log(`${tag}draining`);
      identity?.close();
      void (client?.close() ?? Promise.resolve())
        .then(() => proxy.close(opts.drainMs))
        .then(() => telemetry.close())
        .then(resolve);
    };
    process.on('SIGHUP', onHup);
    process.once('SIGTERM', onStop);
    process.once('SIGINT', onStop);
  });
  // A worker's channel to the primary would keep it alive.
  cluster.worker?.disconnect();
}

async function runPrimary(opts: RunProxyOptions): Promise<void> {
  if (opts.snapshotFile !== undefined) {
    // Workers that cannot start would be restarted forever: a bad file is refused here, once.
    try {
      checkSnapshot(await readSnapshotFile(opts.snapshotFile));
    } catch (err) {
      opts.log(err instanceof SnapshotError ? `snapshot rejected: ${err.message}` : err instanceof Error ? err.message : String(err));
      throw new Error('no valid snapshot to start with');
    }
  }
  const relay = opts.controlPlane !== undefined ? new WorkerRelay(opts.log) : null;
  relayWorkerMetrics();
  serveSharedBuckets();
  const fork = (): void => {
    const worker = cluster.fork();
    relay?.add(worker);
  };
  for (let i = 0; i < opts.concurrency; i++) fork();
  let stopping = false;
  let crashLoop: (() => void) | null = null;
  const recentExits: number[] = [];
  cluster.on('exit', (worker, code) => {
    if (stopping) return;
    const now = Date.now();
    recentExits.push(now);
    while (recentExits[0] < now - CRASH_WINDOW_MS) recentExits.shift();
    if (recentExits.length > CRASH_LIMIT) {
      opts.log(`worker ${worker.id} exited (${code}); ${recentExits.length} workers exited within ${CRASH_WINDOW_MS / 1000} s: giving up`);
      process.exitCode = 1;
      crashLoop?.();
      return;
    }
    opts.log(`worker ${worker.id} exited (${code}); starting another`);
    fork();
  });
  let client: ControlClient | null = null;
  let identity: WorkloadIdentity | null = null;
  const controlPlane = opts.controlPlane;
  if (relay !== null && controlPlane !== undefined) {
    // The hello names the admin URL, which the first worker knows once it is up.
    void relay.adminUrl.then((adminUrl) => {
      const metricsUrl = relay.metricsUrl;
      if (stopping) return;
      client = startControlClient({ controlPlane, target: relay, ...(adminUrl !== undefined ? { adminUrl } : {}), ...(metricsUrl !== undefined ? { metricsUrl } : {}), log: opts.log });
      identity = startRelayedIdentity(controlPlane, client, relay, opts.log);
      const reporter = client;
      relay.watchJwks((states) => reporter.reportStatus(states));
    });
  }
  await new Promise<void>((resolve) => {
    process.on('SIGHUP', () => {
      if (relay !== null) return opts.log('SIGHUP ignored: snapshots come from the control plane');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP');
    });
    const stop = (): void => {
      stopping = true;
      identity?.close();
      void client?.close();
      const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
      let left = workers.length;
      if (left === 0) resolve();
      for (const w of workers) {
        w.once('exit', () => --left === 0 && resolve());
        w.process.kill('SIGTERM');
      }
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    crashLoop = stop;
  });
}

/** More worker exits than this within the window is a crash loop: the primary stops instead of restarting. */
const CRASH_LIMIT = 5;
const CRASH_WINDOW_MS = 10_000;
