/**
 * An in-memory registry: services and workload instances upserted and removed by the providers
 * that own them (the Service sync, the local runtime, tests), with a change event after every
 * mutation.
 */
import type { PublishedRegistry, RegistrySnapshot, Service, WorkloadInstance } from './types.js';

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export class MemoryRegistry implements PublishedRegistry {
  private readonly services = new Map<string, Service>();
  private readonly workloads = new Map<string, WorkloadInstance>();
  private readonly listeners = new Set<() => void>();
  private cached: RegistrySnapshot | undefined;

  constructor(initial?: Partial<RegistrySnapshot>) {
    for (const s of initial?.services ?? []) this.services.set(key(s.namespace, s.name), s);
    for (const w of initial?.workloads ?? []) this.workloads.set(key(w.namespace, w.name), w);
  }

  /** The current services and workloads, sorted by namespace/name so snapshots are stable. */
  snapshot(): RegistrySnapshot {
    // Cached until the next change: every proxy's translation of one push reads the same object.
    this.cached ??= {
      services: sortedValues(this.services),
      workloads: sortedValues(this.workloads),
    };
    return this.cached;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  upsertService(service: Service): void {
    this.services.set(key(service.namespace, service.name), service);
    this.changed();
  }

  removeService(namespace: string, name: string): boolean {
    const had = this.services.delete(key(namespace, name));
    if (had) this.changed();
    return had;
  }

  upsertWorkload(workload: WorkloadInstance): void {
    this.workloads.set(key(workload.namespace, workload.name), workload);
    this.changed();
  }

  removeWorkload(namespace: string, name: string): boolean {
    const had = this.workloads.delete(key(namespace, name));
    if (had) this.changed();
    return had;
  }

  /** Marks a workload instance ready or not; no event when nothing changes. */
  setReady(namespace: string, name: string, ready: boolean): void {
    const w = this.workloads.get(key(namespace, name));
    if (w === undefined || w.ready === ready) return;
    this.workloads.set(key(namespace, name), { ...w, ready });
    this.changed();
  }

  getService(namespace: string, name: string): Service | undefined {
    return this.services.get(key(namespace, name));
  }

  getWorkload(namespace: string, name: string): WorkloadInstance | undefined {
    return this.workloads.get(key(namespace, name));
  }

  private changed(): void {
    this.cached = undefined;
    // A listener that throws must not keep the others from hearing about the change.
    for (const fn of [...this.listeners]) {
      try {
        fn();
      } catch {
        /* listeners report their own failures */
      }
    }
  }
}

function sortedValues<T extends { namespace: string; name: string }>(m: Map<string, T>): T[] {
  return [...m.values()].sort((a, b) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace)));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
