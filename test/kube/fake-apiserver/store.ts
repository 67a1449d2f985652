/**
 * The fake API server's storage, as etcd behind the watch cache behaves: one cluster-wide
 * resourceVersion counter that every write moves, a bounded history of changes (older ones are
 * compacted away; a watch from before the history gets `410 Gone`), and live watchers.
 */
import { randomUUID } from 'node:crypto';

export type Obj = Record<string, unknown> & { metadata: Meta };

export interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  [field: string]: unknown;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  rv: number;
  type: EventType;
  /** `group/resource` of the object. */
  typeKey: string;
  object: Obj;
  /** The state before a MODIFIED change (a filtered watch turns a change out of its selector into DELETED). */
  previous?: Obj;
}

export type Watcher = (e: StoredEvent) => void;

export class Store {
  private readonly objects = new Map<string, Obj>();
  private readonly history: StoredEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private rv = 1;
  /** Watches from before this version get 410: their changes are gone. */
  compactedRv = 1;

  constructor(private readonly historyLimit = 1000) {}

  get resourceVersion(): number {
    return this.rv;
  }

  static key(typeKey: string, namespace: string | undefined, name: string): string {
    return `${typeKey}/${namespace ?? ''}/${name}`;
  }

  get(typeKey: string, namespace: string | undefined, name: string): Obj | undefined {
    const o = this.objects.get(Store.key(typeKey, namespace, name));
    return o === undefined ? undefined : structuredClone(o);
  }

  /** Every object of a type (in `namespace` when given), ordered by namespace and name. */
  list(typeKey: string, namespace?: string): Obj[] {
    const prefix = namespace === undefined ? `${typeKey}/` : `${typeKey}/${namespace}/`;
    return [...this.objects]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => structuredClone(o));
  }

  /** Creates or replaces `obj`, stamping a new resourceVersion (and uid, creation time on create). */
  put(typeKey: string, obj: Obj): Obj {
    const key = Store.key(typeKey, obj.metadata.namespace, obj.metadata.name);
    const existing = this.objects.get(key);
    const stored = structuredClone(obj);
    this.rv++;
    stored.metadata.resourceVersion = String(this.rv);
    if (existing === undefined) {
      stored.metadata.uid ??= randomUUID();
      stored.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    } else {
      stored.metadata.uid = existing.metadata.uid;
      stored.metadata.creationTimestamp = existing.metadata.creationTimestamp;
    }
    this.objects.set(key, stored);
    this.record({ rv: this.rv, type: existing === undefined ? 'ADDED' : 'MODIFIED', typeKey, object: stored, ...(existing !== undefined ? { previous: existing } : {}) });
    return structuredClone(stored);
  }

  /** Removes an object; the DELETED event carries its last state under a new resourceVersion. */
  delete(typeKey: string, namespace: string | undefined, name: string): Obj | undefined {
    const key = Store.key(typeKey, namespace, name);
    const existing = this.objects.get(key);
    if (existing === undefined) return undefined;
    this.objects.delete(key);
    this.rv++;
    const last = structuredClone(existing);
    last.metadata.resourceVersion = String(this.rv);
    this.record({ rv: this.rv, type: 'DELETED', typeKey, object: last });
    return structuredClone(last);
  }

  /**
   * The changes after `fromRv`, or undefined when some of them were compacted away (410).
   * A watch from exactly the compacted version loses nothing and is served.
   */
  since(fromRv: number): StoredEvent[] | undefined {
    if (fromRv < this.compactedRv) return undefined;
    return this.history.filter((e) => e.rv > fromRv).map((e) => structuredClone(e));
  }

  /** Drops the whole history now, as an etcd compaction at the current revision. */
  compact(): void {
    this.history.length = 0;
    this.compactedRv = this.rv;
  }

  watch(fn: Watcher): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  private record(e: StoredEvent): void {
    this.history.push(e);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift()!;
      this.compactedRv = dropped.rv;
    }
    for (const w of [...this.watchers]) w(structuredClone(e));
  }
}
