/**
 * HTTP/2 connection pools of one cluster, one per host, as Envoy's: requests become streams on a
 * session with room under `maxConcurrentStreams` (and the peer's own limit), requests without
 * room wait as pending (bounded by `http1MaxPendingRequests`, which Envoy applies to every
 * pool), new sessions open within `maxConnections`, sessions retire after
 * `maxRequestsPerConnection`, on GOAWAY (a new session takes the next requests) and after
 * `idleTimeout`. Also decides which protocol a request speaks upstream.
 */
import { Http2ClientSession } from '../http2/client-session.js';
import type { SessionOwner } from '../http2/client-session.js';
import type { Cluster } from './cluster.js';
import { HostEntry, PerHostPools } from './per-host-pools.js';
import type { DownstreamProtocolInfo, PendingTicket, PoolClient, ResetReason } from './pool.js';
import type { ClusterConfig } from '../../snapshot/index.js';
import type { Endpoint } from './types.js';

/** The protocol a request uses towards a cluster. */
export type UpstreamProtocol = 'http1' | 'http2';

/**
 * Istio's choice of upstream protocol: `useClientProtocol` follows the downstream; `http2`
 * ports (http2-, grpc- names) speak HTTP/2; `http1` ports upgrade with `h2UpgradePolicy`;
 * sniffed (`auto`) ports follow the downstream. Upgrades (WebSocket) always use HTTP/1.1.
 */
export function upstreamProtocol(config: ClusterConfig, downstream: DownstreamProtocolInfo | undefined): UpstreamProtocol {
  if (downstream?.upgrade != null) return 'http1';
  const fromClient: UpstreamProtocol = downstream?.protocol === 'HTTP/2' ? 'http2' : 'http1';
  const pool = config.connectionPool;
  if (pool.useClientProtocol) return fromClient;
  if (config.protocol === 'http2') return 'http2';
  if (config.protocol === 'http1' && pool.h2Upgrade) return 'http2';
  if (config.protocol === 'auto') return fromClient;
  return 'http1';
}

class HostPool extends HostEntry {
  readonly sessions: Http2ClientSession[] = [];
}

export interface Http2PoolOptions {
  /** Largest header block accepted from upstream. */
  maxResponseHeaderBytes: number;
}

export class Http2ClusterPool extends PerHostPools<Http2ClientSession, HostPool> implements SessionOwner {
  constructor(
    cluster: Cluster,
    private readonly opts: Http2PoolOptions,
  ) {
    super(cluster);
  }

  protected newHostEntry(host: Endpoint): HostPool {
    return new HostPool(host);
  }

  newStream(host: Endpoint, client: PoolClient): PendingTicket | null | 'overflow' {
    const hp = this.hostPool(host);
    const s = this.available(hp);
    if (s !== undefined) {
      client.onPoolReady(s.newStream());
      return null;
    }
    const ticket = this.enqueue(hp, client);
    if (ticket !== 'overflow') this.connectIfShort(hp);
    return ticket;
  }

  /** Streams one session may carry at once under the cluster's and the peer's limits. */
  private streamLimit(s: Http2ClientSession | null): number {
    const pool = this.cluster.config.connectionPool;
    let limit = Math.min(pool.maxConcurrentStreams, s?.peerMaxStreams ?? Number.POSITIVE_INFINITY);
    const maxRequests = pool.maxRequestsPerConnection;
    if (maxRequests > 0) limit = Math.min(limit, maxRequests - (s?.served ?? 0) + (s?.active ?? 0));
    return limit;
  }

  /** A connected session with room for one more stream. */
  private available(hp: HostPool): Http2ClientSession | undefined {
    for (const s of hp.sessions) if (s.usable && s.active < this.streamLimit(s)) return s;
    return undefined;
  }

  /** Opens a session when the ones still connecting cannot take every waiting request. */
  private connectIfShort(hp: HostPool): void {
    if (this.closed || hp.pending.length === 0) return;
    let coming = 0;
    for (const s of hp.sessions) if (s.connecting) coming += this.streamLimit(null);
    if (hp.pending.length <= coming) return;
    const counted = this.cluster.limits.tryAcquireConnection();
    // Envoy lets a host with no connection at all open one over the limit, so it is never starved.
    if (!counted && hp.sessions.length > 0) return;
    const pool = this.cluster.config.connectionPool;
    const s = new Http2ClientSession(hp.host, this, {
      connectTimeoutMs: pool.connectTimeoutMs,
      idleTimeoutMs: pool.idleTimeoutMs,
      maxHeaderListSize: this.opts.maxResponseHeaderBytes,
      tls: this.cluster.tlsFor(hp.host),
      counters: this.cluster.counters,
      localAddress: this.cluster.config.upstreamBindAddress,
    });
    hp.sessions.push(s);
    this.opened(s, hp.host, counted, 'upstream_cx_http2_total');
  }

