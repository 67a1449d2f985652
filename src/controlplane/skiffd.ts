/**
 * skiffd, the control plane in one process: the config store, the service registry, the local
 * runtime (when it runs the workloads), translation of config + registry into each proxy's
 * snapshot, the push server proxies stream from, and the HTTP API. It announces itself in
 * `<state-dir>/skiffd.json` and pushes to every proxy on any config or registry change.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { ConfigStore } from '../config/store.js';
import { isWorkloadResource } from '../config/store-keys.js';
import { writeFileAtomic } from '../config/store-file.js';
import { skiffdInfoFile } from '../config/state-dir.js';
import { MemoryRegistry } from '../registry/memory.js';
import type { LocalRuntime } from '../runtime/types.js';
import type { SkiffdInfo } from '../cli/skiffd-client.js';
import { createApiServer } from './api.js';
import type { SkiffdStatus } from './api-types.js';
import { createPushServer } from './push/server.js';
import type { PushServer } from './push/server.js';
import type { ConnectedProxy } from './push/types.js';
import type { ProxySnapshot } from '../proxy/snapshot.js';
import { translate } from './translate/index.js';
import type { MeshOptions } from './translate/types.js';
import { proxyTarget } from './skiffd-targets.js';
import { ConfigCache, WorkloadSync } from './skiffd-sync.js';

export const DEFAULT_API_PORT = 15080;
export const DEFAULT_PUSH_PORT = 15010;

/** What a runtime needs from skiffd to start. */
export interface RuntimeContext {
  registry: MemoryRegistry;
  /** The push URL the runtime's proxies connect to. */
  controlPlaneUrl: string;
  stateDir: string;
}

export interface SkiffdOptions {
  stateDir: string;
  /** HTTP API port on 127.0.0.1 (0: any free port). Default 15080. */
  apiPort?: number;
  /** Push server port on 127.0.0.1 (0: any free port). Default 15010. */
  pushPort?: number;
  /** Starts the local runtime that runs the workload resources; absent: config only. */
  runtime?: (ctx: RuntimeContext) => LocalRuntime | Promise<LocalRuntime>;
  mesh?: Partial<MeshOptions>;
  /** Push debounce (default 100 ms). */
  debounceMs?: number;
  log?: (line: string) => void;
  /** Also log every push round and proxy (dis)connection, not only problems. Default false. */
  verbose?: boolean;
}

