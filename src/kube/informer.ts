/**
 * An informer: the objects of one resource path kept in a cache by list and watch, with every
 * change handed to a handler in order, as client-go's reflector and informer do — plus what the
 * measured @kubernetes/client-node 1.4 informer lacks:
 *
 * - a relist after `410 Gone` (an `ERROR` event or a list refused) emits only the differences
 *   against the cache (ADDED, MODIFIED, DELETED for objects that went while the watch was down),
 *   so a handler never misses a deletion nor sees a stale object;
 * - consecutive failures (a list or watch refused or cut, a watch expired before it delivered
 *   anything, a stream gone silent) back off exponentially with jitter, so a server that keeps
 *   answering 410 or is down is not hammered;
 * - a watch that ends cleanly (its `timeoutSeconds`) or after delivering events is resumed at
 *   once from the last version seen, bookmarks included, without a relist;
 * - a watchdog: bookmarks are asked for, and a stream silent for `stallMs` (no event, no
 *   bookmark) is abandoned and watched again, since a stalled connection may never end by itself.
 */
import { Backoff } from './backoff.js';
import type { BackoffOptions } from './backoff.js';
import { KubeApiError } from './client.js';
import type { KubeClient, KubeObject, WatchEvent, WatchHandle } from './client.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export type InformerHandler = (type: ChangeType, object: KubeObject) => void;

export interface InformerOptions {
  /** `/api/v1/pods`, `/apis/networking.istio.io/v1/virtualservices`, or namespaced. */
  path: string;
  /** Label and field selectors (`labelSelector`, `fieldSelector`) for list and watch. */
  params?: Record<string, string>;
  /** Server-side watch timeout; each watch draws one in [t, 2t) as client-go does. Default 300 s. */
  watchTimeoutSeconds?: number;
  /** A watch silent for this long is abandoned (the server sends bookmarks well within it). Default 150 s. */
  stallMs?: number;
  backoff?: BackoffOptions;
  log?: (line: string) => void;
}

/** What the informer has done, for status and tests. */
export interface InformerStats {
  lists: number;
  watches: number;
  expired: number;
  stalls: number;
  failures: number;
  /** The latest waits before a retry, in ms (the last 32). */
  waits: number[];
}

const key = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  private readonly handlers = new Set<InformerHandler>();
  private readonly backoff: Backoff;
  private lastRv = '';
  private stopped = false;
  private current: WatchHandle | undefined;
  private wake: (() => void) | undefined;
  private resolveSynced!: () => void;
  /** Resolves once the first list is in the cache. */
  readonly synced: Promise<void>;
  hasSynced = false;
  readonly stats: InformerStats = { lists: 0, watches: 0, expired: 0, stalls: 0, failures: 0, waits: [] };
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: InformerOptions,
  ) {
    this.backoff = new Backoff(opts.backoff);
    this.synced = new Promise((r) => (this.resolveSynced = r));
  }

  get path(): string {
    return this.opts.path;
  }

  /** The cached objects. */
  list(): KubeObject[] {
    return [...this.cache.values()];
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  /** Calls `fn` for every change from now on. */
  onChange(fn: InformerHandler): () => void {
    this.handlers.add(fn);
    return () => this.handlers.delete(fn);
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    this.wake?.();
    await this.loop;
  }

  private emit(type: ChangeType, o: KubeObject): void {
    for (const h of [...this.handlers]) {
      try {
        h(type, o);
      } catch (err) {
        this.opts.log?.(`informer ${this.opts.path}: a handler failed on ${type} ${key(o)}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  private async run(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      let wait = 0;
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        const outcome = await this.watchOnce();
        if (outcome === 'expired') {
          needList = true;
          this.stats.expired++;
        }
        if (outcome === 'resumed') this.backoff.reset();
        else if (outcome !== 'stopped') wait = this.backoff.fail();
      } catch (err) {
        this.stats.failures++;
        if (err instanceof KubeApiError && err.code === 410) {
          needList = true;
          this.stats.expired++;
        }
        wait = this.backoff.fail();
        this.opts.log?.(`informer ${this.opts.path}: ${err instanceof Error ? err.message : String(err)}; again in ${wait} ms`);
      }
      if (wait > 0) {
        this.stats.waits.push(wait);
        if (this.stats.waits.length > 32) this.stats.waits.shift();
      }
      if (wait > 0 && !this.stopped) await new Promise<void>((r) => {
        const t = setTimeout(r, wait);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  /** Lists, and brings the cache to the list's state, emitting the differences. */
  private async relist(): Promise<void> {
    const result = await this.client.list(this.opts.path, this.opts.params ?? {});
    this.stats.lists++;
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const o of result.items) {
      const k = key(o);
      seen.add(k);
      const before = this.cache.get(k);
      this.cache.set(k, o);
      if (before === undefined) this.emit('ADDED', o);
      else if (before.metadata.resourceVersion !== o.metadata.resourceVersion) this.emit('MODIFIED', o);
    }
    for (const [k, o] of [...this.cache]) {
      if (seen.has(k)) continue;
      this.cache.delete(k);
      this.emit('DELETED', o);
    }
    this.lastRv = result.resourceVersion;
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.resolveSynced();
    }
  }

  /**
   * One watch from the last version. 'resumed': it ended cleanly or delivered something, watch
   * again at once; 'expired': relist; 'failed': back off first.
   */
  private async watchOnce(): Promise<'resumed' | 'expired' | 'failed' | 'stopped'> {
    const base = this.opts.watchTimeoutSeconds ?? 300;
    const timeout = base + Math.floor(Math.random() * base);
    const stallMs = this.opts.stallMs ?? 150_000;
    let delivered = false;
    let expired = false;
    let stalled = false;
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        stalled = true;
        handle.abort();
      }, stallMs);
    };
    const onEvent = (e: WatchEvent): void => {
      arm();
      if (e.type === 'ERROR') {
        if (e.object.code === 410) expired = true;
        else this.opts.log?.(`informer ${this.opts.path}: watch error ${String(e.object.code)} ${String(e.object.message)}`);
        handle.abort();
        return;
      }
      const rv = e.object.metadata?.resourceVersion;
      if (rv !== undefined && rv !== '') this.lastRv = rv;
      delivered = true;
      if (e.type === 'BOOKMARK') return;
      const k = key(e.object);
      if (e.type === 'DELETED') {
        this.cache.delete(k);
        this.emit('DELETED', e.object);
        return;
      }
      const existed = this.cache.has(k);
      this.cache.set(k, e.object);
      this.emit(existed ? 'MODIFIED' : 'ADDED', e.object);
    };
    const handle = this.client.watch(this.opts.path, { ...this.opts.params, resourceVersion: this.lastRv, allowWatchBookmarks: 'true', timeoutSeconds: String(timeout) }, onEvent);
    this.current = handle;
    this.stats.watches++;
    arm();
    const result = await handle.done;
    clearTimeout(watchdog);
    this.current = undefined;
    if (this.stopped) return 'stopped';
    if (expired) return 'expired';
    if (stalled) {
      this.stats.stalls++;
      this.opts.log?.(`informer ${this.opts.path}: the watch was silent for ${stallMs} ms; watching again`);
      return 'failed';
    }
    if (result.how === 'error') {
      this.stats.failures++;
      if (result.error instanceof KubeApiError && result.error.code === 410) return 'expired';
      this.opts.log?.(`informer ${this.opts.path}: ${result.error?.message ?? 'watch failed'}`);
      return delivered ? 'resumed' : 'failed';
    }
    return 'resumed';
  }
}
