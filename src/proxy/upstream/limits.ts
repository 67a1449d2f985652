/**
 * Circuit breaking as Envoy's ResourceManager: per-cluster counts of connections, pending
 * requests, active requests and active retries checked against the DestinationRule
 * `connectionPool` limits, with Envoy's stat names (`upstream_rq_pending_overflow`,
 * `circuit_breakers.default.remaining_pending`, …). Only the default priority is configured,
 * as in Istio; the high-priority gauges are reported as closed.
 *
 * Overflow policy belongs to the caller, as in Envoy: an HTTP/1.1 pool that cannot open a
 * connection (`tryAcquireConnection` false, `upstream_cx_overflow` counted) queues the request
 * as pending instead, and only a failed `tryAcquirePending` (or `tryAcquireRequest`) answers
 * 503 with response flag `UO`.
 */
import type { ConnectionPoolConfig } from '../../snapshot/index.js';

/** One counted resource with its limit. */
class Resource {
  count = 0;
  constructor(public max: number) {}
  get open(): boolean {
    return this.count >= this.max;
  }
  get remaining(): number {
    return Math.max(0, this.max - this.count);
  }
  tryAcquire(): boolean {
    if (this.count >= this.max) return false;
    this.count++;
    return true;
  }
  /** Never below zero: a stray release must not grant extra capacity later. */
  release(): void {
    if (this.count > 0) this.count--;
  }
}

export class ResourceLimits {
  private readonly cx: Resource;
  private readonly pending: Resource;
  private readonly rq: Resource;
  private readonly retries: Resource;
  private cxOverflow = 0;
  private pendingOverflow = 0;
  private pendingTotal = 0;
  private pendingFailureEject = 0;
  private retryOverflow = 0;

  constructor(pool: Pick<ConnectionPoolConfig, 'maxConnections' | 'http1MaxPendingRequests' | 'http2MaxRequests' | 'maxRetries'>) {
    this.cx = new Resource(pool.maxConnections);
    this.pending = new Resource(pool.http1MaxPendingRequests);
    this.rq = new Resource(pool.http2MaxRequests);
    this.retries = new Resource(pool.maxRetries);
  }

  /** New limits from a snapshot; counts carry over (in-flight work releases against them). */
  setLimits(pool: Pick<ConnectionPoolConfig, 'maxConnections' | 'http1MaxPendingRequests' | 'http2MaxRequests' | 'maxRetries'>): void {
    this.cx.max = pool.maxConnections;
    this.pending.max = pool.http1MaxPendingRequests;
    this.rq.max = pool.http2MaxRequests;
    this.retries.max = pool.maxRetries;
  }

  get connections(): number {
    return this.cx.count;
  }
  get pendingRequests(): number {
    return this.pending.count;
  }
  get activeRequests(): number {
    return this.rq.count;
  }
  get activeRetries(): number {
    return this.retries.count;
  }

  /** Whether a connection could be opened now, without counting anything. */
  canCreateConnection(): boolean {
    return !this.cx.open;
  }

  /** Counts a new upstream connection (connecting included); false + `upstream_cx_overflow` at the limit. */
  tryAcquireConnection(): boolean {
    if (this.cx.tryAcquire()) return true;
    this.cxOverflow++;
    return false;
  }
  releaseConnection(): void {
    this.cx.release();
  }

  /** Queues a request waiting for a connection; false + `upstream_rq_pending_overflow` at the limit. */
  tryAcquirePending(): boolean {
    if (this.pending.tryAcquire()) {
      this.pendingTotal++;
      return true;
    }
    this.pendingOverflow++;
    return false;
  }
  releasePending(): void {
    this.pending.release();
  }
  /** A pending request failed because its connection failed or was reset (`upstream_rq_pending_failure_eject`). */
  recordPendingFailure(): void {
    this.pendingFailureEject++;
  }

  /** Counts an active request; at the limit false, counted (as Envoy) in `upstream_rq_pending_overflow`. */
  tryAcquireRequest(): boolean {
    if (this.rq.tryAcquire()) return true;
    this.pendingOverflow++;
    return false;
  }
  releaseRequest(): void {
    this.rq.release();
  }

  /** Counts an outstanding retry; false + `upstream_rq_retry_overflow` at the limit. */
  tryAcquireRetry(): boolean {
    if (this.retries.tryAcquire()) return true;
    this.retryOverflow++;
    return false;
  }
  releaseRetry(): void {
    this.retries.release();
  }

  /** Stats relative to `cluster.<name>.`, Envoy names. */
  stats(): Record<string, number> {
    return {
      upstream_cx_active: this.cx.count,
      upstream_cx_overflow: this.cxOverflow,
      upstream_rq_active: this.rq.count,
      upstream_rq_pending_active: this.pending.count,
      upstream_rq_pending_overflow: this.pendingOverflow,
      upstream_rq_pending_total: this.pendingTotal,
      upstream_rq_pending_failure_eject: this.pendingFailureEject,
      upstream_rq_retry_overflow: this.retryOverflow,
      'circuit_breakers.default.cx_open': Number(this.cx.open),
      'circuit_breakers.default.cx_pool_open': 0,
      'circuit_breakers.default.rq_open': Number(this.rq.open),
      'circuit_breakers.default.rq_pending_open': Number(this.pending.open),
      'circuit_breakers.default.rq_retry_open': Number(this.retries.open),
      'circuit_breakers.default.remaining_cx': this.cx.remaining,
      'circuit_breakers.default.remaining_pending': this.pending.remaining,
      'circuit_breakers.default.remaining_rq': this.rq.remaining,
      'circuit_breakers.default.remaining_retries': this.retries.remaining,
      'circuit_breakers.high.cx_open': 0,
      'circuit_breakers.high.cx_pool_open': 0,
      'circuit_breakers.high.rq_open': 0,
      'circuit_breakers.high.rq_pending_open': 0,
      'circuit_breakers.high.rq_retry_open': 0,
    };
  }
}
