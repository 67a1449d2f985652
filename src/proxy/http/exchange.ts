/**
 * The state of one proxied HTTP request from the moment it is parsed until its record is handed
 * on: local replies in Envoy's words, the request body pump (with a bounded replay buffer so
 * retries can resend it), the response relay, and the final record. The order of the phases lives
 * in `request-flow.ts`, which alone reads and writes this state. Everything else sees the exchange
 * through a narrow view: filters as the `HttpFilterRequest` they decide on, the route table as the
 * `RouteRequest` it matches, the router as the `ForwardedRequest` it forwards.
 */
import type { DescriptorContext } from '../filters/ratelimit/descriptors.js';
import type { Socket } from 'node:net';
import type { Cluster } from '../upstream/cluster.js';
import type { UpstreamStream } from '../upstream/pool.js';
import type { Endpoint } from '../upstream/types.js';
import type { HttpListenerContext, TunnelledHttpServer } from './context.js';
import { CORS_RESPONSE } from '../filters/cors/cors.js';
import type { ConnectionContext } from '../filters/connection-filter.js';
import type { HttpFilterRequest, LocalReply, RequestFacts } from '../filters/http-filter.js';
import type { Cancel } from '../filters/verdict.js';
import { stripHopByHop } from './forwarding.js';
import { HeaderList } from './headers.js';
import type { MirrorRequest } from './mirror.js';
import type { RequestRecord, RequestTelemetryState, TlsFacts } from '../../telemetry/request-record.js';
import { ResponseFlag } from '../../telemetry/response-flags.js';
import type { CompiledDestination, SelectedRoute } from './route/selected.js';
import type { RouteRequest } from './route/request.js';
import type { ForwardedRequest, Forwarding } from './router.js';
import type { BodySink, DownstreamStream, RequestHead, StreamObserver } from './stream.js';
import { splice } from './tunnel.js';
import type { UpstreamRequestHead } from './upstream-try.js';
import { httpDate } from '../http1/serialize.js';
import { grpcLocalReplyHeaders, isGrpcRequest } from '../http2/grpc.js';

/** Request body kept for retries; a larger body is streamed once and not retried (Envoy's buffer limit). */
export const RETRY_BUFFER_LIMIT = 1024 * 1024;

/** The response phases, run on every forwarded response head (`request-flow.ts` writes them down). */
export type ResponsePhases = (ex: HttpExchange, status: number, headers: HeaderList) => void;

export class HttpExchange implements StreamObserver, BodySink, HttpFilterRequest, RouteRequest, ForwardedRequest, DescriptorContext {
  readonly head: RequestHead;
  readonly startTime = Date.now();
  readonly startMono = performance.now();
  route: SelectedRoute | null = null;
  dest: CompiledDestination | null = null;

  /**
   * The cluster of the destination, picked now when no phase has picked it yet (a rate-limit
   * `destination_cluster` action runs before phase 7, which then keeps this pick).
   */
  destinationCluster(): string {
    this.dest ??= this.route?.pickDestination(this.ctx.services.random) ?? null;
    return this.dest?.cluster ?? '';
  }
  cluster: Cluster | null = null;
  /** The request as it goes upstream, once the route action shaped it. */
  upstream: UpstreamRequestHead | null = null;
  requestId = '';
  flags = 0;
  details = '';
  /** Consistent-hash key of the request under the cluster's policy. */
  hashKey: string | undefined = undefined;
  /** Set-Cookie the consistent-hash cookie policy generated, sent back on the response. */
  hashCookie: string | undefined = undefined;
  /** What listener filters left on the request (a verified JWT, authorization's marks). */
  facts: RequestFacts | null = null;
  /** Telemetry's state for this request (trace context, peer identity), from `requestStart`. */
  telemetry: RequestTelemetryState | null = null;
  /** The router's state once the request is forwarded. */
  forwarding: Forwarding | null = null;
  /** Cancels the wait of a filter the request is parked on. */
  waiting: Cancel | null = null;
  attempts = 0;
  lastHost: Endpoint | null = null;

  // Request body
  private replay: Buffer[] | null = null;
  private replayBytes = 0;
  private replayable = true;
  bodyDone: boolean;
  private bodyTrailers: HeaderList | null = null;
  private sinkSet = false;
  mirrors: MirrorRequest[] | null = null;

