/**
 * The push server's public vocabulary: who is connected, what was sent and acknowledged, and
 * the options and events of `createPushServer`.
 */
import type { JwksFetchState, NodeConfig, ProxySnapshot, NackError } from '../../snapshot/index.js';

/** A proxy holding a stream to skiffd, as its hello described it. */
export interface ConnectedProxy {
  /** The node id from the hello (`name.namespace` for sidecars of the local runtime). */
  id: string;
  node: NodeConfig;
  /** When this stream said hello (ms since the epoch). */
  connectedAt: number;
  adminUrl?: string;
  metricsUrl?: string;
  /** The peer's address as skiffd sees it. */
  remoteAddress?: string;
}

/**
 * Istio's proxy-status vocabulary: SYNCED = the last snapshot sent was acknowledged; STALE = one
 * was sent and not answered yet (or none could be sent so far); NACKED = the proxy refused the last
 * snapshot sent and serves an older one.
 */
export type SyncState = 'SYNCED' | 'STALE' | 'NACKED';

export interface NackRecord extends NackError {
  version: string;
  at: number;
}

export interface ProxyStatus {
  id: string;
  node: NodeConfig;
  /** The workload the proxy serves: from its hello, else from the node of its last snapshot. */
  workload?: { name: string; namespace: string };
  connectedAt: number;
  /** Version of the last snapshot sent on this stream; null before the first. */
  sentVersion: string | null;
  /** Version of the last snapshot the proxy acknowledged on this stream; null before the first. */
  ackedVersion: string | null;
  state: SyncState;
  lastNack?: NackRecord;
  /** Why no snapshot could be computed for this proxy, when that is the case. */
  error?: string;
  adminUrl?: string;
  metricsUrl?: string;
  /** The fetch state of each JWKS the proxy's RequestAuthentication rules fetch, as it last reported it. */
  jwks?: JwksFetchState[];
}

export interface PushLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface PushServerOptions {
  /** The proxy's complete snapshot as of now; called lazily, only when a send is due. */
  snapshotFor(proxy: ConnectedProxy): ProxySnapshot | Promise<ProxySnapshot>;
  /** Quiet period: changes closer together than this coalesce into one push. Default 100 ms. */
  debounceMs?: number;
  /** Longest a push waits under a steady stream of changes. Default 500 ms. */
  maxDebounceMs?: number;
  /** Interval of the HTTP/2 PINGs to every proxy. Default 10 s. */
  keepaliveMs?: number;
  /** A proxy that leaves a PING unanswered this long is dropped. Default 20 s. */
  keepaliveTimeoutMs?: number;
  /** A stream that sends no hello within this time is closed. Default 10 s. */
  helloTimeoutMs?: number;
  logger?: PushLogger;
  /**
   * Signs a proxy's certificate request (`csr` messages): resolves with the PEM chain (leaf first)
   * and root, or rejects with the reason the proxy is told. Absent: every request is refused.
   */
  certificates?: (proxy: ConnectedProxy, request: { csr: string; credential?: string }) => Promise<{ certChain: string[]; rootCert: string }>;
}

/** Totals since the server started; benchmarks and tests read them. */
export interface PushCounters {
  /** Push rounds run (debounced `pushAll`/`pushTo`). */
  pushes: number;
  /** Snapshots written to streams (complete or as deltas). */
  sends: number;
  /** Of `sends`, those written as deltas. */
  deltas: number;
  /** Snapshots computed but not sent because their content had not changed. */
  unchanged: number;
  acks: number;
  nacks: number;
}

export interface PushServerEvents {
  connect: [proxy: ConnectedProxy];
  disconnect: [proxy: ConnectedProxy, reason: string];
  send: [proxy: ConnectedProxy, version: string];
  ack: [proxy: ConnectedProxy, version: string];
  nack: [proxy: ConnectedProxy, nack: NackRecord];
}
