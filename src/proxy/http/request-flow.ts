/**
 * The HTTP request path, written down in one place: every phase a request passes through, in
 * order, with what each answers when it stops the request. Listeners call `handleHttpRequest`
 * for each request the codec parses.
 *
 *   phase                                 stops with
 *   1  path normalisation,                400 when the path cannot be normalised
 *      connection-manager headers,        (`http.invalid_path`, `path_normalization_failed`)
 *      telemetry (trace, peer metadata)
 *   2  listener filters, in the           what the filter answers (401 JWT, 403 RBAC or the
 *      listener's order: JWT              ext_authz service's answer), or it waits (a JWT
 *      (filters/jwt), ext_authz           verification or JWKS fetch, ext_authz) and the
 *      (filters/ext-authz), RBAC          request goes on or is answered then
 *      (filters/authz)
 *   3  CONNECT to a port that speaks      200; then each request inside runs this path under
 *      HTTP (`connect-http.ts`)           that port's routes (bytes not HTTP: a byte tunnel)
 *      route selection                    404, flag NR, empty body (a CONNECT anywhere but
 *                                         on a sidecar's outbound listener too)
 *  3b  rate limits (filters/local-        429 `local_rate_limited` or 429 (flag RL) from the
 *      ratelimit, filters/ratelimit),     rate-limit service, 500 (RLSE) when it fails closed;
 *      the listener's, in its order,      the global filter waits for the service. Envoy's
 *      with the route's config and        filters read the route, so they run once it is known
 *      `rate_limits`                      (after authn/authz, before CORS, fault and router)
 *   4  CORS preflight (filters/cors)      200 with the CORS headers, no body
 *   5  redirect / direct response         the configured answer, with the route's response
 *      (filters/redirect)                 header operations
 *   6  fault injection (filters/fault)    waits the delay (DI); abort (FI): `fault filter abort`
 *   7  destination and cluster            503, flag NC, empty body
 *   8  header operations                  —
 *      (filters/headers), rewrites
 *   9  CONNECT tunnel: the connection     as the connection phase stops it: 200 then FIN
 *      phase, then the upstream           (close), or RST (reset); 503 UH / UO / UF; to
 *                                         BlackHoleCluster: 200, then closed (UH)
 *  10  mirrors (filters/mirror)           — (never waited for)
 *  11  router: host, circuit breaker,     503 UH `no healthy upstream`, 503 UO / UF / UC
 *      tries, timeouts, retries           `upstream connect error …`, 504 UT, URX
 *
 *   response phases, on every forwarded response head (and 101)
 *  R1  header operations                  —
 *      (filters/headers)
 *  R2  CORS response headers              —
 *      (filters/cors)
 *  R3  listener filters, reverse order    —
 *      (rate-limit filters first: the
 *      service's x-ratelimit-* headers)
 *  R4  hash-policy cookie, `server`       —
 *   then x-envoy-upstream-service-time and telemetry's peer metadata; the record goes to
 *   onRequestDone when the exchange ends.
 *
 * A phase answers synchronously in the common case and the runner allocates nothing for it. A
 * phase that waits parks the request: the runner keeps the wait's cancel on the exchange (which
 * cancels it if the client goes away) and goes on from the next phase when it resumes. A phase or
 * filter that throws answers 500 (`filter_failed{name}`) instead of taking the proxy down.
 */
import { CONTINUE, follow, type Continue, type Wait } from '../filters/verdict.js';
import type { ConnectionContext } from '../filters/connection-filter.js';
import { localReply, type HttpFilter, type HttpFilterRequest, type HttpVerdict, type LocalReply } from '../filters/http-filter.js';
import { shadowAuthority } from '../filters/mirror/mirror.js';
import { runRateLimitFilters } from '../filters/ratelimit/chain.js';
import { serveHttpTunnel } from './connect-http.js';
import { openConnectTunnel } from './connect-tunnel.js';
import type { HttpListenerContext, TunnelledHttpServer } from './context.js';
import { HttpExchange } from './exchange.js';
import { addForwardingHeaders, forwardClientCert, stripHopByHop } from './forwarding.js';
import { HeaderList } from './headers.js';
import { MirrorRequest } from './mirror.js';
import { normalizeRequestPath } from './path-normalize.js';
import { ResponseFlag } from '../../telemetry/response-flags.js';
import { Forwarding } from './router.js';
import type { DownstreamStream } from './stream.js';
import type { UpstreamRequestHead } from './upstream-try.js';

