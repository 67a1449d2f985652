/**
 * A `ConfigSource` over informers: the Istio kinds, core/v1 Services and the `istio` ConfigMap of
 * a Kubernetes API server, each object checked with its kind's schema before it is served (an
 * invalid one is held apart and reported by `rejected()`, as the file store does), with a version
 * of its own that grows by one per delivered change, and a bounded history for `watch`. After a
 * relist the informer hands over only the differences, so the change feed stays gapless.
 */
import { formatPath } from '../api/types.js';
import type { Resource } from '../api/types.js';
import { ResourceVersionTooOldError } from '../config/source.js';
import type { ConfigSource, ListFilter, RejectedResource, StoreEvent } from '../config/source.js';
import { idKey, idOf } from '../config/store-keys.js';
import type { ResourceId } from '../config/store-keys.js';
import type { KubeClient, KubeObject } from './client.js';
import { Informer } from './informer.js';
import type { InformerOptions } from './informer.js';
import { configKinds, convert } from './resources.js';
import type { WatchedKind } from './resources.js';

export interface KubeConfigSourceOptions {
  /** Where the mesh config's `istio` ConfigMap is read. Default `istio-system`. */
  rootNamespace?: string;
  /** Changes kept for `watch` (older ones: `ResourceVersionTooOldError`). Default 10000. */
  historyLimit?: number;
  /** Informer tuning (watch timeout, stall detection, backoff). */
  informer?: Pick<InformerOptions, 'watchTimeoutSeconds' | 'stallMs' | 'backoff'>;
  log?: (line: string) => void;
}

const order = (a: Resource, b: Resource): number => {
  const ka = idOf(a);
  const kb = idOf(b);
  for (const f of ['group', 'kind', 'namespace', 'name'] as const) if (ka[f] !== kb[f]) return ka[f] < kb[f] ? -1 : 1;
  return 0;
};

export class KubeConfigSource implements ConfigSource {
  private readonly resources = new Map<string, Resource>();
  private readonly invalid = new Map<string, RejectedResource>();
  private readonly history: StoreEvent[] = [];
  private readonly subscribers = new Set<(e: StoreEvent) => void>();
  private version = 0;
  /** Watches from before this version cannot be served. */
  private oldest = 0;
  readonly informers: Informer[];

  constructor(
    client: KubeClient,
    private readonly opts: KubeConfigSourceOptions = {},
  ) {
    this.informers = configKinds(opts.rootNamespace).map((w) => {
      const inf = new Informer(client, { path: w.path, ...(w.params !== undefined ? { params: w.params } : {}), ...opts.informer, ...(opts.log !== undefined ? { log: opts.log } : {}) });
      inf.onChange((type, o) => this.deliver(w, type, o));
      return inf;
    });
  }

  /** Starts every informer; resolves once each has listed. */
  async start(): Promise<void> {
    for (const i of this.informers) i.start();
    await Promise.all(this.informers.map((i) => i.synced));
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  get resourceVersion(): number {
    return this.version;
  }

  list(filter: ListFilter = {}): Resource[] {
    const out: Resource[] = [];
    for (const r of this.resources.values()) {
      const id = idOf(r);
      if (filter.group !== undefined && id.group !== filter.group) continue;
      if (filter.kind !== undefined && id.kind !== filter.kind) continue;
      if (filter.namespace !== undefined && id.namespace !== filter.namespace) continue;
      if (filter.name !== undefined && id.name !== filter.name) continue;
      out.push(r);
    }
    return out.sort(order);
  }

  get(id: ResourceId): Resource | undefined {
    return this.resources.get(idKey(id));
  }

  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  watch(fromVersion: number, fn: (e: StoreEvent) => void): () => void {
    if (fromVersion < this.oldest) throw new ResourceVersionTooOldError(fromVersion, this.oldest);
    for (const e of this.history) if (e.resourceVersion > fromVersion) fn(e);
    return this.subscribe(fn);
  }

  rejected(): RejectedResource[] {
    return [...this.invalid.values()];
  }

  private deliver(w: WatchedKind, type: 'ADDED' | 'MODIFIED' | 'DELETED', o: KubeObject): void {
    const id: ResourceId = { group: w.apiVersion.includes('/') ? w.apiVersion.slice(0, w.apiVersion.lastIndexOf('/')) : '', kind: w.kind, namespace: o.metadata.namespace ?? '', name: o.metadata.name };
    const k = idKey(id);
    const ref = `${w.kind} ${id.namespace === '' ? '' : `${id.namespace}/`}${id.name}`;
    const before = this.resources.get(k);
    if (type === 'DELETED') {
      this.invalid.delete(k);
      if (before === undefined) return;
      this.resources.delete(k);
      this.record({ type: 'DELETED', resource: before, resourceVersion: 0 });
      return;
    }
    const converted = convert(o, w);
    if (converted.resource === undefined) {
      const errors = converted.issues.filter((i) => i.severity === 'error').map((i) => `${formatPath(i.path) || '(resource)'}: ${i.message}`);
      this.invalid.set(k, { ref, id, errors, mend: `fix it with kubectl (kubectl edit ${w.kind.toLowerCase()} ${id.name}${id.namespace === '' ? '' : ` -n ${id.namespace}`}); until then it is not served` });
      this.opts.log?.(`kube: ${ref} is invalid and not served: ${errors.join('; ')}`);
      // What was served before goes: a stale version would be served as if it were current.
      if (before !== undefined) {
        this.resources.delete(k);
        this.record({ type: 'DELETED', resource: before, resourceVersion: 0 });
      }
      return;
    }
    this.invalid.delete(k);
    this.resources.set(k, converted.resource);
    this.record({ type: before === undefined ? 'ADDED' : 'MODIFIED', resource: converted.resource, resourceVersion: 0 });
  }

  private record(e: StoreEvent): void {
    this.version++;
    const event: StoreEvent = { ...e, resourceVersion: this.version };
    this.history.push(event);
    const limit = this.opts.historyLimit ?? 10_000;
    while (this.history.length > limit) this.oldest = this.history.shift()!.resourceVersion;
    for (const fn of [...this.subscribers]) fn(event);
  }
}
