/**
 * One HTTP/2 connection to an upstream host (cleartext with prior knowledge, or over the
 * cluster's TLS offering `h2`): connects through the upstream connect path within the cluster's
 * connect timeout, runs node:http2's client session over it, counts the streams it carries against
 * the peer's SETTINGS_MAX_CONCURRENT_STREAMS, stops taking streams on GOAWAY (the ones in flight
 * finish), and closes itself after the cluster's idle timeout.
 *
 * A draining session (GOAWAY received or sent) closes its connection as soon as its last stream is
 * done, at once when it has none, as Envoy does. node:http2 alone only half-closes it (it ends the
 * socket and waits for the peer's FIN), so a peer that keeps the socket open would keep the
 * session, and the `maxConnections` slot it holds, until the peer closed it.
 */
import http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders, Settings } from 'node:http2';
import type net from 'node:net';
import type { ResetReason } from '../upstream/pool.js';
import type { Endpoint } from '../upstream/types.js';
import { connectUpstream } from '../upstream/connect.js';
import type { ConnectFailure, ConnectHandler, UpstreamConnect } from '../upstream/connect.js';
import type { ClusterCounters } from '../upstream/counters.js';
import type { UpstreamTls } from '../upstream/upstream-tls.js';
import { Http2UpstreamStream } from './client-stream.js';
import type { StreamHost } from './client-stream.js';
import { CONNECTION_WINDOW_BYTES, SESSION_MEMORY_MB, STREAM_WINDOW_BYTES } from './settings.js';
import type { TlsFacts } from '../../telemetry/request-record.js';
import { socketTlsFacts } from '../tls/tls-facts.js';

/** What a session reports to its pool. */
export interface SessionOwner {
  onConnected(s: Http2ClientSession): void;
  onConnectFailed(s: Http2ClientSession, reason: ResetReason, transportFailure: string): void;
  /** A stream ended (or capacity grew with new SETTINGS): waiting requests may fit now. */
  onCapacity(s: Http2ClientSession): void;
  /** GOAWAY arrived: no new streams on this session, which closes once its streams are done (at once when it has none). */
  onGoaway(s: Http2ClientSession): void;
  onIdleTimeout(s: Http2ClientSession): void;
  /** The session is closed (or closing its socket): it no longer counts as a connection. */
  onClosed(s: Http2ClientSession): void;
}

const enum State {
  Connecting,
  Ready,
  /** GOAWAY received or sent: streams in flight finish, no new ones. */
  Draining,
  Closed,
}

export interface SessionOptions {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  maxHeaderListSize: number;
  /** The cluster's upstream TLS; null for cleartext. */
  tls: UpstreamTls | null;
  /** The cluster's counters (`ssl.*`). */
  counters?: ClusterCounters;
  /** The cluster's `upstreamBindAddress`. */
  localAddress?: string;
}

export class Http2ClientSession implements StreamHost, ConnectHandler {
  private session: ClientHttp2Session | null = null;
  private readonly socket: net.Socket;
  private state = State.Connecting;
  private attempt: UpstreamConnect | null;
  private idleTimer: NodeJS.Timeout | null = null;
  /** Streams handed out and not yet released (reserved or open). */
  active = 0;
  /** Streams this session has carried. */
  served = 0;
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS once known. */
  peerMaxStreams = Number.POSITIVE_INFINITY;

  constructor(
    readonly host: Endpoint,
    private readonly owner: SessionOwner,
    private readonly opts: SessionOptions,
  ) {
    this.attempt = connectUpstream(host.address, host.port, { timeoutMs: opts.connectTimeoutMs, tls: opts.tls, traffic: 'http2', counters: opts.counters, localAddress: opts.localAddress }, this);
    this.socket = this.attempt.socket;
  }

  get connecting(): boolean {
    return this.state === State.Connecting;
  }

  /** Ready for new streams (connected, no GOAWAY, not closing). */
  get usable(): boolean {
    const s = this.session;
    return this.state === State.Ready && s !== null && !s.closed && !s.destroyed;
  }

  private tlsFacts: TlsFacts | null | undefined = undefined;

  /** The TLS of this session's connection (read once, on the access log's first use). */
  get tls(): TlsFacts | null {
    this.tlsFacts ??= socketTlsFacts(this.socket);
    return this.tlsFacts;
  }

  get terminated(): boolean {
    return this.state === State.Closed || this.session === null || this.session.destroyed;
  }

  /** Hands out a stream slot; the request opens when the caller dispatches it. */
  newStream(): Http2UpstreamStream {
    this.active++;
    this.served++;
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    return new Http2UpstreamStream(this);
  }

