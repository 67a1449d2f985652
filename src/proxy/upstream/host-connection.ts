/**
 * A connection to one host of a cluster outside the pools, for a byte tunnel (the TCP proxy, a
 * CONNECT tunnel): it takes a slot of the cluster's `maxConnections`, is counted in the host's
 * and the cluster's statistics as a pooled connection is, reports the connect's outcome to
 * outlier detection, and gives its slot back once the tunnel is over.
 */
import type net from 'node:net';
import type { Cluster } from './cluster.js';
import { connectUpstream } from './connect.js';
import type { ConnectFailure, ConnectHandler, UpstreamConnect } from './connect.js';
import type { Endpoint } from './types.js';

export interface HostConnectionHandler {
  onConnected(conn: HostConnection): void;
  /** Counted already (host, cluster, outlier detection); the slot is given back. */
  onConnectFailed(failure: ConnectFailure): void;
}

export class HostConnection implements ConnectHandler {
  private readonly attempt: UpstreamConnect;
  private released = false;

  private constructor(
    readonly cluster: Cluster,
    readonly host: Endpoint,
    private readonly handler: HostConnectionHandler,
  ) {
    host.stats.cx_total++;
    host.stats.cx_active++;
    cluster.counters.inc('upstream_cx_total');
    const opts = { timeoutMs: cluster.config.connectionPool.connectTimeoutMs, tls: cluster.tlsFor(host), traffic: 'tcp' as const, allowHalfOpen: true, counters: cluster.counters, localAddress: cluster.config.upstreamBindAddress };
    this.attempt = connectUpstream(host.address, host.port, opts, this);
  }

  /**
   * Opens a connection to `host` within the cluster's connection limit; `overflow` when the
   * circuit breaker refuses it (Envoy's UO), and nothing was counted.
   */
  static open(cluster: Cluster, host: Endpoint, handler: HostConnectionHandler): HostConnection | 'overflow' {
    if (!cluster.limits.tryAcquireConnection()) return 'overflow';
    return new HostConnection(cluster, host, handler);
  }

  /** The upstream socket (connected once `onConnected` ran). */
  get socket(): net.Socket {
    return this.attempt.socket;
  }

  /** Gives the connection's slot back: once the tunnel over it closed. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.cluster.limits.releaseConnection();
    if (this.host.stats.cx_active > 0) this.host.stats.cx_active--;
  }

  /**
   * Gives up before the connection is made (the client went away): the socket closes and the
   * slot is given back; not a failure of the host.
   */
  cancel(): void {
    this.attempt.cancel();
    this.release();
  }

  // === ConnectHandler ===

  onConnected(): void {
    this.cluster.report(this.host, 'connect-success-final');
    this.handler.onConnected(this);
  }

  onConnectFailed(failure: ConnectFailure): void {
    this.release();
    this.host.stats.cx_connect_fail++;
    this.cluster.counters.inc('upstream_cx_connect_fail');
    if (failure.reason === 'connection timeout') this.cluster.counters.inc('upstream_cx_connect_timeout');
    this.cluster.report(this.host, 'connect-failure');
    this.handler.onConnectFailed(failure);
  }
}
