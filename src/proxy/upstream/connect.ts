/**
 * The one way the proxy opens a connection to an upstream host: TCP, or TLS over it when the
 * cluster originates TLS (client certificate, SNI, ALPN, the check of the server's names), within
 * the cluster's connect timeout, which covers the TLS handshake too, as Envoy's does. The HTTP/1.1
 * pool, the HTTP/2 sessions, the TCP proxy and CONNECT tunnels all connect through here.
 *
 * Failures come back once, classified as Envoy words them: `connection timeout`, or
 * `remote connection failure` with the transport failure reason Envoy prints
 * (`delayed connect error: Connection refused`, `TLS_error:|…:CERTIFICATE_VERIFY_FAILED:…`), or
 * `local connection failure` when ISTIO_MUTUAL has no workload certificate yet.
 *
 * Connections that read in place (`onread`) keep doing so over TLS: `tls.connect` honours it.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { ClusterCounters } from './counters.js';
import type { ResetReason } from './pool.js';
import type { UpstreamTls, UpstreamTraffic } from './upstream-tls.js';
import { tlsFailure } from '../tls/failure-text.js';
import { SECRET_NOT_SUPPLIED } from '../tls/workload-secrets.js';

/** strerror texts Envoy prints after `delayed connect error:`. */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ETIMEDOUT: 'Connection timed out',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENOTFOUND: 'Name or service not known',
  EAI_AGAIN: 'Temporary failure in name resolution',
};

/** Envoy's transport failure text for a failed TCP connect, e.g. `delayed connect error: Connection refused`. */
export function transportFailureText(err: NodeJS.ErrnoException): string {
  return `delayed connect error: ${ERRNO_TEXT[err.code ?? ''] ?? err.code ?? err.message}`;
}

/** Why a connection could not be made. */
export interface ConnectFailure {
  /** Envoy's reset reason. */
  readonly reason: Extract<ResetReason, 'connection timeout' | 'remote connection failure' | 'local connection failure'>;
  /** Envoy's transport failure reason; '' when Envoy prints none. */
  readonly transportFailure: string;
  /** What failed: the timer, the TCP connect, or TLS (handshake, verification, missing certificate). */
  readonly stage: 'timeout' | 'connect' | 'tls';
}

export interface ConnectHandler {
  /** Connected (and, with TLS, the handshake done and the server's names checked). */
  onConnected(socket: net.Socket): void;
  onConnectFailed(failure: ConnectFailure): void;
}

export interface ConnectOptions {
  /** The cluster's connect timeout (TCP connect and TLS handshake). */
  readonly timeoutMs: number;
  /** TLS to originate; null for plaintext. */
  readonly tls: UpstreamTls | null;
  /** What the connection will carry (picks the ALPN list offered). */
  readonly traffic: UpstreamTraffic;
  readonly allowHalfOpen?: boolean;
  /** Read in place (`in-place-reads.ts`): the bytes go to this callback, not to 'data' events. */
  readonly onread?: net.OnReadOpts;
  /** The cluster's counters, for Envoy's `ssl.*` statistics. */
  readonly counters?: ClusterCounters;
  /** The source address to bind (the cluster's `upstreamBindAddress`); absent: the system's choice. */
  readonly localAddress?: string;
}

const TIMEOUT: ConnectFailure = Object.freeze({ reason: 'connection timeout', transportFailure: '', stage: 'timeout' });
const NO_SECRET: ConnectFailure = Object.freeze({ reason: 'local connection failure', transportFailure: SECRET_NOT_SUPPLIED, stage: 'tls' });

/** One connection attempt; `socket` is the connection once `onConnected` ran. */
export class UpstreamConnect {
  readonly socket: net.Socket;
  private timer: NodeJS.Timeout | null;
  private settled = false;
  /** 'tls' once TCP is connected and the handshake runs. */
  private stage: 'connect' | 'tls' = 'connect';
  private readonly counters: ClusterCounters | undefined;
  private readonly secure: boolean;

