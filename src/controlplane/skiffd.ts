/**
 * skiffd, the control plane in one process, built on providers: a config source (by default the
 * file-backed store of the state directory), a registry that the config's Services (through the
 * Service sync) and a workload provider (the local runtime, when one runs the workloads) publish
 * into, translation of config + registry into each proxy's snapshot, the push server proxies
 * stream from, and the HTTP API. It announces itself in `<state-dir>/skiffd.json` and pushes to
 * every proxy on any config or registry change.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, rm } from 'node:fs/promises';
import type { ConfigSource } from '../config/source.js';
import type { InputText } from '../config/sources.js';
import { ConfigStore } from '../config/store.js';
import { isWorkloadResource } from '../config/store-keys.js';
import { writeFileAtomic } from '../config/store-file.js';
import { acquireStoreLock } from '../config/store-lock.js';
import { applyTexts } from '../config/store-ops.js';
import { InputParser } from '../config/input-parser.js';
import type { ApplyResponse } from '../config/store-ops.js';
import { skiffdInfoFile } from '../config/state-dir.js';
import { MemoryRegistry } from '../registry/memory.js';
import { ServiceSync } from '../registry/service-sync.js';
import type { PublishedRegistry } from '../registry/types.js';
import type { WorkloadProvider, WorkloadProviderContext } from '../registry/workload-provider.js';
import { canBind } from '../runtime/ports.js';
import type { SkiffdInfo } from './api-types.js';
import { createApiServer, READ_ONLY_CONFIG } from './api.js';
import { apiTokenFile, ensureApiToken, readGivenApiToken } from './api-token.js';
import type { SkiffdStatus } from './api-types.js';
import { createPushServer } from './push/server.js';
import type { PushServer } from './push/server.js';
import type { ConnectedProxy } from './push/types.js';
import type { ProxySnapshot } from '../snapshot/index.js';
import { IsolatingTranslator } from './translate/isolate.js';
import { leftOutEntries } from './skiffd-left-out.js';
import { WithdrawalWatch } from './skiffd-withdrawals.js';
import { DEFAULT_MESH_OPTIONS } from './translate/types.js';
import { BootstrapTokenAuthenticator, DEFAULT_WORKLOAD_CERT_TTL_MS, MeshCa, WorkloadCertificates } from './ca/index.js';
import type { CsrAuthenticator } from './ca/index.js';
import type { MeshOptions } from './translate/types.js';
import { proxyTarget } from './skiffd-targets.js';
import { SKIFF_VERSION } from './build-info.js';
import { ConfigCache, WorkloadSync } from './skiffd-sync.js';
import { MeshConfigWatcher } from './skiffd-mesh.js';
import { meshOptionsFrom } from './mesh-options.js';
import { createMeshObserver, handleObserveRequest, SPANS_PATH } from './observe/index.js';
import type { MeshObserver, MeshObserverOptions } from './observe/index.js';
import { DEFAULT_DASHBOARD_PORT, startDashboard } from '../dashboard/server.js';
import type { Dashboard } from '../dashboard/server.js';

export const DEFAULT_API_PORT = 15080;
export const DEFAULT_PUSH_PORT = 15010;

/** What a workload provider (the local runtime) is given to start. */
export type RuntimeContext = WorkloadProviderContext;

/** The mesh CA (`src/controlplane/ca/`). */
export interface SkiffdCaOptions {
  /**
   * A directory laid out as Istio's `cacerts` secret (`ca-cert.pem`, `ca-key.pem`,
   * `root-cert.pem`, `cert-chain.pem`). Default: a self-signed root kept in `<state-dir>/ca/`.
   */
  certsDir?: string;
  /** A CA the caller made (on Kubernetes, from the Secret the replicas share); wins over `certsDir`. */
  instance?: MeshCa;
  /** Lifetime of workload certificates. Default 24 h, as Istio's. */
  workloadCertTtlMs?: number;
  /**
   * Who proves a certificate request's identity. Default: the workload provider's bootstrap
   * tokens (`identityOfCredential`); without a provider, no request is signed.
   */
  authenticator?: CsrAuthenticator;
}