/** A phase took the request from here: it answered, or handed it on (the router, a tunnel). */
interface HandedOn {
  readonly kind: 'handed-on';
}
const HANDED_ON: HandedOn = Object.freeze({ kind: 'handed-on' });

/** One phase of the request path. */
type Phase = (ex: HttpExchange) => HttpVerdict | HandedOn;

/** Runs one request through the phases. */
export function handleHttpRequest(stream: DownstreamStream, ctx: HttpListenerContext, connection: ConnectionContext, server: TunnelledHttpServer | null = null): void {
  runPhases(new HttpExchange(stream, ctx, connection, responsePhases, server), 0);
}

// === Request phases ===

const ROUTE_NOT_FOUND = localReply(404, '', ResponseFlag.NR, 'route_not_found');
const CLUSTER_NOT_FOUND = localReply(503, '', ResponseFlag.NC, 'cluster_not_found');

/**
 * 1. The path is normalised first (`path-normalize.ts`, under the listener's option), so that
 *    telemetry, every policy and the route read, and the upstream gets, the one normalised path.
 *    Connection-manager headers come next, so route matches and every later phase see the
 *    request as it will be forwarded: hop-by-hop fields go (the WebSocket handshake keeps its
 *    upgrade), Expect goes (the proxy answers 100-continue itself), x-request-id and
 *    x-forwarded-* are set, x-forwarded-client-cert describes a verified client
 *    certificate or goes. Telemetry (src/telemetry) joins or starts the trace and exchanges
 *    peer metadata here, so the route and every later phase see the trace headers as they will
 *    be forwarded.
 */
function connectionManager(ex: HttpExchange): Continue | LocalReply {
  const { head, ctx, stream } = ex;
  const path = normalizeRequestPath(head.method, head.path, ctx.pathNormalization);
  if (typeof path !== 'string') return localReply(400, '', 0, path.details);
  head.path = path;
  const headers = head.headers;
  stripHopByHop(headers, head.upgrade === 'websocket');
  if (head.expectContinue) headers.remove('expect');
  ex.requestId = addForwardingHeaders(headers, stream.remoteAddress, head.scheme, ctx.direction === 'gateway');
  forwardClientCert(headers, ctx.direction, ex.connection);
  const telemetry = ctx.services.telemetry;
  if (telemetry !== null) ex.telemetry = telemetry.requestStart(head, ctx.direction);
  return CONTINUE;
}

/** 2. The listener's filters, in its order; a filter that waits resumes with the ones after it. */
function listenerFilters(ex: HttpExchange): HttpVerdict {
  const filters = ex.ctx.httpFilters;
  return filters.length === 0 ? CONTINUE : filtersFrom(filters, 0, ex);
}

function filtersFrom(filters: readonly HttpFilter[], from: number, req: HttpFilterRequest): HttpVerdict {
  for (let i = from; i < filters.length; i++) {
    const f = filters[i];
    let v: HttpVerdict;
    try {
      v = f.decide(req);
    } catch {
      return filterFailed(f.name);
    }
    if (v === CONTINUE || v.kind === 'continue') continue;
    if (v.kind === 'wait' && i + 1 < filters.length) return thenFilters(v, filters, i + 1, req);
    return v;
  }
  return CONTINUE;
}

/** A wait of one listener filter, which goes on with the filters after it when it resumes. */
function thenFilters(w: Wait<HttpVerdict>, filters: readonly HttpFilter[], next: number, req: HttpFilterRequest): Wait<HttpVerdict> {
  return {
    kind: 'wait',
    flags: w.flags,
    start: (resume) =>
      w.start((v) => resume(v.kind === 'wait' ? thenFilters(v, filters, next, req) : v.kind === 'continue' ? filtersFrom(filters, next, req) : v)),
  };
}

/**
 * 3. A CONNECT on a sidecar's outbound listener to a port that speaks HTTP stands for a connection
 *    captured to that port: it is answered, and the requests inside are served one by one
 *    (`connect-http.ts`), each through this path. A CONNECT inside such a tunnel is no tunnel again.
 */
function connectToHttpPort(ex: HttpExchange): Continue | HandedOn {
  if (ex.head.method !== 'CONNECT') return CONTINUE;
  const { ctx, server } = ex;
  if (server === null || ctx.direction !== 'outbound' || ex.connection.tunnelTarget !== null) return CONTINUE;
  const target = ctx.routeTable?.httpTunnelFor(ex.head.authority) ?? null;
  if (target === null) return CONTINUE;
  serveHttpTunnel(ex, target, server);
  return HANDED_ON;
}

