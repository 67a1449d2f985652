/**
 * Shadow requests (Istio `mirror`): a copy of the request, authority suffixed `-shadow`, sent to
 * another cluster alongside the real one. Fire and forget: the response is read and dropped,
 * failures are only counted, and a shadow that cannot keep up with the body is abandoned.
 */
import type { Cluster } from '../upstream/cluster.js';
import type { ConnectionPool, PendingTicket, PoolClient, ResetReason, ResponseHandler, UpstreamStream } from '../upstream/pool.js';
import type { Endpoint } from '../upstream/types.js';
import type { HeaderList } from './headers.js';
import type { UpstreamRequestHead } from './upstream-try.js';
import type { Socket } from 'node:net';

/** Body bytes a shadow may hold or have unsent before it is dropped. */
const SHADOW_BUFFER_LIMIT = 1024 * 1024;

export class MirrorRequest implements PoolClient, ResponseHandler {
  private conn: UpstreamStream | null = null;
  private ticket: PendingTicket | null = null;
  private queue: Buffer[] | null = [];
  private queued = 0;
  private ended = false;
  private trailers: HeaderList | null = null;
  private settled = false;
  private status = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly pool: ConnectionPool,
    private readonly host: Endpoint,
    private readonly req: UpstreamRequestHead,
  ) {}

  /** Starts the shadow; false when the cluster has no capacity for it (nothing is counted then). */
  start(): boolean {
    if (!this.cluster.limits.tryAcquireRequest()) return false;
    this.cluster.startRequest(this.host);
    this.cluster.counters.inc('upstream_rq_total');
    const r = this.pool.newStream(this.host, this);
    if (r === 'overflow') {
      this.settle(null);
      return false;
    }
    // A stream handed over at once already went through onPoolReady.
    if (r !== null) this.ticket = r;
    return true;
  }

  write(chunk: Buffer): void {
    if (this.settled) return;
    const conn = this.conn;
    if (conn !== null) {
      conn.writeBody(chunk);
      if (conn.bufferedBytes > SHADOW_BUFFER_LIMIT) this.abort();
      return;
    }
    this.queued += chunk.length;
    if (this.queued > SHADOW_BUFFER_LIMIT) this.abort();
    else this.queue?.push(chunk);
  }

  end(trailers: HeaderList | null): void {
    this.ended = true;
    this.trailers = trailers;
    this.conn?.endBody(trailers);
  }

  abort(): void {
    if (this.ticket !== null) this.pool.cancel(this.ticket);
    this.ticket = null;
    const conn = this.conn;
    this.conn = null;
    this.settle(null);
    conn?.abort();
  }

  onPoolReady(conn: UpstreamStream): void {
    this.ticket = null;
    if (this.settled) {
      conn.abort();
      return;
    }
    this.conn = conn;
    const h = this.req;
    conn.dispatch(this, h.method, h.path, h.headers, h.bodyLength, false);
    const q = this.queue;
    this.queue = null;
    if (q !== null) for (const chunk of q) conn.writeBody(chunk);
    if (this.ended || h.bodyLength === 0) conn.endBody(this.trailers);
  }

  onPoolFailure(): void {
    this.ticket = null;
    this.settle('connect-failure');
  }

  onResponseHead(status: number): void {
    this.status = status;
  }
  onResponseData(): boolean {
    return true;
  }
  onResponseEnd(): void {
    this.conn = null;
    this.cluster.counters.inc('upstream_rq_completed');
    this.cluster.counters.recordResponseCode(this.status);
    this.settle(this.status);
  }
  onUpstreamReset(_reason: ResetReason): void {
    this.conn = null;
    this.settle('reset');
  }
  onUpstreamDrain(): void {}
  onUpgrade(_status: number, _headers: HeaderList, socket: Socket): void {
    socket.destroy();
    this.settle(null);
  }

  private settle(outcome: number | 'connect-failure' | 'reset' | null): void {
    if (this.settled) return;
    this.settled = true;
    this.queue = null;
    this.cluster.limits.releaseRequest();
    if (outcome === null) {
      if (this.host.activeRequests > 0) this.host.activeRequests--;
      if (this.host.stats.rq_active > 0) this.host.stats.rq_active--;
    } else this.cluster.endRequest(this.host, outcome);
  }
}