  // Response
  responseStatus = 0;
  bytesReceived = 0;
  bytesSent = 0;
  upstreamTimeMs = -1;
  /** Ms from the start until the whole request body was in, and until an upstream response head came (-1: not yet). */
  requestCompleteMs = -1;
  responseStartMs = -1;
  /** The TLS of the upstream connection the last try went over, for the access log. */
  upstreamTls: TlsFacts | null = null;
  done = false;

  constructor(
    readonly stream: DownstreamStream,
    readonly ctx: HttpListenerContext,
    /** The downstream connection the request arrived on. */
    readonly connection: ConnectionContext,
    private readonly responsePhases: ResponsePhases,
    /** The listener that parsed the request, which serves the HTTP inside a CONNECT to an HTTP port. */
    readonly server: TunnelledHttpServer | null = null,
  ) {
    this.head = stream.head;
    this.bodyDone = stream.body === null;
    if (this.bodyDone) this.requestCompleteMs = 0;
    stream.observer = this;
    ctx.stats.downstream_rq_total++;
    ctx.stats.downstream_rq_active++;
  }

  // === The request as filters and the route table read it ===

  get method(): string {
    return this.head.method;
  }
  get scheme(): string {
    return this.head.scheme;
  }
  get authority(): string {
    return this.head.authority;
  }
  get path(): string {
    return this.head.path;
  }
  get headers(): HeaderList {
    return this.head.headers;
  }
  get port(): number {
    return this.ctx.port;
  }
  get protocol(): string {
    return this.head.protocol;
  }
  get random(): () => number {
    return this.ctx.services.random;
  }
  get sourceLabels(): Record<string, string> | undefined {
    return this.ctx.sourceLabels;
  }
  get sourceNamespace(): string | undefined {
    return this.ctx.sourceNamespace;
  }
  get gateway(): string | undefined {
    return this.ctx.gateway;
  }

  // === Local replies ===

  /**
   * Answers from the proxy itself (Envoy's sendLocalReply): status, optional text body, the
   * flag saying why. After the response began, the stream is reset instead.
   */
  localReply(status: number, body: string, flag: number, details: string, extra: HeaderList | null = null): void {
    if (this.done) return;
    this.flags |= flag;
    this.details = details;
    const stream = this.stream;
    if (stream.responseStarted) {
      this.resetDownstream();
      return;
    }
    // gRPC clients read errors from grpc-status: Envoy answers gRPC requests HTTP 200, trailers-only.
    const grpc = details !== CORS_RESPONSE && isGrpcRequest(this.head.headers);
    if (grpc) {
      extra = grpcLocalReplyHeaders(status, body, extra);
      status = 200;
      body = '';
    }
    const headers = extra ?? new HeaderList();
    const len = Buffer.byteLength(body);
    if (!grpc) headers.set('content-length', String(len));
    if (len > 0 && !headers.has('content-type')) headers.push('content-type', 'content-type', 'text/plain');
    headers.push('date', 'date', httpDate());
    headers.set('server', this.ctx.serverName);
    this.responseStatus = status;
    this.telemetryResponseHeaders(status, headers);
    stream.writeHead(status, headers, len, len === 0);
    if (len > 0) {
      this.bytesSent += len;
      stream.writeData(Buffer.from(body));
      stream.end(null);
    }
    this.finish();
  }

  /** A filter's local reply. */
  answer(reply: LocalReply): void {
    this.localReply(reply.status, reply.body, reply.flags, reply.details, reply.headers === null ? null : HeaderList.from(reply.headers));
  }

  resetDownstream(): void {
    if (this.done) return;
    this.stream.reset();
    this.finish();
  }

  abortResponse(flags: number, details: string): void {
    this.flags |= flags;
    this.details = details;
    this.resetDownstream();
  }

  addFlags(flags: number): void {
    this.flags |= flags;
  }

  noteAttempt(host: Endpoint): void {
    this.attempts++;
    this.lastHost = host;
  }

  // === Request body pump (BodySink of the downstream body) ===

