/**
 * What skiffd keeps in step with its config store: the mesh configuration handed to translation
 * (recomputed only after a change), and the workload resources handed to the local runtime — or,
 * without a runtime, the Services put in the registry directly.
 */
import type { Resource } from '../api/types.js';
import type { ConfigStore } from '../config/store.js';
import { isWorkloadResource } from '../config/store-keys.js';
import type { MemoryRegistry } from '../registry/memory.js';
import { serviceFromResource } from '../registry/kube.js';
import type { LocalRuntime } from '../runtime/types.js';

/** The mesh configuration (Istio kinds) of the store, recomputed only when the store changed. */
export class ConfigCache {
  private version = -1;
  private items: Resource[] = [];
  constructor(private readonly store: ConfigStore) {}

  mesh(): Resource[] {
    if (this.version !== this.store.resourceVersion) {
      this.items = this.store.list().filter((r) => !isWorkloadResource(r));
      this.version = this.store.resourceVersion;
    }
    return this.items;
  }
}

/**
 * Hands the store's workload resources to the runtime after each change, one sync at a time
 * (changes during a sync coalesce into the next). Without a runtime, the store's Services go to
 * the registry directly so translation still knows the mesh's services.
 */
export class WorkloadSync {
  private running: Promise<void> = Promise.resolve();
  private pending = false;
  synced = false;

  constructor(
    private readonly store: ConfigStore,
    private readonly registry: MemoryRegistry,
    private readonly runtime: LocalRuntime | undefined,
    private readonly log: (line: string) => void,
  ) {}

  changed(): void {
    if (this.pending) return;
    this.pending = true;
    this.running = this.running.then(async () => {
      this.pending = false;
      const resources = this.store.list().filter(isWorkloadResource);
      try {
        if (this.runtime !== undefined) await this.runtime.sync(resources);
        else this.syncServices(resources);
        this.synced = true;
      } catch (err) {
        this.log(`skiffd: workloads not synced: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  }

  idle(): Promise<void> {
    return this.running;
  }

  private syncServices(resources: readonly Resource[]): void {
    const wanted = new Map(resources.filter((r) => r.kind === 'Service').map((r) => {
      const s = serviceFromResource(r);
      return [`${s.namespace}/${s.name}`, s] as const;
    }));
    for (const s of this.registry.snapshot().services) {
      if (!wanted.has(`${s.namespace}/${s.name}`)) this.registry.removeService(s.namespace, s.name);
    }
    for (const s of wanted.values()) {
      const current = this.registry.getService(s.namespace, s.name);
      if (current === undefined || JSON.stringify(current) !== JSON.stringify(s)) this.registry.upsertService(s);
    }
  }
}
