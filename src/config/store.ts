/**
 * The config store: every applied resource keyed by (group, kind, namespace, name), with a global
 * resource version that only grows, a generation per resource, a change feed (list + watch from a
 * resource version, as the Kubernetes API offers) and persistence in the state directory
 * (`store-file.ts`) so a restart comes back with everything applied. Changes are serialized; a
 * change is visible (and announced) only once it is on disk.
 */
import type { Resource } from '../api/types.js';
import { readStoreFile, removeStaleTemps, writeStoreFile } from './store-file.js';
import { idKey, idOf, kubectlRef } from './store-keys.js';
import type { ResourceId } from './store-keys.js';
import { acquireStoreLock } from './store-lock.js';
import { sameContent, withServerFields } from './store-meta.js';
import type { ReleaseLock } from './store-lock.js';
import { ResourceVersionTooOldError } from './source.js';
import type { ConfigSource, ListFilter, StoreEvent } from './source.js';

export { ResourceVersionTooOldError } from './source.js';
export type { ChangeType, ConfigSource, ListFilter, StoreEvent } from './source.js';

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyOutcome {
  id: ResourceId;
  /** `virtualservice.networking.istio.io/reviews`. */
  ref: string;
  action: ApplyAction;
  /** The resource as stored (server-set metadata filled in). */
  resource: Resource;
}

export interface DeleteOutcome {
  id: ResourceId;
  ref: string;
  /** False when there was nothing to delete. */
  deleted: boolean;
}

export interface OpenOptions {
  /** Take the state directory's lock for the store's lifetime (default true); false opens read-only. */
  lock?: boolean;
  /** How long to wait for the lock (see `acquireStoreLock`). */
  lockWaitMs?: number;
  /** Events kept for `watch` from an older resource version (default 1000). */
  historySize?: number;
}