  /** A try is connected: replay what earlier tries consumed, then let the body flow to it. */
  pumpBodyTo(conn: UpstreamStream): void {
    this.upstreamTls = conn.tls;
    if (this.stream.body === null) return;
    if (this.replay !== null) for (const chunk of this.replay) conn.writeBody(chunk);
    if (this.bodyDone) {
      conn.endBody(this.bodyTrailers);
      return;
    }
    if (!this.sinkSet) {
      this.sinkSet = true;
      this.stream.body.setSink(this);
    } else this.stream.body.resume();
  }

  /** Stops the body while no try can take it (between retries). */
  pauseBody(): void {
    if (this.sinkSet && !this.bodyDone) this.stream.body?.pause();
  }

  resumeBody(): void {
    if (this.sinkSet && !this.bodyDone) this.stream.body?.resume();
  }

  onData(chunk: Buffer): boolean {
    this.bytesReceived += chunk.length;
    if (this.replayable && this.route?.retry != null) {
      this.replayBytes += chunk.length;
      if (this.replayBytes > RETRY_BUFFER_LIMIT) {
        this.replayable = false;
        this.replay = null;
      } else (this.replay ??= []).push(chunk);
    } else if (this.replayable) {
      // No retry policy: the body is sent once, nothing to keep.
      this.replayable = false;
    }
    const mirrors = this.mirrors;
    if (mirrors !== null) for (const m of mirrors) m.write(chunk);
    const conn = this.forwarding?.upstreamStream() ?? null;
    if (conn === null) return false;
    return conn.writeBody(chunk);
  }

  onEnd(trailers: HeaderList | null): void {
    this.bodyDone = true;
    this.requestCompleteMs = performance.now() - this.startMono;
    this.bodyTrailers = trailers;
    const mirrors = this.mirrors;
    if (mirrors !== null) for (const m of mirrors) m.end(trailers);
    const fw = this.forwarding;
    if (fw !== null) {
      fw.upstreamStream()?.endBody(trailers);
      fw.bodyComplete();
    }
  }

  onError(): void {
    // The downstream went away mid-body; `onDownstreamReset` cleans up.
    const mirrors = this.mirrors;
    if (mirrors !== null) for (const m of mirrors) m.abort();
  }

  /** True when the body can be sent again from the start. */
  canReplay(): boolean {
    return this.stream.body === null || (this.replayable && this.route?.retry != null) || this.bytesReceived === 0;
  }

  // === Response relay ===

  /** Sends an upstream response head on, after the response phases. */
  relayHead(startedAt: number, status: number, headers: HeaderList, contentLength: number, endStream: boolean): void {
    const now = performance.now();
    this.upstreamTimeMs = now - startedAt;
    this.responseStartMs = now - this.startMono;
    this.details = 'via_upstream';
    stripHopByHop(headers, false);
    // A body of unknown length is re-framed here; a Content-Length sent alongside chunked framing must not survive.
    if (contentLength < 0) headers.remove('content-length');
    this.responsePhases(this, status, headers);
    headers.set('x-envoy-upstream-service-time', String(Math.round(this.upstreamTimeMs)));
    this.responseStatus = status;
    this.telemetryResponseHeaders(status, headers);
    this.stream.writeHead(status, headers, contentLength, endStream);
  }

  /** Telemetry reads (outbound) or adds (inbound) peer metadata on every response head. */
  private telemetryResponseHeaders(status: number, headers: HeaderList): void {
    if (this.telemetry !== null) this.ctx.services.telemetry?.responseHeaders(this.telemetry, status, headers);
  }

  relayData(chunk: Buffer): boolean {
    this.bytesSent += chunk.length;
    return this.stream.writeData(chunk);
  }

  relayEnd(trailers: HeaderList | null): void {
    if (trailers !== null && this.telemetry !== null) this.ctx.services.telemetry?.responseTrailers(this.telemetry, trailers);
    this.stream.end(trailers);
    this.finish();
  }

  /** A 101 answer to a WebSocket upgrade: send it on, then splice the two connections. */
  relayUpgrade(startedAt: number, status: number, headers: HeaderList, upstream: Socket, upstreamHead: Buffer): void {
    this.details = 'via_upstream';
    this.upstreamTimeMs = performance.now() - startedAt;
    stripHopByHop(headers, true);
    this.responsePhases(this, status, headers);
    this.responseStatus = status;
    this.telemetryResponseHeaders(status, headers);
    this.stream.writeHead(status, headers, 0, false);
    const down = this.stream.takeOver();
    if (down === null) {
      upstream.destroy();
      this.finish();
      return;
    }
    splice(
      down.socket,
      down.head,
      upstream,
      upstreamHead,
      (fromClient, toClient) => {
        this.bytesReceived += fromClient;
        this.bytesSent += toClient;
        this.finish();
      },
      { idleTimeoutMs: this.ctx.tunnelIdleTimeoutMs },
    );
  }

