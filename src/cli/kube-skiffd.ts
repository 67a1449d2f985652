/**
 * skiffd in Kubernetes mode: the config source and workload instances come from a Kubernetes API
 * server's informers (`src/kube/`) instead of the state directory's store and the local runtime;
 * translation, push and the API are skiffd's own, unchanged. Runs in the foreground until SIGINT,
 * SIGTERM or SIGHUP.
 */
import type { CsrAuthenticator } from '../controlplane/ca/authenticate.js';
import type { MeshCa } from '../controlplane/ca/index.js';
import type { Skiffd } from '../controlplane/skiffd.js';
import type { KubeClient } from '../kube/client.js';
import type { WebhookServer } from '../kube/webhooks.js';

/** Native sidecars (an init container with `restartPolicy: Always`) are on by default from Kubernetes 1.29. */
async function supportsNativeSidecars(client: KubeClient): Promise<boolean> {
  try {
    const v = await client.request<{ major?: string; minor?: string }>('GET', '/version');
    const major = Number(v.major);
    const minor = Number.parseInt(v.minor ?? '', 10);
    return major > 1 || (major === 1 && minor >= 29);
  } catch {
    return false;
  }
}

export interface KubeSkiffdOptions {
  stateDir: string;
  kubeconfig?: string;
  context?: string;
  apiPort: number;
  /** The cleartext push port, on loopback (skiffd's own tools). */
  pushPort: number;
  /** The push port over TLS for proxies in pods (istiod's 15012; 0: any free port; false: none). */
  pushTlsPort: number | false;
  /** Where the TLS push port listens. Default 0.0.0.0 (pods reach it through skiffd's Service). */
  pushTlsHost?: string;
  /** Where the `istio` mesh ConfigMap is read. */
  rootNamespace: string;
  /** The admission webhooks' HTTPS port (0: any free port; false: no webhooks). */
  webhookPort: number | false;
  /** Where the webhooks listen. Default 0.0.0.0 (the API server calls them through skiffd's Service). */
  webhookHost?: string;
  /** The image injected sidecars run. */
  proxyImage: string;
  verbose?: boolean;
}

export interface RunningKubeSkiffd {
  skiffd: Skiffd;
  /** Where the admission webhooks listen, when they run. */
  webhookPort: number | undefined;
  /** The TLS push URL (`https://ADDRESS:PORT`), when it runs. */
  pushTlsUrl: string | undefined;
  /** The mesh root every proxy trusts (PEM). */
  rootCert: string;
  /** Stops skiffd, then the informers. */
  stop(): Promise<void>;
}