export interface SkiffdOptions {
  stateDir: string;
  /** HTTP API port on 127.0.0.1 (0: any free port). Default 15080. */
  apiPort?: number;
  /** Push server port on 127.0.0.1 (0: any free port). Default 15010. */
  pushPort?: number;
  /**
   * The API's bearer token, read from this file and never written (on Kubernetes, a mounted
   * Secret). Default: `<state-dir>/api-token`, created with mode 0600 when absent.
   */
  apiTokenFile?: string;
  /**
   * `Host` values the API answers to besides 127.0.0.1, localhost and [::1] with its port
   * (`host:port`: the name a port-forward or a Service gives it on Kubernetes).
   */
  apiHosts?: string[];
  /**
   * The config skiffd translates and serves. Default: the file-backed store of `stateDir`, which
   * skiffd opens (holding its lock) and which its API's apply and delete write; with another
   * source, apply and delete are refused (config is changed at that source) and the caller
   * closes it.
   */
  config?: ConfigSource;
  /** The registry translation reads and providers publish into. Default: a new `MemoryRegistry`. */
  registry?: PublishedRegistry;
  /** Starts what runs the workload resources (the local runtime); absent: config only, workloads run elsewhere. */
  runtime?: (ctx: RuntimeContext) => WorkloadProvider | Promise<WorkloadProvider>;
  /**
   * Mesh-wide defaults (`skiff up`'s flags); `mesh.telemetry` sets tracing (sampling, Zipkin/OTLP
   * endpoints) and access logs for every proxy. The mesh config of the `istio` ConfigMap in
   * `istio-system`, read live from the config source, wins over them field by field, as Istio's
   * ConfigMap is the mesh config.
   */
  mesh?: Partial<MeshOptions>;
  /** The metrics scrape interval, graph window and trace bounds of `observer`. */
  observe?: Pick<MeshObserverOptions, 'scrapeIntervalMs' | 'maxWindowSeconds' | 'traces'>;
  /**
   * The dashboard's port on 127.0.0.1 (0: any free port; false: no dashboard). When not given,
   * 20001, and skiffd runs without a dashboard if that port is taken; a port given and taken is an error.
   */
  dashboardPort?: number | false;
  /** The mesh CA that signs every proxy's workload certificate; see `SkiffdCaOptions`. */
  ca?: SkiffdCaOptions;
  /** Push debounce (default 100 ms). */
  debounceMs?: number;
  /**
   * Where gateways skiffd's runtime does not run listen (their hello describes them). Default
   * 127.0.0.1, for one started by hand on this machine; on Kubernetes 0.0.0.0, since a gateway pod
   * is reached at its pod IP, as Istio's gateways listen on every address.
   */
  handStartedGatewayAddress?: string;
  log?: (line: string) => void;
  /** Also log every push round and proxy (dis)connection, not only problems. Default false. */
  verbose?: boolean;
}

export interface Skiffd {
  readonly apiUrl: string;
  /** The bearer token the API requires (`Authorization: Bearer …`). */
  readonly apiToken: string;
  readonly pushUrl: string;
  /** Where the dashboard is served; undefined without one. */
  readonly dashboardUrl: string | undefined;
  /** The config skiffd translates and serves. */
  readonly config: ConfigSource;
  /** The registry: the config's Services and the provider's workload instances. */
  readonly registry: PublishedRegistry;
  readonly push: PushServer;
  /** What runs the workloads, when skiffd started one. */
  readonly runtime: WorkloadProvider | undefined;
  /**
   * The mesh's figures: trace collector (fed by every proxy through `POST /api/v2/spans`),
   * service graph from the proxies' metrics, config with analysis, proxy rows (`DashboardSources`).
   */
  readonly observer: MeshObserver;
  /** Current status, as `GET /api/v1/status` reports it. */
  status(): SkiffdStatus;
  /** Applies config texts as `POST /api/v1/apply` does (refused when the config source is not skiffd's store). */
  apply(inputs: readonly InputText[], defaultNamespace?: string): Promise<ApplyResponse>;
  /** Resolves once the workloads of the store as of now all run and are ready. */
  waitReady(timeoutMs: number): Promise<void>;
  /** Stops everything (API, runtime and its processes, push, store lock) and removes skiffd.json. Idempotent. */
  stop(): Promise<void>;
  /** Resolves once stopped, whoever asked (`stop()`, the API's shutdown). */
  readonly stopped: Promise<void>;
}