  open(headers: OutgoingHttpHeaders, endStream: boolean): ClientHttp2Stream {
    const s = this.session;
    if (s === null || s.closed || s.destroyed) throw new Error('session closed');
    // The scheme of the hop itself, as Envoy sets it for an upstream over TLS.
    if (this.opts.tls !== null) headers[':scheme'] = 'https';
    return s.request(headers, { endStream, waitForTrailers: !endStream });
  }

  release(_stream: Http2UpstreamStream): void {
    if (this.active > 0) this.active--;
    if (this.closeIfDrained()) return;
    if (this.active === 0 && this.state === State.Ready && this.opts.idleTimeoutMs > 0 && this.idleTimer === null) {
      this.idleTimer = setTimeout(this.onIdle, this.opts.idleTimeoutMs);
      this.idleTimer.unref();
    }
    this.owner.onCapacity(this);
  }

  // === ConnectHandler ===

  onConnected(socket: net.Socket): void {
    this.attempt = null;
    if (this.state !== State.Connecting) return;
    const settings: Settings = { enablePush: false, initialWindowSize: STREAM_WINDOW_BYTES, maxHeaderListSize: this.opts.maxHeaderListSize };
    const scheme = this.opts.tls === null ? 'http' : 'https';
    const session = http2.connect(`${scheme}://${this.host.key}`, { createConnection: () => socket, settings, maxSessionMemory: SESSION_MEMORY_MB });
    this.session = session;
    this.state = State.Ready;
    session.on('error', noop);
    session.on('goaway', this.onGoaway);
    session.on('remoteSettings', this.onRemoteSettings);
    session.once('close', this.onSessionClose);
    session.once('connect', () => {
      try {
        session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
      } catch {
        // Closed while connecting: 'close' reports it.
      }
    });
    this.owner.onConnected(this);
  }

  onConnectFailed(failure: ConnectFailure): void {
    this.attempt = null;
    if (this.state !== State.Connecting) return;
    this.state = State.Closed;
    this.owner.onConnectFailed(this, failure.reason, failure.transportFailure);
  }

  private readonly onRemoteSettings = (settings: Settings): void => {
    this.peerMaxStreams = settings.maxConcurrentStreams ?? Number.POSITIVE_INFINITY;
    this.owner.onCapacity(this);
  };

  private readonly onGoaway = (): void => {
    if (this.state !== State.Ready) return;
    this.state = State.Draining;
    this.clearIdleTimer();
    this.owner.onGoaway(this);
    this.closeIfDrained();
  };

  private readonly onSessionClose = (): void => {
    if (this.state === State.Closed) return;
    this.state = State.Closed;
    this.clearIdleTimer();
    if (!this.socket.destroyed) this.socket.destroy();
    this.owner.onClosed(this);
  };

  private readonly onIdle = (): void => {
    this.idleTimer = null;
    if (this.active === 0 && this.state === State.Ready) this.owner.onIdleTimeout(this);
  };

  /** Stops taking streams; closes once the streams in flight finish (GOAWAY to the peer). */
  drain(): void {
    if (this.state === State.Connecting) {
      this.destroy();
      return;
    }
    if (this.state !== State.Ready) return;
    this.state = State.Draining;
    this.clearIdleTimer();
    // node:http2 sends GOAWAY, and ends the socket itself once it has no stream left.
    this.session?.close();
    this.closeIfDrained();
  }

  /**
   * Closes a draining session without streams: the session is destroyed (what node:http2 still has
   * to send goes out first), the socket closed once its end is written rather than when the peer
   * closes its side, and the pool told at once. True when the session is closed now.
   */
  private closeIfDrained(): boolean {
    if (this.state !== State.Draining || this.active > 0) return false;
    this.state = State.Closed;
    this.clearIdleTimer();
    const session = this.session;
    if (session !== null && !session.destroyed) session.destroy();
    const socket = this.socket;
    if (!socket.destroyed) {
      if (socket.writableFinished) socket.destroy();
      else {
        socket.once('finish', () => socket.destroy());
        socket.end();
      }
    }
    this.owner.onClosed(this);
    return true;
  }

  destroy(): void {
    const wasConnecting = this.state === State.Connecting;
    this.attempt?.cancel();
    this.attempt = null;
    this.clearIdleTimer();
    this.session?.destroy();
    this.socket.destroy();
    if (wasConnecting) {
      this.state = State.Closed;
      this.owner.onClosed(this);
    }
  }

  private clearIdleTimer(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

function noop(): void {}
