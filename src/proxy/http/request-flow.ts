/**
 * The HTTP request path, written down in one place: every phase a request passes through, in
 * order, with what each answers when it stops the request. Listeners call `handleHttpRequest`
 * for each request the codec parses.
 *
 *   phase                               stops with
 *   1  connection-manager headers,      —
 *      telemetry (trace, peer metadata)
 *   2  route selection                  404, flag NR, empty body
 *   3  CORS preflight / redirect /      the configured answer
 *      direct response
 *   4  fault injection                  delay (DI), abort (FI): `fault filter abort`
 *   5  destination and cluster          503, flag NC, empty body
 *   6  header operations and rewrites   —
 *   7  CONNECT tunnel                   503 UH / UO / UF; to BlackHoleCluster:
 *                                       200, then closed (UH)
 *   8  mirrors                          — (never waited for)
 *   9  router: host, circuit breaker,   503 UH `no healthy upstream`, 503 UO / UF / UC
 *      tries, timeouts, retries         `upstream connect error …`, 504 UT, URX
 *  10  response: header operations,     —
 *      CORS, server, service time
 *  11  record → onRequestDone           —
 */
import net from 'node:net';
import type { HttpListenerContext } from './context.js';
import { HttpExchange } from './exchange.js';
import { addForwardingHeaders, stripHopByHop } from './forwarding.js';
import { HeaderList } from './headers.js';
import { FAULT_ABORT, NO_HEALTHY_UPSTREAM, upstreamResetBody } from './local-reply.js';
import { MirrorRequest } from './mirror.js';
import { ResponseFlag } from '../../telemetry/response-flags.js';
import type { FaultDecision } from './route/fault.js';
import { shadowAuthority } from './route/selected.js';
import type { RouteRequest } from './route/request.js';
import { startForwarding } from './router.js';
import type { DownstreamStream } from './stream.js';
import { splice } from './tunnel.js';
import type { UpstreamRequestHead } from './upstream-try.js';
import { transportFailureText } from '../upstream/http1-client.js';
import { withOriginalDestination } from '../upstream/original-destination.js';

/** Runs one request through the phases. */
export function handleHttpRequest(stream: DownstreamStream, ctx: HttpListenerContext): void {
  const ex = new HttpExchange(stream, ctx);
  const head = ex.head;
  const headers = head.headers;

  // 1. Connection-manager headers come first, so route matches and every later phase see the
  //    request as it will be forwarded: hop-by-hop fields go (the WebSocket handshake keeps its
  //    upgrade), Expect goes (the proxy answers 100-continue itself), x-request-id and
  //    x-forwarded-* are set.
  stripHopByHop(headers, head.upgrade === 'websocket');
  if (head.expectContinue) headers.remove('expect');
  ex.requestId = addForwardingHeaders(headers, stream.remoteAddress, head.scheme, ctx.direction === 'gateway');
  // Telemetry (src/telemetry) joins or starts the trace and exchanges peer metadata here, so the
  // route and every later phase see the trace headers as they will be forwarded.
  const telemetry = ctx.services.telemetry;
  if (telemetry !== null) ex.telemetry = telemetry.requestStart(head, ctx.direction);

  // 2. Route selection: the listener's route table, first match wins.
  const req: RouteRequest = {
    method: head.method,
    scheme: head.scheme,
    authority: head.authority,
    path: head.path,
    port: ctx.port,
    headers,
  };
  if (ctx.sourceLabels !== undefined) req.sourceLabels = ctx.sourceLabels;
  if (ctx.sourceNamespace !== undefined) req.sourceNamespace = ctx.sourceNamespace;
  if (ctx.gateway !== undefined) req.gateway = ctx.gateway;
  ex.routeRequest = req;
  const route = ctx.routeTable === null ? null : ctx.routeTable.select(req);
  if (route === null) {
    ctx.stats.no_route++;
    ex.localReply(404, '', ResponseFlag.NR, 'route_not_found');
    return;
  }
  ex.route = route;

  // 3. Answers that need no upstream. A CORS preflight is answered before the route action,
  //    as Envoy's CORS filter runs before the router.
  const preflight = route.corsPreflight(req);
  if (preflight !== null) {
    ex.localReply(preflight.status, preflight.body ?? '', 0, 'cors_response', HeaderList.from(preflight.headers));
    return;
  }
  if (route.kind === 'redirect') {
    ctx.stats.rq_redirect++;
    const h = new HeaderList();
    h.push('location', 'location', route.redirectLocation(req));
    route.applyResponseHeaders(h);
    ex.localReply(route.redirectCode, '', 0, 'direct_response', h);
    return;
  }
  if (route.kind === 'direct') {
    ctx.stats.rq_direct_response++;
    const h = new HeaderList();
    route.applyResponseHeaders(h);
    ex.localReply(route.directStatus, route.directBody ?? '', 0, 'direct_response', h);
    return;
  }

  // 4. Fault injection, before the router as Envoy's fault filter: the delay first, then the abort.
  const fault = route.faultFor(ctx.services.random);
  if (fault !== null) {
    if (fault.delayMs > 0) {
      ex.flags |= ResponseFlag.DI;
      setTimeout(afterFaultDelay, fault.delayMs, ex, fault);
      return;
    }
    if (fault.abort !== null) {
      abortByFault(ex, fault.abort);
      return;
    }
  }
  forward(ex);
}

