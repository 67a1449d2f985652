/**
 * The mesh root in every namespace, as istiod's namespace controller keeps it: a ConfigMap
 * `istio-ca-root-cert` whose `root-cert.pem` is the root every proxy trusts (injected pods mount
 * it, and the sidecar checks skiffd's certificate against it). It is created in each namespace
 * that exists or appears, written back when someone edits it, and created again when someone
 * deletes it; Kubernetes' own namespaces (kube-system, kube-public, kube-node-lease) are left
 * alone, as Istio leaves them. Every replica runs one with the same root, so their writes agree;
 * a write that loses to another (409) is not retried, the change it causes is seen and checked.
 */
import { Informer } from './informer.js';
import type { InformerOptions } from './informer.js';
import { KubeApiError } from './client.js';
import type { KubeClient, KubeObject } from './client.js';

export const ROOT_CERT_CONFIGMAP = 'istio-ca-root-cert';
export const ROOT_CERT_KEY = 'root-cert.pem';
/** Namespaces Istio never publishes to (its injector's ignored namespaces). */
const IGNORED_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage']);

/** After a write failed for another reason than a conflict (the API server down, say). */
const RETRY_MS = 5000;

export interface RootCertPublisherOptions {
  informer?: Omit<InformerOptions, 'path' | 'params'>;
  log?: (line: string) => void;
}

export class RootCertPublisher {
  private readonly namespaces: Informer;
  private readonly configMaps: Informer;
  private readonly log: (line: string) => void;
  /** Writes under way, by namespace: one at a time each, the latest state decides the next. */
  private readonly busy = new Set<string>();
  private readonly again = new Set<string>();
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly rootCert: string,
    opts: RootCertPublisherOptions = {},
  ) {
    this.log = opts.log ?? (() => undefined);
    const common = { ...opts.informer, ...(opts.log !== undefined ? { log: opts.log } : {}) };
    this.namespaces = new Informer(client, { path: '/api/v1/namespaces', ...common });
    this.configMaps = new Informer(client, { path: '/api/v1/configmaps', params: { fieldSelector: `metadata.name=${ROOT_CERT_CONFIGMAP}` }, ...common });
    this.namespaces.onChange((type, ns) => {
      if (type !== 'DELETED') this.reconcile(ns.metadata.name);
    });
    this.configMaps.onChange((_type, cm) => this.reconcile(cm.metadata.namespace ?? 'default'));
  }

  /** Starts watching; resolves once both lists are read and every namespace was reconciled once. */
  async start(): Promise<void> {
    this.namespaces.start();
    this.configMaps.start();
    await Promise.all([this.namespaces.synced, this.configMaps.synced]);
    await Promise.all(this.namespaces.list().map((ns) => this.reconcileNow(ns.metadata.name)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.namespaces.stop(), this.configMaps.stop()]);
  }

  private reconcile(namespace: string): void {
    if (!this.namespaces.hasSynced || !this.configMaps.hasSynced) return;
    void this.reconcileNow(namespace);
  }

  private async reconcileNow(namespace: string): Promise<void> {
    if (this.busy.has(namespace)) {
      this.again.add(namespace);
      return;
    }
    this.busy.add(namespace);
    try {
      do {
        this.again.delete(namespace);
        await this.ensure(namespace);
      } while (this.again.has(namespace) && !this.stopped);
    } finally {
      this.busy.delete(namespace);
    }
  }

  /** The ConfigMap of `namespace` as it should be, written when the cache shows otherwise. */
  private async ensure(namespace: string): Promise<void> {
    if (this.stopped || IGNORED_NAMESPACES.has(namespace)) return;
    const ns = this.namespaces.get(undefined, namespace);
    if (ns === undefined || ns.metadata.deletionTimestamp !== undefined || (ns.status as { phase?: string } | undefined)?.phase === 'Terminating') return;
    const current = this.configMaps.get(namespace, ROOT_CERT_CONFIGMAP);
    const path = `/api/v1/namespaces/${namespace}/configmaps`;
    try {
      if (current === undefined) {
        await this.client.request('POST', path, this.desired(namespace));
        this.log(`skiffd: ${ROOT_CERT_CONFIGMAP} created in ${namespace}`);
      } else if ((current.data as Record<string, string> | undefined)?.[ROOT_CERT_KEY] !== this.rootCert) {
        await this.client.request('PUT', `${path}/${ROOT_CERT_CONFIGMAP}`, { ...this.desired(namespace), metadata: { ...current.metadata, labels: { ...current.metadata.labels, 'istio.io/config': 'true' } } });
        this.log(`skiffd: ${ROOT_CERT_CONFIGMAP} in ${namespace} did not hold the mesh root: written back`);
      }
    } catch (err) {
      // 409: another replica wrote first (or the cache was behind); its change comes back through the watch.
      // 404 and 403 on a namespace going away are the namespace's end, not ours.
      if (err instanceof KubeApiError && (err.code === 409 || err.code === 404 || err.code === 403)) return;
      this.log(`skiffd: cannot write ${ROOT_CERT_CONFIGMAP} in ${namespace}: ${err instanceof Error ? err.message : String(err)}; retrying`);
      setTimeout(() => this.reconcile(namespace), RETRY_MS).unref();
    }
  }

  private desired(namespace: string): KubeObject {
    return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CERT_CONFIGMAP, namespace, labels: { 'istio.io/config': 'true' } }, data: { [ROOT_CERT_KEY]: this.rootCert } };
  }
}
