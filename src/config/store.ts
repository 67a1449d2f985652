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
import type { ConfigSource, ListFilter, RejectedResource, StoreEvent } from './source.js';
import { checkStoredResources } from './store-check.js';
import type { SetApart } from './store-check.js';

export { ResourceVersionTooOldError } from './source.js';
export type { ChangeType, ConfigSource, ListFilter, RejectedResource, StoreEvent } from './source.js';

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

/**
 * The file-backed config source: what `skiff apply` writes, persisted in the state directory.
 * Resources of the file that fail their schema on load are set apart (`store-check.ts`): kept in
 * the file, not served, reported by `rejected()`, until a valid one of the same identity is
 * applied or the identity is deleted.
 */
export class ConfigStore implements ConfigSource {
  private readonly byKey = new Map<string, Resource>();
  private readonly setApart = new Map<string, SetApart>();
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  private readonly history: StoreEvent[] = [];
  private version: number;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly stateDir: string,
    resourceVersion: number,
    entries: readonly unknown[],
    private readonly release: ReleaseLock | undefined,
    private readonly historySize: number,
  ) {
    this.version = resourceVersion;
    const { valid, setApart } = checkStoredResources(entries);
    for (const r of valid) this.byKey.set(idKey(idOf(r)), r);
    for (const s of setApart) this.setApart.set(s.key, s);
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

  /** Resources of the file that failed their schema on load: not served, reported here. */
  rejected(): RejectedResource[] {
    return [...this.setApart.values()].map(({ ref, id, errors, mend }) => ({ ref, ...(id !== undefined ? { id } : {}), errors, mend }));
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
      const mended = new Set<string>();
      for (const incoming of resources) {
        const id = idOf(incoming);
        const key = idKey(id);
        const current = next.get(key);
        const ref = kubectlRef(id);
        // A valid resource takes the place of an invalid one of the same identity.
        if (this.setApart.has(key)) mended.add(key);
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
      await this.commit(next, version, events, mended);
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
      const removed = new Set<string>();
      for (const id of ids) {
        const key = idKey(id);
        const current = next.get(key);
        // An invalid resource set apart on load goes as well; nobody was served it, so nothing is announced.
        const apart = this.setApart.has(key) && !removed.has(key);
        if (apart) {
          removed.add(key);
          version += 1;
        }
        outcomes.push({ id, ref: kubectlRef(id), deleted: current !== undefined || apart });
        if (current === undefined) continue;
        next.delete(key);
        version += 1;
        events.push({ type: 'DELETED', resource: current, resourceVersion: version });
      }
      await this.commit(next, version, events, removed);
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

  /** Writes the next state (and `unsetApart`, the set-apart entries it no longer keeps), then announces it. */
  private async commit(next: Map<string, Resource>, version: number, events: StoreEvent[], unsetApart: ReadonlySet<string> = new Set()): Promise<void> {
    if (events.length === 0 && unsetApart.size === 0) return;
    const resources = [...next.values()].sort((a, b) => compareIds(idOf(a), idOf(b)));
    // Set-apart entries stay in the file as they were: a later version may read them, or the user mend them.
    const kept = [...this.setApart.values()].filter((s) => !unsetApart.has(s.key)).map((s) => s.raw as Resource);
    await writeStoreFile(this.stateDir, { format: 1, resourceVersion: version, resources: [...resources, ...kept] });
    for (const key of unsetApart) this.setApart.delete(key);
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
