/**
 * skiffd in Kubernetes mode: the config source and workload instances come from a Kubernetes API
 * server's informers (`src/kube/`) instead of the state directory's store and the local runtime;
 * translation, push and the API are skiffd's own, unchanged. Runs in the foreground until SIGINT,
 * SIGTERM or SIGHUP.
 */
import type { CsrAuthenticator } from '../controlplane/ca/authenticate.js';
import type { Skiffd } from '../controlplane/skiffd.js';

export interface KubeSkiffdOptions {
  stateDir: string;
  kubeconfig?: string;
  context?: string;
  apiPort: number;
  pushPort: number;
  /** Where the `istio` mesh ConfigMap is read. */
  rootNamespace: string;
  verbose?: boolean;
}

export interface RunningKubeSkiffd {
  skiffd: Skiffd;
  /** Stops skiffd, then the informers. */
  stop(): Promise<void>;
}

/** Connects, lists everything (skiffd starts on a complete view), then starts skiffd over it. */
export async function startKubeSkiffd(opts: KubeSkiffdOptions, log: (line: string) => void): Promise<RunningKubeSkiffd> {
  const { KubeClient, KubeConfigSource, KubeWorkloads, TokenReviewAuthenticator, resolveConnection } = await import('../kube/index.js');
  const { MemoryRegistry } = await import('../registry/memory.js');
  const { startSkiffd } = await import('../controlplane/skiffd.js');
  const conn = resolveConnection(opts.kubeconfig, process.env, opts.context);
  const client = new KubeClient(conn);
  const registry = new MemoryRegistry();
  const config = new KubeConfigSource(client, { rootNamespace: opts.rootNamespace, log });
  const workloads = new KubeWorkloads(client, registry, { log });
  const stopProviders = async (): Promise<void> => {
    await Promise.all([config.stop(), workloads.stop()]);
    client.close();
  };
  log(`skiffd: Kubernetes API server ${conn.server} (${conn.origin})`);
  try {
    await Promise.all([config.start(), workloads.start()]);
  } catch (err) {
    await stopProviders();
    throw err;
  }
  log(`skiffd: listed ${config.list().length} resources and ${registry.snapshot().workloads.length} pods`);
  let skiffd: Skiffd;
  try {
    // Proxies prove their pod's service account with its istio-ca token, checked by a TokenReview.
    const authenticator: CsrAuthenticator = new TokenReviewAuthenticator(client);
    skiffd = await startSkiffd({ stateDir: opts.stateDir, config, registry, apiPort: opts.apiPort, pushPort: opts.pushPort, dashboardPort: false, ca: { authenticator }, verbose: opts.verbose === true, log });
  } catch (err) {
    await stopProviders();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await skiffd.stop();
      await stopProviders();
    })());
  void skiffd.stopped.then(stop);
  return { skiffd, stop };
}

/** Runs until a signal or the API's shutdown; resolves with the exit status. */
export async function runKubeSkiffd(opts: KubeSkiffdOptions): Promise<number> {
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const running = await startKubeSkiffd(opts, say);
  say(`skiffd: API ${running.skiffd.apiUrl}, push ${running.skiffd.pushUrl}`);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const onSignal = (signal: NodeJS.Signals): void => {
    say(`${signal}: stopping`);
    void running.stop();
  };
  for (const s of signals) process.on(s, onSignal);
  try {
    await running.skiffd.stopped;
    await running.stop();
    return 0;
  } finally {
    for (const s of signals) process.removeListener(s, onSignal);
  }
}
