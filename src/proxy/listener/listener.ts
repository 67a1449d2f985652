/**
 * A bound listener: accepts connections, runs each through the transport step (`transport.ts`:
 * the filter chain, TLS terminated or not, and what serves the connection), then hands it to the
 * HTTP/1.1 or HTTP/2 codec or the TCP proxy, with the connection's context made once. Codec
 * settings are those of the snapshot in force when the connection arrived; each HTTP request is
 * routed under the snapshot in force when it arrives. A new snapshot swaps the binding without
 * rebinding the socket.
 */
import net from 'node:net';
import { acceptedConnection } from '../connection/connection-context.js';
import type { HttpListenerContext, TunnelledHttpServer } from '../http/context.js';
import { HttpListenerStats } from '../http/context.js';
import { newRecord } from '../../telemetry/request-record.js';
import { ResponseFlag } from '../../telemetry/response-flags.js';
import { handleHttpRequest } from '../http/request-flow.js';
import type { DownstreamStream } from '../http/stream.js';
import type { ConnectionContext } from '../filters/connection-filter.js';
import { Http1ServerConnection } from '../http1/server-connection.js';
import type { Http1ServerOptions } from '../http1/server-connection.js';
import { Http2ServerConnection } from '../http2/server-connection.js';
import type { ListenerConfig } from '../../snapshot/index.js';
import { TcpListenerStats, handleTcpConnection } from '../tcp/tcp-proxy.js';
import type { TcpListenerContext } from '../tcp/tcp-proxy.js';
import { adoptInPlace } from '../http1/in-place-reads.js';
import { DEFAULT_MAX_REQUEST_HEADERS } from '../http1/head-parser.js';
import type { FilterChains } from './filter-chains.js';
import { TransportStats, runTransportStep } from './transport.js';
import type { Transport, TransportSettings } from './transport.js';
import { captureTargetFor, readOriginalDestination, type CaptureTable, type CaptureTarget, type OriginalDestination } from './capture.js';

/** What a listener serves under one snapshot. */
export interface ListenerBinding {
  readonly config: ListenerConfig;
  /** How each connection is served (`filter-chains.ts`). */
  readonly chains: FilterChains;
  readonly http: HttpListenerContext | null;
  readonly tcp: TcpListenerContext | null;
  /** Codec settings for plaintext connections. */
  readonly codec: Http1ServerOptions;
  /** The same for connections whose TLS the listener terminated (the scheme is https). */
  readonly secureCodec: Http1ServerOptions;
  /** A capture listener's targets by original destination (`capture.ts`); null for any other listener. */
  readonly capture: CaptureTable | null;
}

/** Envoy's defaults for the HTTP connection manager. */
export const DEFAULT_MAX_REQUEST_HEADERS_KB = 60;
export const DEFAULT_REQUEST_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 3_600_000;

export function codecOptions(config: ListenerConfig, serverName: string, secure = false): Http1ServerOptions {
  const h = config.http;
  return {
    maxHeaderBytes: (h?.maxRequestHeadersKb ?? DEFAULT_MAX_REQUEST_HEADERS_KB) * 1024,
    headersTimeoutMs: h?.requestHeadersTimeoutMs ?? DEFAULT_REQUEST_HEADERS_TIMEOUT_MS,
    idleTimeoutMs: h?.streamIdleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    serverName,
    secure,
    maxHeadersCount: DEFAULT_MAX_REQUEST_HEADERS,
    acceptHttp10: h?.acceptHttp10 === true,
  };
}

export class Listener implements TunnelledHttpServer, CaptureTarget {
  readonly httpStats = new HttpListenerStats();
  readonly tcpStats = new TcpListenerStats();
  /** The transport step's counters (`no_filter_chain_match`, `ssl.*`). */
  readonly transportStats = new TransportStats();
  binding: ListenerBinding | null = null;
  private readonly sockets = new Set<net.Socket>();
  private readonly httpConnections = new Set<Http1ServerConnection | Http2ServerConnection>();
  private closing = false;
  private settings: { binding: ListenerBinding; settings: TransportSettings } | null = null;

  private constructor(
    readonly name: string,
    /** The config the socket was bound with (address and port never change). */
    private readonly boundConfig: ListenerConfig,
    /** Null for a listener that binds no port (`bindToPort: false`): it serves handed-off connections. */
    private readonly server: net.Server | null,
    private readonly detectionTimeoutMs: number,
  ) {}

