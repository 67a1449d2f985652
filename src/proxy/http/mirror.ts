/**
 * Shadow requests (Istio `mirror`): a copy of the request, authority suffixed `-shadow`, sent to
 * another cluster alongside the real one. Fire and forget: the response is read and dropped,
 * failures are only counted, and a shadow that cannot keep up with the body is abandoned.
 */
import type { ResetReason, ResponseHandler, UpstreamStream } from '../upstream/pool.js';
import type { HeaderList } from './headers.js';
import { UpstreamRequest } from './upstream-request.js';
import type { Socket } from 'node:net';

/** Body bytes a shadow may hold or have unsent before it is dropped. */
const SHADOW_BUFFER_LIMIT = 1024 * 1024;

export class MirrorRequest extends UpstreamRequest implements ResponseHandler {
  private queue: Buffer[] | null = [];
  private queued = 0;
  private ended = false;
  private trailers: HeaderList | null = null;
  private status = 0;

  write(chunk: Buffer): void {
    if (this.isSettled) return;
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
    this.cancel(null);
  }

  protected connected(conn: UpstreamStream): void {
    const h = this.req;
    conn.dispatch(this, h.method, h.path, h.headers, h.bodyLength, false);
    const q = this.queue;
    this.queue = null;
    if (q !== null) for (const chunk of q) conn.writeBody(chunk);
    if (this.ended || h.bodyLength === 0) conn.endBody(this.trailers);
  }

  onPoolFailure(): void {
    this.poolAnswered();
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

  protected override onSettled(): void {
    this.queue = null;
  }
}
