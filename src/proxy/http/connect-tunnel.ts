/**
 * CONNECT tunnels: the tunnel passes the connection phase (it stands for the TCP connection a
 * client would have opened, were it captured), then a TCP connection to a host of the cluster is
 * opened, the request answered 200, and the two spliced.
 */
import type { Socket } from 'node:net';
import { endSocket, tunnelConnection } from '../connection/connection-context.js';
import { runConnectionPhase, type ConnectionOutcome } from '../connection/connection-phase.js';
import type { ConnectionStop } from '../filters/connection-filter.js';
import type { HttpExchange } from './exchange.js';
import { HeaderList } from './headers.js';
import { NO_HEALTHY_UPSTREAM, upstreamResetBody } from './local-reply.js';
import { ResponseFlag } from '../../telemetry/response-flags.js';
import { splice } from './tunnel.js';
import type { Cluster } from '../upstream/cluster.js';
import { HostConnection } from '../upstream/host-connection.js';
import { withOriginalDestination } from '../upstream/original-destination.js';

/** Istio's cluster for traffic the mesh may not pass (outboundTrafficPolicy REGISTRY_ONLY). */
const BLACKHOLE_CLUSTER = 'BlackHoleCluster';

/** Runs the tunnel's connection phase, then opens it (or refuses it as the phase says). */
export function openConnectTunnel(ex: HttpExchange): void {
  const tunnel = tunnelConnection(ex.connection, ex.head.authority);
  const cancel = runConnectionPhase(tunnel, ex.ctx.connectionFilters, ex, afterConnectionPhase);
  // A filter waits: the exchange cancels it if the client goes away first.
  if (cancel !== null) ex.waiting = cancel;
}

function afterConnectionPhase(ex: HttpExchange, outcome: ConnectionOutcome, flags: number): void {
  ex.waiting = null;
  ex.flags |= flags;
  if (ex.done) return;
  if (outcome.kind === 'continue') connectUpstream(ex);
  else refuseTunnel(ex, outcome);
}

/**
 * A tunnel the connection phase stops, as the captured connection it stands for would be: a
 * close is answered 200 (the connection was accepted) and then closed with a FIN; a reset is an
 * RST at once, with no answer, so the client sees its connection reset rather than a clean end.
 */
export function refuseTunnel(ex: HttpExchange, stop: ConnectionStop): void {
  ex.flags |= stop.flags;
  ex.details = stop.details;
  if (stop.kind === 'close') {
    ex.responseStatus = 200;
    ex.stream.writeHead(200, new HeaderList(), 0, false);
  }
  const down = ex.stream.takeOver();
  if (down === null) {
    ex.resetDownstream();
    return;
  }
  endSocket(down.socket, stop.kind);
  ex.finish();
}

/** A connection to a host of the cluster (the upstream connect path), answered 200 then spliced. */
function connectUpstream(ex: HttpExchange): void {
  const cluster = ex.cluster!;
  if (cluster.config.name === BLACKHOLE_CLUSTER) {
    closeAsBlackHole(ex);
    return;
  }
  spliceToHost(ex, cluster, null);
}

/** The client's side of a tunnel once answered 200: its socket and the bytes it sent already. */
export interface AnsweredTunnel {
  readonly socket: Socket;
  readonly head: Buffer;
}

/**
 * A tunnel answered 200 already (to a port that speaks HTTP, whose first bytes were not HTTP)
 * goes on as a byte tunnel to a host of `clusterName`; when none can be reached, the client's
 * connection is closed, as a captured connection whose upstream fails is.
 */
export function spliceAnsweredTunnel(ex: HttpExchange, clusterName: string, down: AnsweredTunnel): void {
  const cluster = ex.ctx.clusters.get(clusterName);
  if (cluster === undefined) {
    ex.ctx.stats.no_cluster++;
    failTunnel(ex, down, 503, '', ResponseFlag.NC, 'cluster_not_found');
    return;
  }
  ex.cluster = cluster;
  spliceToHost(ex, cluster, down);
}

/**
 * Opens a connection to a host of the cluster and splices the client to it; a tunnel not yet
 * answered (`answered` null) is answered 200 once connected, or with the failure.
 */
function spliceToHost(ex: HttpExchange, cluster: Cluster, answered: AnsweredTunnel | null): void {
  const host = cluster.pick(withOriginalDestination(cluster, {}, ex.head.authority, 443));
  if (host === undefined) {
    failTunnel(ex, answered, 503, NO_HEALTHY_UPSTREAM, ResponseFlag.UH, 'no_healthy_upstream');
    return;
  }
  ex.lastHost = host;
  ex.attempts = 1;
  const started = performance.now();
  const conn = HostConnection.open(cluster, host, {
    onConnectFailed(failure) {
      if (ex.done) return;
      failTunnel(ex, answered, 503, upstreamResetBody(failure.reason, false, failure.transportFailure), ResponseFlag.UF, 'upstream_reset_before_response_started{connection_failure}');
    },
    onConnected(up) {
      const socket = up.socket;
      if (ex.done) {
        socket.destroy();
        up.release();
        if (answered !== null) answered.socket.destroy();
        return;
      }
      ex.upstreamTimeMs = performance.now() - started;
      ex.details = 'via_upstream';
      let down = answered;
      if (down === null) {
        ex.responseStatus = 200;
        ex.stream.writeHead(200, new HeaderList(), 0, false);
        down = ex.stream.takeOver();
      }
      if (down === null) {
        socket.destroy();
        up.release();
        ex.finish();
        return;
      }
      splice(
        down.socket,
        down.head,
        socket,
        Buffer.alloc(0),
        (sent, back) => {
          up.release();
          ex.bytesReceived += sent;
          ex.bytesSent += back;
          ex.finish();
        },
        { idleTimeoutMs: ex.ctx.tunnelIdleTimeoutMs },
      );
    },
  });
  if (conn === 'overflow') {
    failTunnel(ex, answered, 503, upstreamResetBody('overflow', false, ''), ResponseFlag.UO, 'upstream_reset_before_response_started{overflow}');
  }
}

/** A tunnel whose upstream fails: answered with the failure, or closed when it was answered 200 already. */
function failTunnel(ex: HttpExchange, answered: AnsweredTunnel | null, status: number, body: string, flag: number, details: string): void {
  if (answered === null) {
    ex.localReply(status, body, flag, details);
    return;
  }
  ex.flags |= flag;
  ex.details = details;
  answered.socket.destroy();
  ex.finish();
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
