/**
 * What the HTTP/1.1 and HTTP/2 pools of a cluster share: one entry per host with the requests
 * waiting for a connection (bounded by the cluster's pending limit), the accounting of every
 * connection opened and closed (host and cluster statistics, the `maxConnections` slot it took),
 * and the drain watch that tells a pool when a host left the cluster.
 */
import type { Cluster } from './cluster.js';
import type { ClusterCounterName } from './counters.js';
import type { ConnectionPool, PendingTicket, PoolClient } from './pool.js';
import type { Endpoint } from './types.js';

/** A pool's state for one host; the protocol's pool adds its connections. */
export class HostEntry {
  readonly pending: PendingStream[] = [];
  constructor(readonly host: Endpoint) {}
}

/** A queued request; pass it to its pool's `cancel` to give up waiting. */
export class PendingStream implements PendingTicket {
  constructor(
    readonly client: PoolClient,
    readonly entry: HostEntry,
    readonly pool: object,
  ) {}
}

export abstract class PerHostPools<C extends object, H extends HostEntry> implements ConnectionPool {
  protected readonly hosts = new Map<Endpoint, H>();
  /** Connections counted against `maxConnections` (a host's only connection may exceed it, as in Envoy). */
  private readonly counted = new WeakSet<C>();
  private readonly stopDrainWatch: () => void;
  protected closed = false;

  constructor(readonly cluster: Cluster) {
    this.stopDrainWatch = cluster.onDrain((host) => this.drainHost(host));
  }

  abstract newStream(host: Endpoint, client: PoolClient): PendingTicket | null | 'overflow';
  abstract close(): void;
  abstract destroy(): void;
  /** A host left the cluster. */
  abstract drainHost(host: Endpoint): void;
  protected abstract newHostEntry(host: Endpoint): H;

  protected hostPool(host: Endpoint): H {
    let hp = this.hosts.get(host);
    if (hp === undefined) {
      hp = this.newHostEntry(host);
      this.hosts.set(host, hp);
    }
    return hp;
  }

  /** Queues a request for a connection to `hp`'s host, within the cluster's pending limit. */
  protected enqueue(hp: H, client: PoolClient): PendingStream | 'overflow' {
    if (!this.cluster.limits.tryAcquirePending()) return 'overflow';
    const ticket = new PendingStream(client, hp, this);
    hp.pending.push(ticket);
    return ticket;
  }

  /** Gives up a queued request (timeout, client gone). */
  cancel(ticket: PendingTicket): void {
    if (!(ticket instanceof PendingStream) || ticket.pool !== this) return;
    const q = ticket.entry.pending;
    const i = q.indexOf(ticket);
    if (i < 0) return;
    q.splice(i, 1);
    this.cluster.limits.releasePending();
  }

  /** Counts a connection just opened to `host`; `counted` when it took a `maxConnections` slot. */
  protected opened(conn: C, host: Endpoint, counted: boolean, protocolCounter: ClusterCounterName): void {
    if (counted) this.counted.add(conn);
    host.stats.cx_total++;
    host.stats.cx_active++;
    this.cluster.counters.inc('upstream_cx_total');
    this.cluster.counters.inc(protocolCounter);
  }

  /** Counts a connection gone, and gives back its `maxConnections` slot. */
  protected gone(conn: C, host: Endpoint): void {
    if (host.stats.cx_active > 0) host.stats.cx_active--;
    this.cluster.counters.inc('upstream_cx_destroy');
    if (this.counted.has(conn)) {
      this.counted.delete(conn);
      this.cluster.limits.releaseConnection();
    }
  }

  /** Marks the pools closed and stops watching for drained hosts; false when already closed. */
  protected stopPooling(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.stopDrainWatch();
    return true;
  }
}
