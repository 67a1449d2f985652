/**
 * What every request sent to one upstream host shares, whether a try of the router or a shadow
 * copy: the circuit breaker's request slot, the host's active-request count, the place in the
 * pool's queue, and settling that accounting exactly once.
 */
import type { Cluster } from '../upstream/cluster.js';
import type { OutlierOutcome } from '../upstream/outlier.js';
import type { ConnectionPool, PendingTicket, PoolClient, ResetReason, UpstreamStream } from '../upstream/pool.js';
import type { Endpoint } from '../upstream/types.js';
import type { HeaderList } from './headers.js';

/** The request as it goes upstream (shared by every try of one exchange). */
export interface UpstreamRequestHead {
  method: string;
  path: string;
  headers: HeaderList;
  /** Body length: 0 none, -1 unknown (sent chunked). */
  bodyLength: number;
  upgrade: boolean;
}

export abstract class UpstreamRequest implements PoolClient {
  conn: UpstreamStream | null = null;
  private ticket: PendingTicket | null = null;
  private settled = false;

  constructor(
    readonly cluster: Cluster,
    private readonly pool: ConnectionPool,
    readonly host: Endpoint,
    protected readonly req: UpstreamRequestHead,
  ) {}

  /**
   * Takes a request slot on the cluster and host and asks the pool for a stream. Returns false
   * on circuit-breaker overflow, with nothing left counted.
   */
  start(): boolean {
    const cluster = this.cluster;
    if (!cluster.limits.tryAcquireRequest()) return false;
    cluster.startRequest(this.host);
    cluster.counters.inc('upstream_rq_total');
    const r = this.pool.newStream(this.host, this);
    if (r === 'overflow') {
      this.settle(null);
      return false;
    }
    // A stream handed over at once already went through onPoolReady.
    if (r !== null) this.ticket = r;
    return true;
  }

  onPoolReady(conn: UpstreamStream): void {
    this.ticket = null;
    if (this.settled) {
      // Abandoned while waiting: hand the connection straight back.
      conn.abort();
      return;
    }
    this.conn = conn;
    this.connected(conn);
  }

  abstract onPoolFailure(reason: ResetReason, transportFailure: string): void;

  /** The pool handed over a stream: send the request on it. */
  protected abstract connected(conn: UpstreamStream): void;

  /** Runs once, when the request's accounting is settled. */
  protected onSettled(): void {}

  /** Forgets the queue place once the pool has answered it. */
  protected poolAnswered(): void {
    this.ticket = null;
  }

  /** Ends the accounting with the outcome outlier detection should see (null: not the host's fault). */
  settle(outcome: OutlierOutcome | null): void {
    if (this.settled) return;
    this.settled = true;
    this.onSettled();
    this.cluster.limits.releaseRequest();
    this.cluster.endRequest(this.host, outcome);
  }

  /** Abandons the request (timeout, retry, client gone): the connection is closed, never reused. */
  cancel(outcome: OutlierOutcome | null): void {
    if (this.ticket !== null) {
      this.pool.cancel(this.ticket);
      this.ticket = null;
    }
    const conn = this.conn;
    this.conn = null;
    this.settle(outcome);
    conn?.abort();
  }

  get isSettled(): boolean {
    return this.settled;
  }
}