/**
 * 3. Route selection: the listener's route table, first match wins. A CONNECT finds a route only
 *    on a sidecar's outbound listener (the app's HTTP_PROXY, where it stands for a captured TCP
 *    connection): Envoy routes a CONNECT only where the connection manager's upgrade config and a
 *    route's `connect_matcher` allow it, which Istio sets on no gateway or inbound listener, so
 *    there it gets 404 NR like any request no route takes, and no tunnel opens past the routing
 *    and policy of HTTP.
 */
function selectRoute(ex: HttpExchange): HttpVerdict {
  const ctx = ex.ctx;
  const table = ctx.routeTable;
  const route = table === null || (ex.head.method === 'CONNECT' && (ctx.direction !== 'outbound' || ex.connection.tunnelTarget !== null)) ? null : table.select(ex);
  if (route === null) {
    ctx.stats.no_route++;
    return ROUTE_NOT_FOUND;
  }
  ex.route = route;
  return CONTINUE;
}

/**
 * 3b. The listener's rate-limit filters, with the route's own config and `rate_limits`. A
 *     `destination_cluster` action picks the destination here, which phase 7 then keeps.
 */
function rateLimits(ex: HttpExchange): HttpVerdict {
  const filters = ex.ctx.rateLimitFilters;
  if (filters.length === 0) return CONTINUE;
  return runRateLimitFilters(filters, 0, ex, ex.route!.filters.rateLimits, ex, filterFailed);
}

/** 4. A CORS preflight is answered before the route action, as Envoy's CORS filter runs before the router. */
function corsPreflight(ex: HttpExchange): HttpVerdict {
  const cors = ex.route!.filters.cors;
  return cors === null ? CONTINUE : cors.decide(ex);
}

/** 5. Routes that answer themselves; the route's response header operations apply to the answer. */
function routeAnswer(ex: HttpExchange): HttpVerdict | HandedOn {
  const route = ex.route!;
  const answer = route.filters.answer;
  if (answer === null) return CONTINUE;
  if (answer.name === 'redirect') ex.ctx.stats.rq_redirect++;
  else ex.ctx.stats.rq_direct_response++;
  const reply = answer.decide(ex);
  const headers = reply.headers === null ? new HeaderList() : HeaderList.from(reply.headers);
  route.filters.headers.applyResponse(headers);
  ex.localReply(reply.status, reply.body, reply.flags, reply.details, headers);
  return HANDED_ON;
}

/** 6. Fault injection, before the router as Envoy's fault filter: the delay first, then the abort. */
function fault(ex: HttpExchange): HttpVerdict {
  const f = ex.route!.filters.fault;
  return f === null ? CONTINUE : f.decide(ex);
}

/** 7. Destination by weight, then its cluster; a route naming an unknown cluster answers 503 NC. */
function destination(ex: HttpExchange): HttpVerdict {
  const { ctx } = ex;
  const dest = ex.dest ?? ex.route!.pickDestination(ctx.services.random);
  const cluster = dest === null ? undefined : ctx.clusters.get(dest.cluster);
  if (dest === null || cluster === undefined) {
    ctx.stats.no_cluster++;
    return CLUSTER_NOT_FOUND;
  }
  ex.dest = dest;
  ex.cluster = cluster;
  return CONTINUE;
}

/** 8. Header operations (destination level before route level), rewrites, and the hash key. */
function headerOperations(ex: HttpExchange): Continue {
  const { head, stream } = ex;
  const route = ex.route!;
  const dest = ex.dest!;
  const headers = head.headers;
  dest.headers.applyRequest(headers);
  const authority = route.rewriteAuthority(head.authority, dest);
  if (authority !== head.authority) headers.set('host', authority);
  const path = route.rewritePath(head.path);
  if (path !== head.path) headers.set('x-envoy-original-path', head.path);
  const lb = ex.cluster!.config.lb;
  if (lb.policy === 'RING_HASH' || lb.policy === 'MAGLEV') {
    const key = ex.cluster!.hashKeyFor({
      headers: Object.fromEntries(headers.toPairs()),
      path: head.path,
      sourceIp: stream.remoteAddress,
      connectionId: `${stream.remoteAddress}:${stream.remotePort}|${stream.localAddress}:${stream.localPort}`,
    });
    ex.hashKey = key.hashKey;
    ex.hashCookie = key.setCookie;
  }
  if (head.method !== 'CONNECT') {
    const upstream: UpstreamRequestHead = {
      method: head.method,
      path,
      headers,
      bodyLength: head.hasBody ? head.contentLength : 0,
      upgrade: head.upgrade === 'websocket',
    };
    ex.upstream = upstream;
  }
  return CONTINUE;
}

