/**
 * Kubernetes Services into the registry: the one place where Service resources become registry
 * services. It publishes the Services of a config source (the state directory's store on the
 * local runtime; on Kubernetes, the Service informer's cache) and keeps them in step with every
 * change, touching only what it published itself and leaving unchanged services alone (an
 * upsert is a registry change, and every registry change is a push).
 */
import type { Resource } from '../api/types.js';
import type { ConfigSource } from '../config/source.js';
import { serviceFromResource } from './kube.js';
import type { Service, ServiceSink } from './types.js';

export interface ServiceSyncOptions {
  /** Kubernetes cluster domain of the hostnames (default `cluster.local`). */
  domainSuffix?: string;
  /** Told about a Service that cannot be converted (the others are still published). */
  log?: (line: string) => void;
}

/** True for a Kubernetes core Service (not some other group's kind of that name). */
export function isKubernetesService(r: Pick<Resource, 'apiVersion' | 'kind'>): boolean {
  return r.kind === 'Service' && r.apiVersion === 'v1';
}

export class ServiceSync {
  /** What this sync published, by `namespace/name`. */
  private readonly published = new Map<string, Service>();

  constructor(
    private readonly sink: ServiceSink,
    private readonly opts: ServiceSyncOptions = {},
  ) {}

  /** Makes the published services exactly those of `resources` (other kinds are ignored). */
  sync(resources: readonly Resource[]): void {
    const wanted = new Map<string, Service>();
    for (const r of resources) {
      const s = this.convert(r);
      if (s !== undefined) wanted.set(`${s.namespace}/${s.name}`, s);
    }
    for (const [key, s] of [...this.published]) if (!wanted.has(key)) this.remove(s.namespace, s.name);
    for (const s of wanted.values()) this.publish(s);
  }

  /**
   * Publishes the Services of `source` now, then follows its change feed one Service at a time.
   * Returns a function that stops following (what was published stays; `clear` removes it).
   */
  follow(source: ConfigSource): () => void {
    const stop = source.subscribe((e) => {
      if (!isKubernetesService(e.resource)) return;
      if (e.type === 'DELETED') {
        this.remove(e.resource.metadata.namespace ?? 'default', e.resource.metadata.name);
        return;
      }
      const s = this.convert(e.resource);
      if (s !== undefined) this.publish(s);
      // A Service that no longer converts is gone from the registry rather than stale in it.
      else this.remove(e.resource.metadata.namespace ?? 'default', e.resource.metadata.name);
    });
    this.sync(source.list({ group: '', kind: 'Service' }));
    return stop;
  }

  /** Removes every service this sync published. */
  clear(): void {
    this.sync([]);
  }

  private convert(r: Resource): Service | undefined {
    if (!isKubernetesService(r)) return undefined;
    try {
      return serviceFromResource(r, this.opts.domainSuffix !== undefined ? { domainSuffix: this.opts.domainSuffix } : {});
    } catch (err) {
      this.opts.log?.(`registry: Service ${r.metadata.namespace ?? ''}/${r.metadata.name} left out: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  /** Publishes `s` unless the same service is published already. */
  private publish(s: Service): void {
    const key = `${s.namespace}/${s.name}`;
    const current = this.published.get(key);
    if (current !== undefined && JSON.stringify(current) === JSON.stringify(s)) return;
    this.sink.upsertService(s);
    this.published.set(key, s);
  }

  private remove(namespace: string, name: string): void {
    if (!this.published.delete(`${namespace}/${name}`)) return;
    this.sink.removeService(namespace, name);
  }
}