  constructor(
    address: string,
    port: number,
    opts: ConnectOptions,
    private readonly handler: ConnectHandler,
  ) {
    this.counters = opts.counters;
    this.secure = opts.tls !== null;
    const base: net.TcpNetConnectOpts = { host: address, port, noDelay: true, allowHalfOpen: opts.allowHalfOpen ?? false };
    if (opts.onread !== undefined) base.onread = opts.onread;
    if (opts.localAddress !== undefined) base.localAddress = opts.localAddress;
    let socket: net.Socket;
    if (opts.tls === null) {
      socket = net.connect(base);
    } else {
      const tlsOpts = opts.tls.connectOptions(opts.traffic);
      if (tlsOpts === null) {
        // No workload certificate yet: nothing goes on the wire, as with Envoy waiting for SDS.
        this.socket = new net.Socket();
        this.socket.on('error', noop);
        this.timer = null;
        queueMicrotask(() => this.fail(NO_SECRET));
        return;
      }
      socket = tls.connect({ ...base, ...tlsOpts });
      socket.once('secureConnect', this.onSecureConnect);
    }
    this.socket = socket;
    // Errors after the attempt belong to the caller's listeners; this one keeps a stray error from
    // ever becoming an uncaught exception.
    socket.on('error', noop);
    socket.once('connect', this.onTcpConnect);
    socket.once('error', this.onError);
    socket.once('close', this.onClose);
    this.timer = setTimeout(this.onTimeout, opts.timeoutMs);
    this.timer.unref();
  }

  /** Gives up the attempt (its requester went away): the socket closes, nothing is reported. */
  cancel(): void {
    if (this.settled) return;
    this.settle();
    this.socket.destroy();
  }

  private readonly onTcpConnect = (): void => {
    if (!this.secure) {
      this.succeed();
      return;
    }
    this.stage = 'tls';
  };

  private readonly onSecureConnect = (): void => {
    this.counters?.inc('ssl.handshake');
    this.succeed();
  };

  private readonly onTimeout = (): void => {
    this.timer = null;
    this.fail(TIMEOUT);
  };

  private readonly onError = (err: NodeJS.ErrnoException): void => {
    if (this.stage === 'connect') {
      this.fail({ reason: 'remote connection failure', transportFailure: transportFailureText(err), stage: 'connect' });
      return;
    }
    const failure = tlsFailure(err);
    const counters = this.counters;
    if (counters !== undefined) {
      if (failure.kind === 'san') counters.inc('ssl.fail_verify_san');
      else if (failure.kind === 'verify') counters.inc('ssl.fail_verify_error');
      else counters.inc('ssl.connection_error');
    }
    this.fail({ reason: 'remote connection failure', transportFailure: failure.text, stage: 'tls' });
  };

  private readonly onClose = (): void => {
    // Closed without an error: the peer hung up during the handshake.
    if (this.stage === 'tls') this.counters?.inc('ssl.connection_error');
    this.fail({ reason: 'remote connection failure', transportFailure: '', stage: this.stage });
  };

  private settle(): void {
    this.settled = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const s = this.socket;
    s.removeListener('connect', this.onTcpConnect);
    s.removeListener('secureConnect', this.onSecureConnect);
    s.removeListener('error', this.onError);
    s.removeListener('close', this.onClose);
  }

  private succeed(): void {
    if (this.settled) return;
    this.settle();
    this.handler.onConnected(this.socket);
  }

  private fail(failure: ConnectFailure): void {
    if (this.settled) return;
    this.settle();
    this.socket.destroy();
    this.handler.onConnectFailed(failure);
  }
}

/** Opens a connection to `address:port` as `opts` say; the handler hears once how it went. */
export function connectUpstream(address: string, port: number, opts: ConnectOptions, handler: ConnectHandler): UpstreamConnect {
  return new UpstreamConnect(address, port, opts, handler);
}

function noop(): void {}
