/**
 * Where the control plane reads configuration from: resources listed and fetched by identity,
 * and a change feed from a version on, as the Kubernetes API offers them. The file-backed config
 * store of the state directory (`store.ts`) is one source; an informer cache over a
 * kube-apiserver is another. skiffd, translation and the registry's Service sync read only
 * through this interface.
 */
import type { Resource } from '../api/types.js';
import type { ResourceId } from './store-keys.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change, as the feed announces it. For DELETED, `resource` is the last state before deletion. */
export interface StoreEvent {
  type: ChangeType;
  resource: Resource;
  /** The source's version once this change is in: every change has its own, and they only grow. */
  resourceVersion: number;
}

/** Which resources to list; absent fields match everything. */
export interface ListFilter {
  group?: string;
  kind?: string;
  namespace?: string;
  name?: string;
}

/** `watch` from a resource version older than the kept history: list again. */
export class ResourceVersionTooOldError extends Error {
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super(`resource version ${requested} is too old (history starts after ${oldest}); list again and watch from its version`);
    this.name = 'ResourceVersionTooOldError';
  }
}

/** A resource the source holds but does not serve: it fails its kind's schema. */
export interface RejectedResource {
  /** `Service default/reviews`, or where the source holds it when it names no resource. */
  ref: string;
  id?: ResourceId;
  /** What is wrong with it, each `field: message`. */
  errors: string[];
  /** How to mend it. */
  mend: string;
}

/**
 * A source of configuration resources. Versions are the source's own whole numbers (a source
 * over the Kubernetes API counts the changes its informers deliver; it does not expose the API
 * server's opaque resourceVersion strings). Resources are validated before they get here: a
 * source that receives unvalidated objects (an informer) drops or reports invalid ones itself.
 */
export interface ConfigSource {
  /** The version of the latest change (0 before any). */
  readonly resourceVersion: number;
  /** Resources matching `filter`, ordered by group, kind, namespace, name. */
  list(filter?: ListFilter): Resource[];
  get(id: ResourceId): Resource | undefined;
  /** Calls `fn` for every change from now on; returns a function that unsubscribes. */
  subscribe(fn: (e: StoreEvent) => void): () => void;
  /**
   * Replays the changes after `fromVersion` and then follows new ones, with no gap between the
   * two. Throws `ResourceVersionTooOldError` when those changes are no longer kept.
   */
  watch(fromVersion: number, fn: (e: StoreEvent) => void): () => void;
  /** Resources it holds but leaves out of everything above because they are invalid (reported, not served). */
  rejected?(): RejectedResource[];
}