export interface Skiffd {
  readonly apiUrl: string;
  readonly pushUrl: string;
  readonly store: ConfigStore;
  readonly registry: MemoryRegistry;
  readonly push: PushServer;
  readonly runtime: LocalRuntime | undefined;
  /** Current status, as `GET /api/v1/status` reports it. */
  status(): SkiffdStatus;
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
  const store = await ConfigStore.open(opts.stateDir, { lockWaitMs: 1000 });
  const registry = new MemoryRegistry();
  const cleanups: Array<() => Promise<void>> = [() => store.close()];
  const undo = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  let runtime: LocalRuntime | undefined;
  try {
    const config = new ConfigCache(store);
    const push = createPushServer({
      debounceMs: opts.debounceMs ?? 100,
      logger: { info: (m) => (opts.verbose === true ? log(m) : undefined), warn: (m) => log(m) },
      snapshotFor: (proxy: ConnectedProxy): ProxySnapshot =>
        translate({
          config: config.mesh(),
          registry: registry.snapshot(),
          proxy: proxyTarget(proxy, registry.snapshot(), runtime?.gateways() ?? []),
          ...(opts.mesh !== undefined ? { mesh: opts.mesh } : {}),
        }),
    });
    cleanups.push(() => push.close());
    await listenOrExplain(() => push.listen(opts.pushPort ?? DEFAULT_PUSH_PORT, '127.0.0.1'), 'push', opts.pushPort ?? DEFAULT_PUSH_PORT);
    const pushUrl = push.url!;

    if (opts.runtime !== undefined) {
      runtime = await opts.runtime({ registry, controlPlaneUrl: pushUrl, stateDir: opts.stateDir });
      const started = runtime;
      cleanups.push(() => started.stop());
    }
    const workloads = new WorkloadSync(store, registry, runtime, log);

    let stopping: Promise<void> | undefined;
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    const api = createApiServer({
      store,
      proxies: push,
      pods: () => runtime?.pods() ?? [],
      status: () => self.status(),
      waitReady: (ms) => self.waitReady(ms),
      shutdown: () => void self.stop(),
    });
    const apiPort = opts.apiPort ?? DEFAULT_API_PORT;
    await listenOrExplain(() => listen(api, apiPort), 'API', apiPort);
    cleanups.push(() => closeServer(api));
    const apiUrl = urlOf(api);

    // Any change may alter any proxy's snapshot; the push server debounces and skips unchanged ones.
    const unsubscribeStore = store.subscribe((e) => {
      if (isWorkloadResource(e.resource)) workloads.changed();
      push.pushAll(`${e.type.toLowerCase()} ${e.resource.kind}/${e.resource.metadata.name}`);
    });
    const unsubscribeRegistry = registry.onChange(() => push.pushAll('registry'));
    workloads.changed();

    const info: SkiffdInfo = { apiUrl, pushUrl, pid: process.pid };
    await writeFileAtomic(skiffdInfoFile(opts.stateDir), `${JSON.stringify(info, null, 2)}\n`);
    log(`skiffd (pid ${process.pid}): API ${apiUrl}, push ${pushUrl}, state in ${opts.stateDir}`);

    const self: Skiffd = {
      apiUrl,
      pushUrl,
      store,
      registry,
      push,
      runtime,
      stopped,
      status: () => {
        const pods = runtime?.pods() ?? [];
        const ready = pods.filter((p) => p.ready).length;
        const ingress = runtime?.gateways()[0];
        const ingressPort = ingress?.portMap[80] ?? ingress?.portMap[8080];
        return {
          pid: process.pid,
          stateDir: opts.stateDir,
          apiUrl,
          pushUrl,
          ...(ingress !== undefined && ingressPort !== undefined ? { ingressUrl: `http://${ingress.listenAddress}:${ingressPort}` } : {}),
          runtime: runtime !== undefined,
          ready: runtime === undefined || (workloads.synced && ready === pods.length),
          pods: { total: pods.length, ready },
          resourceVersion: store.resourceVersion,
          startedAt,
        };
      },
      waitReady: async (timeoutMs) => {
        const deadline = Date.now() + timeoutMs;
        await workloads.idle();
        await runtime?.waitReady(Math.max(0, deadline - Date.now()));
        // Ready pods are worth little until their proxies (and the gateway) serve the config that routes to them.
        await proxiesSynced(push, deadline);
      },
      stop: () => {
        stopping ??= (async () => {
          log('skiffd: stopping');
          unsubscribeStore();
          unsubscribeRegistry();
          // Stop answering first, then the workloads, so nothing new starts while they stop.
          await closeServer(api);
          await workloads.idle();
          await runtime?.stop().catch((err: unknown) => log(`skiffd: runtime stop: ${String(err)}`));
          await push.close();
          await rm(skiffdInfoFile(opts.stateDir), { force: true });
          await store.close();
          log('skiffd: stopped');
          resolveStopped();
        })();
        return stopping;
      },
    };
    return self;
  } catch (err) {
    await undo();
    throw err;
  }
}

/** Waits until no push is pending and every connected proxy has acknowledged its latest snapshot. */
async function proxiesSynced(push: PushServer, deadline: number): Promise<void> {
  for (;;) {
    await push.settled();
    const behind = push.status().filter((p) => p.state !== 'SYNCED');
    if (behind.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(`proxies not in sync: ${behind.map((p) => `${p.id} (${p.state}${p.error !== undefined ? `: ${p.error}` : ''})`).join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
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
