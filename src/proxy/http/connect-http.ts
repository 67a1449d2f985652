/**
 * A CONNECT to a service port that speaks HTTP (its virtual host's `connect`): the tunnel stands
 * for the connection iptables would have captured to that port, which Envoy serves on the port's
 * HTTP listener one request at a time. So the tunnel passes the connection phase, is answered
 * 200, and its first bytes decide what it is: an HTTP/1.1 request line or the HTTP/2 preface, and
 * the listener's own codec serves the connection, each request running the whole request flow
 * under the port's routes (its own route, balancing, faults, retries, mirrors, record); anything
 * else — TLS, unknown bytes, or nothing within the wait (a protocol whose server speaks first) —
 * and it stays a byte tunnel, to the port's own cluster.
 */
import { tunnelConnection } from '../connection/connection-context.js';
import { runConnectionPhase, type ConnectionOutcome } from '../connection/connection-phase.js';
import type { ConnectionContext } from '../filters/connection-filter.js';
import { readFirstBytes } from '../listener/first-bytes.js';
import { sniffProtocol } from '../listener/sniff.js';
import { refuseTunnel, spliceAnsweredTunnel } from './connect-tunnel.js';
import type { HttpListenerContext, TunnelledHttpServer } from './context.js';
import type { HttpExchange } from './exchange.js';
import { HeaderList } from './headers.js';
import type { HttpTunnelTarget } from './route/compile.js';

/**
 * How long a tunnel's first bytes are awaited before it is taken for a protocol whose server
 * speaks first (and spliced). HTTP clients write at once: a gRPC client its preface right after
 * the 200.
 */
export const TUNNEL_FIRST_BYTES_TIMEOUT_MS = 5000;

/** What the connection phase's outcome is handed with. */
interface PendingTunnel {
  readonly ex: HttpExchange;
  readonly tunnel: ConnectionContext;
  readonly target: HttpTunnelTarget;
  readonly server: TunnelledHttpServer;
}

/** Runs the tunnel's connection phase, then answers it and serves what it carries. */
export function serveHttpTunnel(ex: HttpExchange, target: HttpTunnelTarget, server: TunnelledHttpServer): void {
  const tunnel = tunnelConnection(ex.connection, ex.head.authority);
  const cancel = runConnectionPhase<PendingTunnel>(tunnel, ex.ctx.connectionFilters, { ex, tunnel, target, server }, afterConnectionPhase);
  // A filter waits: the exchange cancels it if the client goes away first.
  if (cancel !== null) ex.waiting = cancel;
}

function afterConnectionPhase(pending: PendingTunnel, outcome: ConnectionOutcome, flags: number): void {
  const { ex } = pending;
  ex.waiting = null;
  ex.flags |= flags;
  if (ex.done) return;
  if (outcome.kind === 'continue') answer(pending);
  else refuseTunnel(ex, outcome);
}

/** Answers 200 (the captured connection is accepted), then reads what the client sends first. */
function answer({ ex, tunnel, target, server }: PendingTunnel): void {
  ex.responseStatus = 200;
  ex.stream.writeHead(200, new HeaderList(), 0, false);
  const down = ex.stream.takeOver();
  if (down === null) {
    ex.finish();
    return;
  }
  const socket = down.socket;
  readFirstBytes(socket, down.head, TUNNEL_FIRST_BYTES_TIMEOUT_MS, (bytes, final) => {
    const kind = final ? 'tcp' : sniffProtocol(bytes);
    if (kind === 'more') return null;
    if (kind === 'tcp') {
      return () => {
        if (socket.destroyed) ex.finish();
        else spliceAnsweredTunnel(ex, target.tcpCluster, { socket, head: bytes });
      };
    }
    return () => {
      // The CONNECT was only the way in: each request inside is recorded, not the tunnel.
      ex.details = 'via_upstream';
      ex.finish(false);
      server.serveTunnelledHttp(socket, kind, bytes, tunnel, narrowTo(tunnel));
    };
  });
}

/**
 * The listener's context as a tunnel's requests see it: the tunnel's port, and the routes of the
 * virtual host it was opened to. Resolved again whenever the listener's context changes (each
 * request runs under the snapshot in force when it arrives), remembered for the last one.
 */
function narrowTo(tunnel: ConnectionContext): (ctx: HttpListenerContext) => HttpListenerContext {
  const target = tunnel.tunnelTarget!;
  const port = tunnel.destinationPort;
  let last: HttpListenerContext | null = null;
  let narrowed: HttpListenerContext | null = null;
  return (ctx) => {
    if (ctx !== last || narrowed === null) {
      last = ctx;
      narrowed = tunnelContext(ctx, target, port);
    }
    return narrowed;
  };
}

/** Narrowed contexts per listener context (one per snapshot) and tunnel target, made once each. */
const narrowedContexts = new WeakMap<HttpListenerContext, Map<string, HttpListenerContext>>();

/**
 * A later snapshot in which the target no longer serves HTTP (the port became opaque, the
 * service went away) leaves its tunnels without routes: their requests get 404 NR.
 */
function tunnelContext(ctx: HttpListenerContext, target: string, port: number): HttpListenerContext {
  let byTarget = narrowedContexts.get(ctx);
  if (byTarget === undefined) {
    byTarget = new Map();
    narrowedContexts.set(ctx, byTarget);
  }
  let narrowed = byTarget.get(target);
  if (narrowed === undefined) {
    const routes = ctx.routeTable?.httpTunnelFor(target)?.routes ?? null;
    narrowed = Object.freeze({ ...ctx, port, routeTable: routes });
    byTarget.set(target, narrowed);
  }
  return narrowed;
}
