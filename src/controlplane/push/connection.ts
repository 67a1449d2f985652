/**
 * One proxy's stream as the push server tracks it: identity from the hello, what was sent, what
 * was acknowledged or refused, and the write state that lets a busy stream skip to the latest.
 */
import type { ServerHttp2Stream } from 'node:http2';
import type { JwksFetchState, NodeConfig } from '../../snapshot/index.js';
import type { EncodedSnapshot } from './encode.js';
import { encodeLine } from '../../snapshot/index.js';
import type { ConnectedProxy, NackRecord, ProxyStatus, SyncState } from './types.js';

interface Sent {
  version: string;
  nonce: string;
  hash: string;
}

export class ProxyConnection {
  /** Set by the hello; null until then. */
  proxy: ConnectedProxy | null = null;
  sent: Sent | null = null;
  /** Content of the last send, what the next delta is computed against. */
  sentContent: EncodedSnapshot | null = null;
  /** The last send was a delta (a NACK of it is answered with the complete snapshot). */
  sentDelta = false;
  /** The proxy said in its hello that it takes deltas. */
  deltas = false;
  /** Send the complete snapshot next, even when its content was sent already. */
  forceFull = false;
  acked: { version: string; nonce: string } | null = null;
  lastNack: NackRecord | null = null;
  nackedNonce: string | null = null;
  /** Why the last attempt to compute a snapshot failed; cleared by the next success. */
  error: string | null = null;
  /** Node of the last snapshot sent (it names the workload when the hello did not). */
  snapshotNode: NodeConfig | null = null;
  /** The send in progress; sends to one stream never overlap, so an older one cannot overtake a newer. */
  inflight: Promise<void> | null = null;
  /** Another send is due once the current one (or the stream's backpressure) is over. */
  again = false;
  /** The stream's buffer is full: the next snapshot waits for `drain` and is computed then. */
  blocked = false;
  closed = false;
  /** Why the stream is being closed, when skiffd closes it; reported on disconnect. */
  closeReason: string | null = null;
  /** The JWKS fetch states the proxy last reported on this stream. */
  jwks: JwksFetchState[] = [];
  readonly openedAt = Date.now();

  constructor(readonly stream: ServerHttp2Stream) {}

  get state(): SyncState {
    if (this.sent === null) return 'STALE';
    if (this.nackedNonce === this.sent.nonce) return 'NACKED';
    return this.acked?.nonce === this.sent.nonce ? 'SYNCED' : 'STALE';
  }

  /** Writes one line, whole or in pieces; false when the stream is over its buffer and the caller should wait for `drain`. */
  write(line: string | readonly (string | Buffer)[]): boolean {
    if (this.closed || this.stream.destroyed) return true;
    let ok = true;
    if (typeof line === 'string') {
      ok = this.stream.write(line);
    } else {
      this.stream.cork();
      for (const chunk of line) ok = this.stream.write(chunk);
      this.stream.uncork();
    }
    if (!ok) this.blocked = true;
    return ok;
  }

  /** Tells the proxy why and ends the stream; the peer reconnects (or not) as it sees fit. */
  refuse(reason: string): void {
    if (this.closed || this.stream.destroyed) return;
    this.closed = true;
    this.stream.end(encodeLine({ type: 'error', reason }));
    // A peer that never ends its side would hold the stream open; the timer is rare, so per stream.
    setTimeout(() => this.stream.close(), 1000).unref();
  }

  status(): ProxyStatus {
    const p = this.proxy!;
    const w = p.node.workload ?? this.snapshotNode?.workload;
    const out: ProxyStatus = {
      id: p.id,
      node: p.node,
      connectedAt: p.connectedAt,
      sentVersion: this.sent?.version ?? null,
      ackedVersion: this.acked?.version ?? null,
      state: this.state,
    };
    if (w !== undefined) out.workload = { name: w.name, namespace: w.namespace };
    if (this.lastNack !== null) out.lastNack = this.lastNack;
    if (this.error !== null) out.error = this.error;
    if (p.adminUrl !== undefined) out.adminUrl = p.adminUrl;
    if (p.metricsUrl !== undefined) out.metricsUrl = p.metricsUrl;
    if (this.jwks.length > 0) out.jwks = this.jwks;
    return out;
  }
}