/** The file-backed config source: what `skiff apply` writes, persisted in the state directory. */
export class ConfigStore implements ConfigSource {
  private readonly byKey = new Map<string, Resource>();
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private readonly history: StoreEvent[] = [];
  private version: number;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly stateDir: string,
    resourceVersion: number,
    resources: readonly Resource[],
    private readonly release: ReleaseLock | undefined,
    private readonly historySize: number,
  ) {
    this.version = resourceVersion;
    for (const r of resources) this.byKey.set(idKey(idOf(r)), r);
  }

  /** Opens the store in `stateDir`, restoring what was persisted there. */
  static async open(stateDir: string, opts: OpenOptions = {}): Promise<ConfigStore> {
    const lock = opts.lock ?? true;
    const release = lock ? await acquireStoreLock(stateDir, opts.lockWaitMs !== undefined ? { waitMs: opts.lockWaitMs } : {}) : undefined;
    try {
      if (lock) await removeStaleTemps(stateDir);
      const content = await readStoreFile(stateDir);
      return new ConfigStore(stateDir, content.resourceVersion, content.resources, release, opts.historySize ?? 1000);
    } catch (err) {
      await release?.();
      throw err;
    }
  }

  /** The version of the latest change. */
  get resourceVersion(): number {
    return this.version;
  }

  get writable(): boolean {
    return this.release !== undefined && !this.closed;
  }

  /** Resources matching `filter`, ordered by group, kind, namespace, name. */
  list(filter: ListFilter = {}): Resource[] {
    const out: Resource[] = [];
    for (const r of this.byKey.values()) {
      const id = idOf(r);
      if (filter.group !== undefined && id.group !== filter.group) continue;
      if (filter.kind !== undefined && id.kind !== filter.kind) continue;
      if (filter.namespace !== undefined && id.namespace !== filter.namespace) continue;
      if (filter.name !== undefined && id.name !== filter.name) continue;
      out.push(r);
    }
    return out.sort((a, b) => compareIds(idOf(a), idOf(b)));
  }

  get(id: ResourceId): Resource | undefined {
    return this.byKey.get(idKey(id));
  }

  /**
   * Applies validated resources in order, as one change on disk: each is created, configured or
   * unchanged (same content as stored, ignoring server-set metadata). Nothing is applied when the
   * write fails.
   */
  apply(resources: readonly Resource[]): Promise<ApplyOutcome[]> {
    return this.serialized(async () => {
      const next = new Map(this.byKey);
      let version = this.version;
      const outcomes: ApplyOutcome[] = [];
      const events: StoreEvent[] = [];
      for (const incoming of resources) {
        const id = idOf(incoming);
        const key = idKey(id);
        const current = next.get(key);
        const ref = kubectlRef(id);
        if (current !== undefined && sameContent(current, incoming)) {
          outcomes.push({ id, ref, action: 'unchanged', resource: current });
          continue;
        }
        version += 1;
        const stored = withServerFields(incoming, current, version);
        next.set(key, stored);
        outcomes.push({ id, ref, action: current === undefined ? 'created' : 'configured', resource: stored });
        events.push({ type: current === undefined ? 'ADDED' : 'MODIFIED', resource: stored, resourceVersion: version });
      }
      await this.commit(next, version, events);
      return outcomes;
    });
  }

  /** Deletes resources by identity, as one change on disk. */
  delete(ids: readonly ResourceId[]): Promise<DeleteOutcome[]> {
    return this.serialized(async () => {
      const next = new Map(this.byKey);
      let version = this.version;
      const outcomes: DeleteOutcome[] = [];
      const events: StoreEvent[] = [];
      for (const id of ids) {
        const key = idKey(id);
        const current = next.get(key);
        outcomes.push({ id, ref: kubectlRef(id), deleted: current !== undefined });
        if (current === undefined) continue;
        next.delete(key);
        version += 1;
        events.push({ type: 'DELETED', resource: current, resourceVersion: version });
      }
      await this.commit(next, version, events);
      return outcomes;
    });
  }

  /** Calls `fn` for every change from now on; returns a function that unsubscribes. */
  subscribe(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  /**
   * Replays the changes after `fromVersion` and then follows new ones, with no gap between the
   * two. Throws `ResourceVersionTooOldError` when those changes are no longer kept.
   */
  watch(fromVersion: number, fn: (e: StoreEvent) => void): () => void {
    const missed = this.eventsSince(fromVersion);
    for (const e of missed) fn(e);
    return this.subscribe(fn);
  }

  /** The kept changes after `fromVersion` (empty when up to date). */
  eventsSince(fromVersion: number): StoreEvent[] {
    if (fromVersion >= this.version) return [];
    const oldestKept = this.history[0]?.resourceVersion;
    if (oldestKept === undefined || fromVersion < oldestKept - 1) {
      throw new ResourceVersionTooOldError(fromVersion, (oldestKept ?? this.version + 1) - 1);
    }
    return this.history.filter((e) => e.resourceVersion > fromVersion);
  }

  /** Waits for pending changes and releases the lock; the store is read-only afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue.catch(() => undefined);
    this.closed = true;
    this.listeners.clear();
    await this.release?.();
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    if (!this.writable) return Promise.reject(new Error(this.closed ? 'the config store is closed' : 'the config store was opened read-only'));
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async commit(next: Map<string, Resource>, version: number, events: StoreEvent[]): Promise<void> {
    if (events.length === 0) return;
    const resources = [...next.values()].sort((a, b) => compareIds(idOf(a), idOf(b)));
    await writeStoreFile(this.stateDir, { format: 1, resourceVersion: version, resources });
    this.byKey.clear();
    for (const [k, v] of next) this.byKey.set(k, v);
    this.version = version;
    for (const e of events) {
      this.history.push(e);
      if (this.history.length > this.historySize) this.history.shift();
      // A listener that throws must not keep the others from hearing about the change.
      for (const fn of [...this.listeners]) {
        try {
          fn(e);
        } catch {
          /* listeners report their own failures */
        }
      }
    }
  }
}

/** Opens the store with its lock, runs `work`, and closes it: one change from a CLI verb. */
export async function withStore<T>(stateDir: string, work: (store: ConfigStore) => Promise<T>): Promise<T> {
  const store = await ConfigStore.open(stateDir);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function compareIds(a: ResourceId, b: ResourceId): number {
  return cmp(a.group, b.group) || cmp(a.kind, b.kind) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