/** Starts skiffd; rejects (after cleaning up what started) when a port or the state dir is taken. */
export async function startSkiffd(opts: SkiffdOptions): Promise<Skiffd> {
  const log = opts.log ?? (() => undefined);
  const startedAt = new Date().toISOString();
  // One skiffd per state directory: its own store holds the directory's lock; with another
  // source, skiffd takes the lock itself (skiffd.json, logs and targets live there all the same).
  let store: ConfigStore | undefined;
  let config: ConfigSource;
  let release: () => Promise<void>;
  if (opts.config !== undefined) {
    config = opts.config;
    release = await acquireStoreLock(opts.stateDir, { waitMs: 1000 });
  } else {
    const opened = await ConfigStore.open(opts.stateDir, { lockWaitMs: 1000 });
    config = store = opened;
    release = () => opened.close();
  }
  const registry = opts.registry ?? new MemoryRegistry();
  const cleanups: Array<() => Promise<void>> = [release];
  const undo = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  let runtime: WorkloadProvider | undefined;
  try {
    const istioConfig = new ConfigCache(config);
    // A resource that fails its schema in the store, or that translation cannot handle, is left
    // out of every proxy's config and reported; the rest of the mesh keeps getting pushes.
    for (const r of config.rejected?.() ?? []) log(`skiffd: ${r.ref} is left out of every proxy's config: ${r.errors.join('; ')}; ${r.mend}`);
    const translator = new IsolatingTranslator((left) => log(`skiffd: ${left.ref} is left out of every proxy's config: translating it fails (${left.error}); the rest of the mesh is pushed without it`));
    // The mesh options: the `istio` ConfigMap's mesh config over skiffd's own (`skiff up`'s
    // flags). Every proxy also sends spans to the embedded collector once the API (where it lives)
    // listens.
    let meshDefaults: Partial<MeshOptions> = { ...opts.mesh };
    let mesh: Partial<MeshOptions> = meshDefaults;
    const ca = opts.ca?.instance !== undefined ? opts.ca.instance : opts.ca?.certsDir !== undefined ? await MeshCa.fromCaCerts(opts.ca.certsDir) : await MeshCa.selfSigned(opts.stateDir, opts.mesh?.trustDomain ?? DEFAULT_MESH_OPTIONS.trustDomain);
    log(`skiffd: mesh CA: ${ca.source}`);
    const certificates = new WorkloadCertificates({
      ca,
      authenticator: opts.ca?.authenticator ?? new BootstrapTokenAuthenticator((token) => runtime?.identityOfCredential?.(token)),
      trustDomain: () => mesh.trustDomain ?? DEFAULT_MESH_OPTIONS.trustDomain,
      ttlMs: opts.ca?.workloadCertTtlMs ?? DEFAULT_WORKLOAD_CERT_TTL_MS,
      ...(opts.verbose === true ? { log } : {}),
    });
    const push = createPushServer({
      certificates: (proxy, request) => certificates.issue({ node: proxy.node, ...(request.credential !== undefined ? { credential: request.credential } : {}) }, request.csr),
      debounceMs: opts.debounceMs ?? 100,
      logger: { info: (m) => (opts.verbose === true ? log(m) : undefined), warn: (m) => log(m) },
      snapshotFor: (proxy: ConnectedProxy): ProxySnapshot =>
        translator.translate({
          config: istioConfig.mesh(),
          registry: registry.snapshot(),
          proxy: proxyTarget(proxy, registry.snapshot(), runtime?.gateways() ?? [], opts.handStartedGatewayAddress),
          mesh,
        }),
    });
    cleanups.push(() => push.close());
    // Read before the push server listens, so even the first snapshot of a proxy that reconnects
    // at once carries the mesh config.
    const meshConfig = new MeshConfigWatcher(config, {
      log,
      changed: () => {
        mesh = meshOptionsFrom(meshConfig.config, meshDefaults);
        push.pushAll('mesh config');
      },
    });
    const stopMeshConfig = meshConfig.start();
    cleanups.push(async () => stopMeshConfig());
    // A previous skiffd that died left its skiffd.json: asked for any free port, take its ports when
    // free, so the proxies it left running (adopted below) reconnect to the URL they started with.
    const previous = await previousInfo(opts.stateDir);
    const pushPort = await preferPrevious(opts.pushPort ?? DEFAULT_PUSH_PORT, previous?.pushUrl);
    await listenOrExplain(() => push.listen(pushPort, '127.0.0.1'), 'push', pushPort);
    const pushUrl = push.url!;

    if (opts.runtime !== undefined) {
      runtime = await opts.runtime({ registry, services: registry, controlPlaneUrl: pushUrl, stateDir: opts.stateDir });
      const started = runtime;
      cleanups.push(() => started.stop());
      // A proxy the provider runs that refuses its config (its port taken): the provider's to mend.
      if (started.proxyRejected !== undefined) push.on('nack', (proxy, nack) => started.proxyRejected?.(proxy.id, nack.reason));
    }
    const workloads = new WorkloadSync(config, runtime, log);
    const services = new ServiceSync(registry, { log });
    const observer = createMeshObserver({ proxies: () => push.status(), store: config, stateDir: opts.stateDir, log, ...opts.observe });

    let stopping: Promise<void> | undefined;
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    // Files sent to apply and delete are read off the event loop, within the input limits.
    const parsing = new InputParser();
    cleanups.push(() => parsing.close());
    const tokenFile = opts.apiTokenFile ?? apiTokenFile(opts.stateDir);
    const apiToken = opts.apiTokenFile !== undefined ? await readGivenApiToken(tokenFile) : await ensureApiToken(tokenFile);
    const api = createApiServer({
      access: { token: apiToken, tokenFile, extraHosts: opts.apiHosts ?? [], open: new Set([SPANS_PATH]) },
      config,
      ...(store !== undefined ? { store } : {}),
      parsing,
      proxies: push,
      leftOut: () => self.status().leftOut,
      pods: () => runtime?.pods() ?? [],
      status: () => self.status(),
      waitReady: (ms) => self.waitReady(ms),
      shutdown: () => void self.stop(),
      extra: (req, url, res) => handleObserveRequest(observer, req, url, res),
    });
    const apiPort = await preferPrevious(opts.apiPort ?? DEFAULT_API_PORT, previous?.apiUrl);
    await listenOrExplain(() => listen(api, apiPort), 'API', apiPort);
    cleanups.push(() => closeServer(api));
    const apiUrl = urlOf(api);
    meshDefaults = { ...opts.mesh, telemetry: { ...opts.mesh?.telemetry, collectorUrl: `${apiUrl}${SPANS_PATH}` } };
    mesh = meshOptionsFrom(meshConfig.config, meshDefaults);
    push.pushAll('trace collector');
    observer.start();
    cleanups.push(() => observer.stop());
    const dashboard = await serveDashboard(observer, opts.dashboardPort, log);
    if (dashboard !== undefined) cleanups.push(() => dashboard.close());
    const dashboardUrl = dashboard?.url;

    // Any change may alter any proxy's snapshot; the push server debounces and skips unchanged ones.
    // An endpoint withdrawn (its app exited, its pod went) is pushed at once (skiffd-withdrawals.ts).
    const withdrawals = new WithdrawalWatch();
    withdrawals.withdrawn(registry.snapshot().workloads);
    const unsubscribeRegistry = registry.onChange(() => {
      const urgent = withdrawals.withdrawn(registry.snapshot().workloads);
      push.pushAll(urgent ? 'endpoint withdrawn' : 'registry', urgent);
    });
    const stopServices = services.follow(config);
    const unsubscribeConfig = config.subscribe((e) => {
      if (isWorkloadResource(e.resource)) workloads.changed();
      push.pushAll(`${e.type.toLowerCase()} ${e.resource.kind}/${e.resource.metadata.name}`);
    });
    workloads.changed();

    const self: Skiffd = {
      apiUrl,
      apiToken,
      pushUrl,
      dashboardUrl,
      config,
      registry,
      push,
      runtime,
      observer,
      stopped,
      status: () => {
        const pods = runtime?.pods() ?? [];
        const ready = pods.filter((p) => p.ready).length;
        const ingress = runtime?.gateways()[0];
        const ingressPort = ingress?.portMap[80] ?? ingress?.portMap[8080];
        return {
          version: SKIFF_VERSION,
          pid: process.pid,
          stateDir: opts.stateDir,
          apiUrl,
          pushUrl,
          ...(ingress !== undefined && ingressPort !== undefined ? { ingressUrl: `http://${ingress.listenAddress}:${ingressPort}` } : {}),
          runtime: runtime !== undefined,
          ready: runtime === undefined || (workloads.synced && ready === pods.length),
          pods: { total: pods.length, ready },
          resourceVersion: config.resourceVersion,
          startedAt,
          meshConfig: meshConfig.status(),
          leftOut: leftOutEntries(config, translator.leftOut(istioConfig.mesh())),
        };
      },
      apply: (inputs, defaultNamespace) => {
        if (store === undefined) return Promise.reject(new Error(READ_ONLY_CONFIG));
        return applyTexts(store, inputs, defaultNamespace, parsing);
      },
      waitReady: async (timeoutMs) => {
        const deadline = Date.now() + timeoutMs;
        await workloads.idle();
        await runtime?.waitReady(Math.max(0, deadline - Date.now()));
        // Ready pods are worth little until their proxies (and the gateway) serve the config that routes to them.
        await proxiesSynced(push, () => meshPods(runtime), deadline);
      },
      stop: () => {
        stopping ??= (async () => {
          log('skiffd: stopping');
          unsubscribeConfig();
          stopMeshConfig();
          stopServices();
          unsubscribeRegistry();
          // Stop answering first, then the workloads, so nothing new starts while they stop.
          await closeServer(api);
          await dashboard?.close();
          await workloads.idle();
          await runtime?.stop().catch((err: unknown) => log(`skiffd: runtime stop: ${String(err)}`));
          await observer.stop();
          await parsing.close();
          await push.close();
          await rm(skiffdInfoFile(opts.stateDir), { force: true });
          await release();
          log('skiffd: stopped');
          resolveStopped();
        })();
        return stopping;
      },
    };
    // Announced only now: a client that finds skiffd.json calls the API at once, and its handlers use `self`.
    const info: SkiffdInfo = { apiUrl, pushUrl, ...(dashboardUrl !== undefined ? { dashboardUrl } : {}), pid: process.pid };
    await writeFileAtomic(skiffdInfoFile(opts.stateDir), `${JSON.stringify(info, null, 2)}\n`);
    log(`skiffd (pid ${process.pid}): API ${apiUrl}, push ${pushUrl}${dashboardUrl !== undefined ? `, dashboard ${dashboardUrl}` : ''}, state in ${opts.stateDir}`);
    return self;
  } catch (err) {
    await undo();
    throw err;
  }
}

