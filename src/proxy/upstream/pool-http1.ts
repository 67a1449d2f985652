/**
 * HTTP/1.1 connection pools of one cluster, one per host, as Envoy's: idle keep-alive connections
 * are reused (most recent first), requests without a free connection wait in a pending queue
 * bounded by `http1MaxPendingRequests`, new connections open within `maxConnections`, and
 * connections retire after `maxRequestsPerConnection` or `idleTimeout`.
 */
import type { Cluster } from './cluster.js';
import { Http1ClientConnection } from './http1-client.js';
import type { ConnectionOwner } from './http1-client.js';
import { HostEntry, PerHostPools } from './per-host-pools.js';
import type { PendingTicket, PoolClient, ResetReason } from './pool.js';
import type { Endpoint } from './types.js';

class HostPool extends HostEntry {
  readonly idle: Http1ClientConnection[] = [];
  readonly all = new Set<Http1ClientConnection>();
  connecting = 0;
}

export interface PoolOptions {
  /** Largest upstream response head accepted. */
  maxResponseHeaderBytes: number;
}

export class ClusterPool extends PerHostPools<Http1ClientConnection, HostPool> implements ConnectionOwner {
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    cluster: Cluster,
    private readonly opts: PoolOptions,
  ) {
    super(cluster);
  }

  protected newHostEntry(host: Endpoint): HostPool {
    return new HostPool(host);
  }

  /** Gets a connection to `host` for one request (an idle one at once, else a place in the queue). */
  newStream(host: Endpoint, client: PoolClient): PendingTicket | null | 'overflow' {
    const hp = this.hostPool(host);
    const idle = hp.idle;
    while (idle.length > 0) {
      const conn = idle.pop()!;
      if (conn.idle) {
        client.onPoolReady(conn);
        return null;
      }
    }
    const ticket = this.enqueue(hp, client);
    if (ticket !== 'overflow' && hp.connecting < hp.pending.length) this.tryConnect(hp);
    return ticket;
  }

  private tryConnect(hp: HostPool): void {
    const counted = this.cluster.limits.tryAcquireConnection();
    // Envoy lets a pool with no connection at all open one over the limit, so a host is never starved.
    if (!counted && hp.all.size > 0) return;
    const pool = this.cluster.config.connectionPool;
    const conn = new Http1ClientConnection(hp.host, this, { timeoutMs: pool.connectTimeoutMs, tls: this.cluster.tlsFor(hp.host), counters: this.cluster.counters, localAddress: this.cluster.config.upstreamBindAddress }, this.opts.maxResponseHeaderBytes);
    hp.all.add(conn);
    hp.connecting++;
    this.opened(conn, hp.host, counted, 'upstream_cx_http1_total');
  }

  // === ConnectionOwner ===

  onConnected(conn: Http1ClientConnection): void {
    const hp = this.hosts.get(conn.host);
    if (hp === undefined) return;
    hp.connecting--;
    this.ready(hp, conn);
  }

  onConnectFailed(conn: Http1ClientConnection, reason: ResetReason, transportFailure: string): void {
    const hp = this.hosts.get(conn.host);
    if (hp === undefined || !hp.all.has(conn)) return;
    hp.connecting--;
    this.forget(hp, conn);
    conn.host.stats.cx_connect_fail++;
    this.cluster.counters.inc('upstream_cx_connect_fail');
    if (reason === 'connection timeout') this.cluster.counters.inc('upstream_cx_connect_timeout');
    // Fail the requests no other connection attempt is coming for.
    const limits = this.cluster.limits;
    while (hp.pending.length > hp.connecting) {
      const ticket = hp.pending.shift()!;
      limits.releasePending();
      limits.recordPendingFailure();
      ticket.client.onPoolFailure(reason, transportFailure);
    }
  }

  onExchangeDone(conn: Http1ClientConnection, reusable: boolean): void {
    const hp = this.hosts.get(conn.host);
    if (hp === undefined) {
      conn.destroy();
      return;
    }
    const max = this.cluster.config.connectionPool.maxRequestsPerConnection;
    if (max > 0 && conn.served >= max) {
      this.cluster.counters.inc('upstream_cx_max_requests');
      reusable = false;
    }
    if (!reusable || this.closed || conn.host.draining) {
      conn.destroy();
      this.forget(hp, conn);
      this.refill(hp);
      return;
    }
    this.ready(hp, conn);
  }

  onClosed(conn: Http1ClientConnection): void {
    const hp = this.hosts.get(conn.host);
    if (hp === undefined || !hp.all.has(conn)) return;
    this.forget(hp, conn);
    this.refill(hp);
  }

  /** A connection is free: the oldest waiting request takes it, else it waits idle. */
  private ready(hp: HostPool, conn: Http1ClientConnection): void {
    const ticket = hp.pending.shift();
    if (ticket !== undefined) {
      this.cluster.limits.releasePending();
      ticket.client.onPoolReady(conn);
      return;
    }
    if (this.closed || conn.host.draining) {
      conn.destroy();
      this.forget(hp, conn);
      return;
    }
    hp.idle.push(conn);
    this.armSweeper();
  }

  /** Opens connections for requests still waiting after one went away. */
  private refill(hp: HostPool): void {
    if (hp.pending.length > hp.connecting && !this.closed) this.tryConnect(hp);
  }

  private forget(hp: HostPool, conn: Http1ClientConnection): void {
    if (!hp.all.delete(conn)) return;
    const i = hp.idle.indexOf(conn);
    if (i >= 0) hp.idle.splice(i, 1);
    this.gone(conn, conn.host);
    if (hp.all.size === 0 && hp.pending.length === 0) this.hosts.delete(hp.host);
  }

  private armSweeper(): void {
    const idleMs = this.cluster.config.connectionPool.idleTimeoutMs;
    if (this.sweeper !== null || idleMs <= 0) return;
    const every = Math.max(10, Math.min(idleMs / 2, 1000));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  /** Closes connections idle for longer than the cluster's `idleTimeout`. */
  private sweep(): void {
    const idleMs = this.cluster.config.connectionPool.idleTimeoutMs;
    const now = Date.now();
    let any = false;
    for (const hp of [...this.hosts.values()]) {
      for (const conn of [...hp.idle]) {
        if (idleMs > 0 && now - conn.idleSince >= idleMs) {
          this.cluster.counters.inc('upstream_cx_idle_timeout');
          conn.destroy();
          this.forget(hp, conn);
        } else any = true;
      }
    }
    if (!any && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  /** A host left the cluster: idle connections close now, busy ones after their request. */
  drainHost(host: Endpoint): void {
    const hp = this.hosts.get(host);
    if (hp === undefined) return;
    for (const conn of [...hp.idle]) {
      conn.destroy();
      this.forget(hp, conn);
    }
    for (const conn of hp.all) conn.draining = true;
  }

  /** Connections per host, for admin output. */
  connectionCount(host: Endpoint): number {
    return this.hosts.get(host)?.all.size ?? 0;
  }

  /** Closes idle connections and stops pooling; busy connections finish their request first. */
  close(): void {
    if (!this.stopPooling()) return;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const hp of [...this.hosts.values()]) {
      for (const conn of [...hp.idle]) {
        conn.destroy();
        this.forget(hp, conn);
      }
      for (const conn of hp.all) conn.draining = true;
    }
  }

  /** Closes every connection now. */
  destroy(): void {
    this.close();
    for (const hp of [...this.hosts.values()]) {
      for (const conn of [...hp.all]) {
        conn.destroy();
        this.forget(hp, conn);
      }
    }
  }
}