function afterFaultDelay(ex: HttpExchange, fault: FaultDecision): void {
  if (ex.done) return;
  if (fault.abort !== null) abortByFault(ex, fault.abort);
  else forward(ex);
}

function abortByFault(ex: HttpExchange, abort: NonNullable<FaultDecision['abort']>): void {
  if (abort.grpcStatus === undefined) {
    ex.localReply(abort.httpStatus, FAULT_ABORT, ResponseFlag.FI, 'fault_filter_abort');
    return;
  }
  // A gRPC abort is a trailers-only answer: HTTP 200 carrying grpc-status.
  const h = new HeaderList();
  h.push('content-type', 'content-type', 'application/grpc');
  h.push('grpc-status', 'grpc-status', String(abort.grpcStatus));
  h.push('grpc-message', 'grpc-message', FAULT_ABORT);
  ex.localReply(200, '', ResponseFlag.FI, 'fault_filter_abort', h);
}

/** Phases 5–10: from the route action to the router. */
function forward(ex: HttpExchange): void {
  const { ctx, head, stream } = ex;
  const route = ex.route!;
  const headers = head.headers;

  // 5. Destination by weight, then its cluster; a route naming an unknown cluster answers 503 NC.
  const dest = route.pickDestination(ctx.services.random);
  const cluster = dest === null ? undefined : ctx.clusters.get(dest.cluster);
  if (dest === null || cluster === undefined) {
    ctx.stats.no_cluster++;
    ex.localReply(503, '', ResponseFlag.NC, 'cluster_not_found');
    return;
  }
  ex.dest = dest;
  ex.cluster = cluster;

  // 6. Header operations (destination level before route level) and rewrites.
  route.applyRequestHeaders(headers, dest);
  const authority = route.rewriteAuthority(head.authority, dest);
  if (authority !== head.authority) headers.set('host', authority);
  const path = route.rewritePath(head.path);
  if (path !== head.path) headers.set('x-envoy-original-path', head.path);
  const lb = cluster.config.lb;
  if (lb.policy === 'RING_HASH' || lb.policy === 'MAGLEV') {
    const key = cluster.hashKeyFor({
      headers: Object.fromEntries(headers.toPairs()),
      path: head.path,
      sourceIp: stream.remoteAddress,
      connectionId: `${stream.remoteAddress}:${stream.remotePort}|${stream.localAddress}:${stream.localPort}`,
    });
    ex.hashKey = key.hashKey;
    ex.hashCookie = key.setCookie;
  }

  // 7. CONNECT opens a TCP tunnel to a host of the cluster instead of an HTTP request.
  if (head.method === 'CONNECT') {
    openConnectTunnel(ex);
    return;
  }

  const upstream: UpstreamRequestHead = {
    method: head.method,
    path,
    headers,
    bodyLength: head.hasBody ? head.contentLength : 0,
    upgrade: head.upgrade === 'websocket',
  };
  ex.upstream = upstream;

  // 8. Mirrors go out beside the request with the authority suffixed `-shadow`; nobody waits for them.
  const mirrorClusters = route.mirrorsFor(ctx.services.random);
  for (const name of mirrorClusters) startMirror(ex, name, upstream, authority);

  // 9–11. The router takes it from here; responses come back through the exchange.
  startForwarding(ex);
}