  // === StreamObserver ===

  onDownstreamDrain(): void {
    this.forwarding?.upstreamStream()?.resumeResponse();
  }

  onDownstreamReset(): void {
    if (this.done) return;
    this.flags |= ResponseFlag.DC;
    this.ctx.stats.downstream_rq_rx_reset++;
    if (this.details === '') this.details = 'downstream_remote_disconnect';
    this.forwarding?.cancel();
    this.finish();
  }

  // === End ===

  /**
   * Ends the exchange once: a filter's wait cancelled, timers off, counters, and the record to
   * the hook — unless `recorded` is false: a CONNECT whose tunnel carries HTTP is no request of
   * its own (as under iptables capture, where it does not exist), each request inside is one.
   */
  finish(recorded = true): void {
    if (this.done) return;
    this.done = true;
    const waiting = this.waiting;
    if (waiting !== null) {
      this.waiting = null;
      waiting();
    }
    this.forwarding?.finish();
    // Shadows still waiting for body that will never come are dropped.
    if (!this.bodyDone && this.mirrors !== null) for (const m of this.mirrors) m.abort();
    const stats = this.ctx.stats;
    stats.downstream_rq_active--;
    stats.countStatus(this.responseStatus);
    const hook = this.ctx.services.onRequestDone;
    if (hook !== null && recorded) {
      try {
        hook(this.record());
      } catch {
        // Telemetry must never break the data path.
      }
    }
  }

  record(): RequestRecord {
    const h = this.head;
    const s = this.stream;
    const rec: RequestRecord = {
      kind: 'http',
      listener: this.ctx.name,
      direction: this.ctx.direction,
      flags: this.flags,
      details: this.details,
      status: this.responseStatus,
      method: h.method,
      authority: h.authority,
      path: h.path,
      protocol: h.protocol,
      requestId: this.requestId,
      userAgent: h.headers.get('user-agent') ?? '',
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      startTime: this.startTime,
      durationMs: performance.now() - this.startMono,
      upstreamServiceTimeMs: this.upstreamTimeMs,
      upstreamHost: this.lastHost?.key ?? '',
      upstreamCluster: this.cluster?.name ?? '',
      routeName: this.route?.name ?? '',
      downstreamRemoteAddress: `${s.remoteAddress}:${s.remotePort}`,
      downstreamLocalAddress: `${s.localAddress}:${s.localPort}`,
      attempts: this.attempts,
      telemetry: this.telemetry,
      authz: this.facts?.authz,
      downstreamTls: this.connection.tlsFacts ?? null,
      upstreamTls: this.upstreamTls,
      serverName: this.connection.sni ?? '',
      connectionId: this.connection.id ?? 0,
      requestCompleteMs: this.requestCompleteMs,
      responseStartMs: this.responseStartMs,
    };
    withPrincipals(rec, this.ctx.direction, this.connection, this.cluster, this.lastHost);
    return rec;
  }
}

/**
 * The identities of the mutual TLS a request travelled over, as Istio's principals: on an inbound
 * listener the verified client and this proxy (the downstream connection's); elsewhere this proxy
 * and the upstream host, when its connection originated Istio mutual TLS.
 */
function withPrincipals(rec: RequestRecord, direction: ConnectionContext['direction'], conn: ConnectionContext, cluster: Cluster | null, host: Endpoint | null): void {
  if (direction === 'inbound') {
    if (conn.peerIdentity !== null && conn.localIdentity !== null) {
      rec.peerPrincipal = conn.peerIdentity;
      rec.localPrincipal = conn.localIdentity;
    }
    return;
  }
  if (cluster === null || host === null || host.config.serviceAccount === undefined) return;
  const local = cluster.tlsFor(host)?.localIdentity() ?? null;
  if (local === null) return;
  rec.peerPrincipal = host.config.serviceAccount;
  rec.localPrincipal = local;
}