/**
 * `namespace/name` of every ready pod that runs a proxy (sidecar or gateway). Pods adopted from
 * a previous skiffd are ready at once, on their last snapshot, before their proxies reconnect.
 */
function meshPods(runtime: WorkloadProvider | undefined): string[] {
  return (runtime?.pods() ?? []).filter((p) => p.ready && p.ports.admin !== undefined).map((p) => `${p.namespace}/${p.name}`);
}

/** Waits until no push is pending, every expected proxy is connected, and every connected one has acknowledged its latest snapshot. */
export async function proxiesSynced(push: PushServer, expected: () => string[], deadline: number): Promise<void> {
  for (;;) {
    await push.settled();
    const proxies = push.status();
    const behind = proxies.filter((p) => p.state !== 'SYNCED');
    const connected = new Set(proxies.map((p) => (p.workload !== undefined ? `${p.workload.namespace}/${p.workload.name}` : p.id)));
    const missing = expected().filter((pod) => !connected.has(pod));
    if (behind.length === 0 && missing.length === 0) return;
    if (Date.now() >= deadline) {
      const problems = [
        ...behind.map((p) => `${p.id} (${p.state}${p.error !== undefined ? `: ${p.error}` : ''})`),
        ...missing.map((pod) => `${pod} (not connected)`),
      ];
      throw new Error(`proxies not in sync: ${problems.join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The dashboard over `observer`; see `SkiffdOptions.dashboardPort` for when a taken port is not an error. */
async function serveDashboard(observer: MeshObserver, port: number | false | undefined, log: (line: string) => void): Promise<Dashboard | undefined> {
  if (port === false) return undefined;
  try {
    return await startDashboard({ sources: observer, port: port ?? DEFAULT_DASHBOARD_PORT, log });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (port !== undefined) throw new Error(`the dashboard port 127.0.0.1:${port} is in use; choose another with --dashboard-port`);
    // The dashboard is a view on the mesh: the mesh runs without it rather than not at all.
    log(`skiffd: the dashboard port 127.0.0.1:${DEFAULT_DASHBOARD_PORT} is in use; running without a dashboard (choose another with --dashboard-port)`);
    return undefined;
  }
}

/** What the previous skiffd of this state dir announced; it is gone, as this one holds the store's lock. */
async function previousInfo(stateDir: string): Promise<Partial<SkiffdInfo> | undefined> {
  try {
    return JSON.parse(await readFile(skiffdInfoFile(stateDir), 'utf8')) as Partial<SkiffdInfo>;
  } catch {
    return undefined;
  }
}

/** `requested`, except that 0 (any free port) becomes the port of `previousUrl` when that one is free. */
async function preferPrevious(requested: number, previousUrl: unknown): Promise<number> {
  if (requested !== 0 || typeof previousUrl !== 'string' || !URL.canParse(previousUrl)) return requested;
  const port = Number(new URL(previousUrl).port);
  return port > 0 && (await canBind(port)) ? port : 0;
}

async function listenOrExplain(start: () => Promise<void>, what: string, port: number): Promise<void> {
  try {
    await start();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`the ${what} port 127.0.0.1:${port} is in use (another skiffd?); choose another with --${what === 'API' ? 'api' : 'push'}-port`);
    }
    throw err;
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    // Watch streams stay open until their clients leave; end them now.
    server.closeAllConnections();
  });
}

function urlOf(server: Server): string {
  const a = server.address() as AddressInfo;
  return `http://127.0.0.1:${a.port}`;
}