function startMirror(ex: HttpExchange, clusterName: string, upstream: UpstreamRequestHead, authority: string): void {
  const cluster = ex.ctx.clusters.get(clusterName);
  const host = cluster?.pick();
  if (cluster === undefined || host === undefined) return;
  const headers = upstream.headers.clone();
  headers.set('host', shadowAuthority(authority));
  const m = new MirrorRequest(cluster, ex.ctx.services.poolFor(cluster, ex.head), host, { ...upstream, headers, upgrade: false });
  if (m.start()) (ex.mirrors ??= []).push(m);
}

/** Istio's cluster for traffic the mesh may not pass (outboundTrafficPolicy REGISTRY_ONLY). */
const BLACKHOLE_CLUSTER = 'BlackHoleCluster';

/** CONNECT: a TCP connection to a host of the cluster, answered 200 then spliced. */
function openConnectTunnel(ex: HttpExchange): void {
  const cluster = ex.cluster!;
  if (cluster.config.name === BLACKHOLE_CLUSTER) {
    closeAsBlackHole(ex);
    return;
  }
  const host = cluster.pick(withOriginalDestination(cluster, {}, ex.head.authority, 443));
  if (host === undefined) {
    ex.localReply(503, NO_HEALTHY_UPSTREAM, ResponseFlag.UH, 'no_healthy_upstream');
    return;
  }
  ex.lastHost = host;
  ex.attempts = 1;
  if (!cluster.limits.tryAcquireConnection()) {
    ex.localReply(503, upstreamResetBody('overflow', false, ''), ResponseFlag.UO, 'upstream_reset_before_response_started{overflow}');
    return;
  }
  host.stats.cx_total++;
  host.stats.cx_active++;
  cluster.counters.inc('upstream_cx_total');
  const started = performance.now();
  const socket = net.connect({ host: host.address, port: host.port, allowHalfOpen: true, noDelay: true });
  let connected = false;
  const release = (): void => {
    cluster.limits.releaseConnection();
    if (host.stats.cx_active > 0) host.stats.cx_active--;
  };
  const timer = setTimeout(() => {
    if (connected) return;
    socket.destroy();
    fail('connection timeout', '');
  }, cluster.config.connectionPool.connectTimeoutMs);
  const fail = (reason: 'connection timeout' | 'remote connection failure', transport: string): void => {
    if (connected || ex.done) return;
    connected = true; // settled
    clearTimeout(timer);
    release();
    host.stats.cx_connect_fail++;
    cluster.counters.inc('upstream_cx_connect_fail');
    cluster.report(host, 'connect-failure');
    ex.localReply(503, upstreamResetBody(reason, false, transport), ResponseFlag.UF, 'upstream_reset_before_response_started{connection_failure}');
  };
  socket.once('error', (err: NodeJS.ErrnoException) => fail('remote connection failure', transportFailureText(err)));
  socket.once('connect', () => {
    clearTimeout(timer);
    if (ex.done) {
      socket.destroy();
      release();
      return;
    }
    connected = true;
    cluster.report(host, 'connect-success-final');
    ex.upstreamTimeMs = performance.now() - started;
    ex.responseStatus = 200;
    ex.details = 'via_upstream';
    ex.stream.writeHead(200, new HeaderList(), 0, false);
    const down = ex.stream.takeOver();
    if (down === null) {
      socket.destroy();
      release();
      ex.finish();
      return;
    }
    splice(
      down.socket,
      down.head,
      socket,
      Buffer.alloc(0),
      (up, back) => {
        release();
        ex.bytesReceived += up;
        ex.bytesSent += back;
        ex.finish();
      },
      { idleTimeoutMs: ex.ctx.tunnelIdleTimeoutMs },
    );
  });
}

/**
 * A tunnel to the BlackHoleCluster stands for a captured TCP connection that Istio's listeners
 * send there, where Envoy's TCP proxy accepts it and closes it at once (flag UH). So the CONNECT
 * is answered 200 and the connection ended: a TLS client fails in its handshake (curl's exit
 * code 35, as on Istio's egress page), any other client sees its connection closed.
 */
function closeAsBlackHole(ex: HttpExchange): void {
  ex.flags |= ResponseFlag.UH;
  ex.details = 'no_healthy_upstream';
  ex.responseStatus = 200;
  ex.stream.writeHead(200, new HeaderList(), 0, false);
  ex.stream.takeOver()?.socket.end();
  ex.finish();
}