  /** A listener that binds no port: a capture listener hands it the connections to its address and port. */
  static unbound(config: ListenerConfig, detectionTimeoutMs: number): Listener {
    return new Listener(config.name, config, null, detectionTimeoutMs);
  }

  /** True when the listener binds no port of its own. */
  get bound(): boolean {
    return this.server !== null;
  }

  /** Binds the listener's address; rejects with the OS error (EADDRINUSE, EACCES, ...). */
  static bind(config: ListenerConfig, detectionTimeoutMs: number): Promise<Listener> {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true });
    const listener = new Listener(config.name, config, server, detectionTimeoutMs);
    server.on('connection', (s) => listener.onConnection(s));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: config.address, port: config.port, exclusive: false }, () => {
        server.removeListener('error', reject);
        server.on('error', () => {});
        resolve(listener);
      });
    });
  }

  /** The config in force: the latest snapshot's. */
  get config(): ListenerConfig {
    return this.binding?.config ?? this.boundConfig;
  }

  /** The bound address and port (for a listener that binds none, the ones it stands for). */
  address(): net.AddressInfo {
    if (this.server === null) return { address: this.boundConfig.address, port: this.boundConfig.port, family: this.boundConfig.address.includes(':') ? 'IPv6' : 'IPv4' };
    return this.server.address() as net.AddressInfo;
  }

  get port(): number {
    return this.address().port;
  }

  get activeConnections(): number {
    return this.sockets.size;
  }

  /** A connection a capture listener handed over, whose original destination this listener stands for. */
  adopt(socket: net.Socket, original: OriginalDestination): void {
    this.onConnection(socket, original);
  }

  private onConnection(socket: net.Socket, handedOff: OriginalDestination | null = null): void {
    const binding = this.binding;
    if (binding === null || this.closing) {
      socket.destroy();
      return;
    }
    let original = handedOff;
    if (binding.capture !== null && original === null) {
      original = readOriginalDestination(socket);
      if (original === null) {
        socket.destroy();
        return;
      }
      const target = captureTargetFor(binding.capture, original);
      if (target !== null) {
        target.adopt(socket, original);
        return;
      }
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', noop);
    runTransportStep(socket, this.transportSettings(binding), (s, _chain, served, initial, transport) => {
      if (transport.secure) s.on('error', noop);
      if (served === 'tcp') this.serveTcp(s, binding, initial, transport, original);
      else this.serveHttp(s, binding, initial, served, transport, original);
    });
  }

  /** The transport step's settings under a binding, made once per binding. */
  private transportSettings(binding: ListenerBinding): TransportSettings {
    const cached = this.settings;
    if (cached !== null && cached.binding === binding) return cached.settings;
    const settings: TransportSettings = {
      chains: binding.chains,
      port: this.port,
      detectionTimeoutMs: this.detectionTimeoutMs,
      prefaceTimeoutMs: binding.codec.headersTimeoutMs || this.detectionTimeoutMs,
      stats: this.transportStats,
    };
    this.settings = { binding, settings };
    return settings;
  }

  private serveHttp(socket: net.Socket, binding: ListenerBinding, initial: Buffer, codec: 'http1' | 'h2', transport: Transport, original: OriginalDestination | null): void {
    const ctx = binding.http;
    if (ctx === null) {
      socket.destroy();
      return;
    }
    if (codec === 'http1') socket = this.readInPlace(socket);
    const stats = this.httpStats;
    stats.downstream_cx_total++;
    stats.downstream_cx_active++;
    socket.once('close', () => stats.downstream_cx_active--);
    // The connection's context, made once: every request on it reads it (addresses, SNI, peer identity).
    const connection = acceptedConnection(socket, ctx, transport, original);
    const options = transport.secure ? binding.secureCodec : binding.codec;
    this.serveCodec(socket, codec, options, ctx, initial, (stream: DownstreamStream) => handleHttpRequest(stream, this.httpContext(ctx), connection, this));
  }

  /**
   * The inside of a CONNECT tunnel one of this listener's connections opened to a port that
   * speaks HTTP (`http/connect-http.ts`): served by the same codecs and request flow, each
   * request under the context in force when it arrives, narrowed to the tunnel's port and routes.
   * The socket is the tunnel's client connection, counted and tracked already.
   */
  serveTunnelledHttp(socket: net.Socket, codec: 'http1' | 'h2', initial: Buffer, connection: ConnectionContext, narrow: (ctx: HttpListenerContext) => HttpListenerContext): void {
    const binding = this.binding;
    const ctx = binding?.http ?? null;
    if (binding === null || ctx === null || this.closing) {
      socket.destroy();
      return;
    }
    this.serveCodec(socket, codec, binding.codec, ctx, initial, (stream: DownstreamStream) => handleHttpRequest(stream, narrow(this.httpContext(ctx)), connection, this));
  }

  /** One HTTP connection served by its codec, every request handed to `onRequest`. */
  private serveCodec(socket: net.Socket, codec: 'http1' | 'h2', options: Http1ServerOptions, ctx: HttpListenerContext, initial: Buffer, onRequest: (stream: DownstreamStream) => void): void {
    if (codec === 'h2') {
      this.serveHttp2(socket, options, ctx, initial, onRequest);
      return;
    }
    const conn = new Http1ServerConnection(socket, options, onRequest, (status, details, remote) => this.onCodecError(ctx, status, details, remote), initial, ctx.port);
    this.httpConnections.add(conn);
    socket.once('close', () => this.httpConnections.delete(conn));
  }

  /**
   * HTTP/1.1 connections are read in place (`in-place-reads.ts`): the connection moves to a new
   * socket, tracked here instead of the accepted one.
   */
  private readInPlace(accepted: net.Socket): net.Socket {
    const socket = adoptInPlace(accepted, noop);
    if (socket === accepted) return socket;
    this.sockets.delete(accepted);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', noop);
    return socket;
  }

  /** HTTP/2: every stream of the connection runs through the same request flow. */
  private serveHttp2(socket: net.Socket, codec: Http1ServerOptions, ctx: HttpListenerContext, initial: Buffer, onRequest: (stream: DownstreamStream) => void): void {
    const events = {
      onStreamRejected: (status: number, details: string, remote: string) => this.onCodecError(ctx, status, details, remote, 'HTTP/2'),
      onProtocolError: () => ctx.stats.downstream_cx_protocol_error++,
    };
    const conn = new Http2ServerConnection(socket, codec, onRequest, events, initial, ctx.port);
    this.httpConnections.add(conn);
    socket.once('close', () => this.httpConnections.delete(conn));
  }

  /**
   * Each request runs under the snapshot in force when it arrives, not the one its connection
   * was accepted under: as with Envoy's route updates, a keep-alive connection follows config
   * changes, and never routes to clusters (and pools) a later snapshot replaced.
   */
  private httpContext(accepted: HttpListenerContext): HttpListenerContext {
    return this.binding?.http ?? accepted;
  }

  private serveTcp(socket: net.Socket, binding: ListenerBinding, initial: Buffer, transport: Transport, original: OriginalDestination | null): void {
    if (binding.tcp === null) {
      socket.destroy();
      return;
    }
    handleTcpConnection(socket, initial, binding.tcp, acceptedConnection(socket, binding.tcp, transport, original), original);
  }

  /** A request the codec answered itself (400, 408, 431, ...): counted and recorded with `DPE`. */
  private onCodecError(ctx: HttpListenerContext, status: number, details: string, remote: string, protocol = 'HTTP/1.1'): void {
    const stats = ctx.stats;
    if (status === 408) stats.downstream_rq_header_timeout++;
    else stats.downstream_cx_protocol_error++;
    stats.downstream_rq_total++;
    stats.countStatus(status);
    const hook = ctx.services.onRequestDone;
    if (hook === null) return;
    const rec = newRecord('http', ctx.name, ctx.direction, protocol, remote);
    rec.flags = status === 408 || status === 500 ? 0 : ResponseFlag.DPE;
    rec.details = details;
    rec.status = status;
    try {
      hook(rec);
    } catch {
      // Telemetry must never break the data path.
    }
  }

  /**
   * Stops accepting; open connections get `drainMs` to finish what they are doing, then are
   * closed.
   */
  async close(drainMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const server = this.server;
    const closed = server === null ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
    for (const conn of this.httpConnections) conn.drain();
    if (this.sockets.size > 0) {
      const deadline = Date.now() + drainMs;
      while (this.sockets.size > 0 && Date.now() < deadline) await sleep(Math.min(50, drainMs));
      for (const s of this.sockets) s.destroy();
    }
    await closed;
  }
}

function noop(): void {}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