  /** Gives waiting requests the room there is, then opens sessions for the rest. */
  private serve(hp: HostPool): void {
    const limits = this.cluster.limits;
    while (hp.pending.length > 0) {
      const s = this.available(hp);
      if (s === undefined) break;
      const ticket = hp.pending.shift()!;
      limits.releasePending();
      ticket.client.onPoolReady(s.newStream());
    }
    this.connectIfShort(hp);
  }

  // === SessionOwner ===

  onConnected(s: Http2ClientSession): void {
    const hp = this.hosts.get(s.host);
    if (hp !== undefined) this.serve(hp);
  }

  onConnectFailed(s: Http2ClientSession, reason: ResetReason, transportFailure: string): void {
    const hp = this.hosts.get(s.host);
    if (hp === undefined || !hp.sessions.includes(s)) return;
    this.forget(hp, s);
    s.host.stats.cx_connect_fail++;
    this.cluster.counters.inc('upstream_cx_connect_fail');
    if (reason === 'connection timeout') this.cluster.counters.inc('upstream_cx_connect_timeout');
    // Fail the requests that neither a live session nor another connection attempt will take.
    let room = 0;
    for (const other of hp.sessions) room += other.connecting ? this.streamLimit(null) : other.usable ? Math.max(0, this.streamLimit(other) - other.active) : 0;
    const limits = this.cluster.limits;
    while (hp.pending.length > room) {
      const ticket = hp.pending.shift()!;
      limits.releasePending();
      limits.recordPendingFailure();
      ticket.client.onPoolFailure(reason, transportFailure);
    }
    this.dropIfEmpty(hp);
  }

  onCapacity(s: Http2ClientSession): void {
    const hp = this.hosts.get(s.host);
    if (hp === undefined) return;
    const maxRequests = this.cluster.config.connectionPool.maxRequestsPerConnection;
    // A session that carried its last request gets no more (`streamLimit` leaves it no room) and
    // closes once its streams finish, not before: a stream handed out in this same turn is not on
    // the wire yet, and closing the session now would refuse it.
    if (maxRequests > 0 && s.served >= maxRequests && s.active === 0 && s.usable) {
      this.cluster.counters.inc('upstream_cx_max_requests');
      s.drain();
    } else if (s.usable && s.active === 0 && (this.closed || s.host.draining)) s.drain();
    this.serve(hp);
  }

  onGoaway(s: Http2ClientSession): void {
    const hp = this.hosts.get(s.host);
    if (hp !== undefined) this.serve(hp);
  }

  onIdleTimeout(s: Http2ClientSession): void {
    this.cluster.counters.inc('upstream_cx_idle_timeout');
    s.drain();
  }

  onClosed(s: Http2ClientSession): void {
    const hp = this.hosts.get(s.host);
    if (hp === undefined || !hp.sessions.includes(s)) return;
    this.forget(hp, s);
    this.serve(hp);
    this.dropIfEmpty(hp);
  }

  private forget(hp: HostPool, s: Http2ClientSession): void {
    const i = hp.sessions.indexOf(s);
    if (i < 0) return;
    hp.sessions.splice(i, 1);
    this.gone(s, s.host);
  }

  private dropIfEmpty(hp: HostPool): void {
    if (hp.sessions.length === 0 && hp.pending.length === 0 && this.hosts.get(hp.host) === hp) this.hosts.delete(hp.host);
  }

  /** A host left the cluster: its sessions take no new streams and close once idle. */
  drainHost(host: Endpoint): void {
    const hp = this.hosts.get(host);
    if (hp === undefined) return;
    for (const s of [...hp.sessions]) s.drain();
  }

  /** Sessions per host, for admin output. */
  connectionCount(host: Endpoint): number {
    return this.hosts.get(host)?.sessions.length ?? 0;
  }

  /** Stops pooling: sessions take no new streams and close when their streams finish. */
  close(): void {
    if (!this.stopPooling()) return;
    for (const hp of [...this.hosts.values()]) for (const s of [...hp.sessions]) s.drain();
  }

  /** Closes every session now. */
  destroy(): void {
    this.close();
    for (const hp of [...this.hosts.values()]) for (const s of [...hp.sessions]) s.destroy();
  }
}