/** Connects, lists everything (skiffd starts on a complete view), then starts skiffd over it. */
export async function startKubeSkiffd(opts: KubeSkiffdOptions, log: (line: string) => void): Promise<RunningKubeSkiffd> {
  const { KubeClient, KubeConfigSource, KubeWorkloads, TokenReviewAuthenticator, resolveConnection } = await import('../kube/index.js');
  const { MemoryRegistry } = await import('../registry/memory.js');
  const { startSkiffd } = await import('../controlplane/skiffd.js');
  const { startWebhookServer } = await import('../kube/webhooks.js');
  const { publishCaBundle, sharedServingCert } = await import('../kube/webhook-cert.js');
  const { SKIFFD_NAME, SKIFFD_PUSH_TLS_PORT } = await import('../kube/manifest.js');
  const { keepServingCert, serviceDnsNames } = await import('../kube/serving-cert.js');
  const { sharedCaMaterial } = await import('../kube/ca-secret.js');
  const { MeshCa: Ca } = await import('../controlplane/ca/index.js');
  const { MESH_CONFIG_MAP, meshTextOf, parseMeshConfig } = await import('../config/mesh-config.js');
  const { RootCertPublisher } = await import('../kube/root-cert-publisher.js');
  const { DEFAULT_MESH_OPTIONS } = await import('../controlplane/translate/types.js');
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
  let ca: MeshCa;
  try {
    // Every replica signs with the root of the Secret they share (cacerts, else istio-ca-secret).
    const material = await sharedCaMaterial(client, opts.rootNamespace, () => Ca.newRoot(DEFAULT_MESH_OPTIONS.trustDomain));
    ca = await Ca.fromCaCertsData(material.data, material.part, material.source);
    // Proxies prove their pod's service account with its istio-ca token, checked by a TokenReview.
    const authenticator: CsrAuthenticator = new TokenReviewAuthenticator(client);
    skiffd = await startSkiffd({ stateDir: opts.stateDir, config, registry, apiPort: opts.apiPort, pushPort: opts.pushPort, dashboardPort: false, handStartedGatewayAddress: '0.0.0.0', ca: { authenticator, instance: ca }, verbose: opts.verbose === true, log });
  } catch (err) {
    await stopProviders();
    throw err;
  }
  // Proxies in pods stream their config over TLS, with a certificate the mesh CA signs for skiffd's
  // Service, and trust it through the root published to their namespace.
  let stopRenewing = (): void => undefined;
  let pushTlsUrl: string | undefined;
  const rootCerts = new RootCertPublisher(client, ca.rootCert, { log });
  try {
    await rootCerts.start();
    if (opts.pushTlsPort !== false) {
      const names = serviceDnsNames(SKIFFD_NAME, opts.rootNamespace);
      const serving = await keepServingCert(ca, names, (creds) => skiffd.push.setTlsCredentials(creds), log);
      stopRenewing = serving.stop;
      await skiffd.push.listenTls(opts.pushTlsPort, opts.pushTlsHost ?? '0.0.0.0', serving.first);
      const a = skiffd.push.tlsAddress!;
      pushTlsUrl = `https://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
      log(`skiffd: push over TLS on ${a.address}:${a.port} as ${names[0]}`);
    }
  } catch (err) {
    stopRenewing();
    await rootCerts.stop();
    await skiffd.stop();
    await stopProviders();
    throw err;
  }
  // The webhooks: a serving certificate the replicas share through a Secret, written as the CA
  // bundle of the two webhook configurations once served.
  let webhooks: WebhookServer | undefined;
  // The mesh config's defaultConfig.holdApplicationUntilProxyStarts, as it is when a pod is injected.
  const meshHoldsApplication = (): boolean => {
    const cm = config.get({ group: '', kind: 'ConfigMap', namespace: opts.rootNamespace, name: MESH_CONFIG_MAP.name });
    const text = cm === undefined ? undefined : meshTextOf(cm);
    return text !== undefined && parseMeshConfig(text).config?.defaultConfig?.holdApplicationUntilProxyStarts === true;
  };
  try {
    if (opts.webhookPort !== false) {
      const inject = { image: opts.proxyImage, controlPlaneUrl: `https://${SKIFFD_NAME}.${opts.rootNamespace}.svc:${SKIFFD_PUSH_TLS_PORT}`, nativeSidecar: await supportsNativeSidecars(client) };
      const serving = await sharedServingCert(client, opts.rootNamespace, SKIFFD_NAME);
      webhooks = await startWebhookServer({
        ...serving,
        port: opts.webhookPort,
        host: opts.webhookHost ?? '0.0.0.0',
        inject: () => ({ ...inject, holdApplicationUntilProxyStarts: meshHoldsApplication() }),
        log,
      });
      const updated = await publishCaBundle(client, serving.cert, log);
      log(`skiffd: admission webhooks on :${webhooks.port}${updated.length > 0 ? ` (CA bundle written to ${updated.join(', ')})` : ''}`);
    }
  } catch (err) {
    stopRenewing();
    await webhooks?.close();
    await rootCerts.stop();
    await skiffd.stop();
    await stopProviders();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      stopRenewing();
      await webhooks?.close();
      await rootCerts.stop();
      await skiffd.stop();
      await stopProviders();
    })());
  void skiffd.stopped.then(stop);
  return { skiffd, webhookPort: webhooks?.port, pushTlsUrl, rootCert: ca.rootCert, stop };
}

/** Runs until a signal or the API's shutdown; resolves with the exit status. */
export async function runKubeSkiffd(opts: KubeSkiffdOptions): Promise<number> {
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const running = await startKubeSkiffd(opts, say);
  say(`skiffd: API ${running.skiffd.apiUrl}, push ${running.skiffd.pushUrl}${running.pushTlsUrl !== undefined ? ` and ${running.pushTlsUrl}` : ''}`);
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