/** 9. CONNECT opens a TCP tunnel to a host of the cluster instead of an HTTP request. */
function connectTunnel(ex: HttpExchange): Continue | HandedOn {
  if (ex.head.method !== 'CONNECT') return CONTINUE;
  openConnectTunnel(ex);
  return HANDED_ON;
}

/** 10. Mirrors go out beside the request with the authority suffixed `-shadow`; nobody waits for them. */
function mirrors(ex: HttpExchange): Continue {
  const mirror = ex.route!.filters.mirror;
  if (mirror === null) return CONTINUE;
  const upstream = ex.upstream!;
  const authority = ex.route!.rewriteAuthority(ex.head.authority, ex.dest);
  for (const name of mirror.clustersFor(ex.ctx.services.random)) startMirror(ex, name, upstream, authority);
  return CONTINUE;
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

/** 11. The router takes it from here; responses come back through the exchange. */
function router(ex: HttpExchange): HandedOn {
  const { ctx } = ex;
  const fw = new Forwarding(ex, ex.route!, ex.cluster!, ex.upstream!, ex.hashKey, ctx.services, ctx.stats);
  ex.forwarding = fw;
  fw.start();
  return HANDED_ON;
}

/** The request phases in order; the table at the top of this file says what each answers. */
const PHASES: readonly Phase[] = [
  connectionManager,
  listenerFilters,
  connectToHttpPort,
  selectRoute,
  rateLimits,
  corsPreflight,
  routeAnswer,
  fault,
  destination,
  headerOperations,
  connectTunnel,
  mirrors,
  router,
];

/** The phase names local replies of failing phases carry. */
const PHASE_NAMES: readonly string[] = ['connection_manager', 'listener_filters', 'connect_http', 'route', 'rate_limits', 'cors', 'route_answer', 'fault', 'destination', 'header_operations', 'connect', 'mirror', 'router'];

// === The runner ===

/** Runs the phases from `from` until one answers, hands the request on, or waits. */
function runPhases(ex: HttpExchange, from: number): void {
  for (let i = from; i < PHASES.length; i++) {
    let v: HttpVerdict | HandedOn;
    try {
      v = PHASES[i](ex);
    } catch {
      ex.answer(filterFailed(PHASE_NAMES[i]));
      return;
    }
    if (v === CONTINUE) continue;
    switch (v.kind) {
      case 'continue':
        continue;
      case 'reply':
        ex.answer(v);
        return;
      case 'wait':
        park(ex, v, i + 1);
        return;
      case 'handed-on':
        return;
    }
  }
}

/** Parks the request on a wait; when it resumes, the request is answered or goes on from phase `next`. */
function park(ex: HttpExchange, w: Wait<HttpVerdict>, next: number): void {
  let settled = false;
  const cancel = follow<HttpVerdict>(
    w,
    (started) => (ex.flags |= started.flags),
    (v) => {
      settled = true;
      ex.waiting = null;
      if (ex.done) return;
      if (v.kind === 'continue') runPhases(ex, next);
      else ex.answer(v);
    },
    () => filterFailed(PHASE_NAMES[next - 1]),
  );
  // A wait that resumed at once has nothing to cancel (and a later one is parked already).
  if (!settled) ex.waiting = cancel;
}

/** The answer of a phase or filter that failed: the request is refused rather than let through unchecked. */
function filterFailed(name: string): LocalReply {
  return localReply(500, '', 0, `filter_failed{${name}}`);
}

// === Response phases ===

/** R1–R4 on a forwarded response head; see the table at the top of this file. */
function responsePhases(ex: HttpExchange, status: number, headers: HeaderList): void {
  const route = ex.route;
  if (route !== null) {
    // R1. Header operations of the destination (and the route).
    route.headerOperations(ex.dest).applyResponse(headers);
    // R2. CORS headers for an allowed origin.
    route.filters.cors?.respond(ex, headers);
  }
  // R3. The listener's filters, innermost first (Envoy's encoder order).
  const limits = ex.ctx.rateLimitFilters;
  for (let i = limits.length - 1; i >= 0; i--) limits[i].respond?.(ex, headers);
  const filters = ex.ctx.httpFilters;
  for (let i = filters.length - 1; i >= 0; i--) filters[i].respond?.(ex, status, headers);
  // R4. The hash-policy cookie, and `server` where the proxy overwrites it.
  if (ex.hashCookie !== undefined) headers.append('set-cookie', ex.hashCookie);
  if (ex.ctx.overwriteServer) headers.set('server', ex.ctx.serverName);
}
