/**
 * Opaque TCP proxying (Envoy's tcp_proxy filter): each downstream connection passes the connection
 * phase (`src/proxy/connection/`), then takes the first TCP route whose match holds, draws one of
 * its weighted clusters, connects to a host within the cluster's connection limit (through the
 * upstream connect path, so with the cluster's TLS when it originates one), and splices bytes both
 * ways, counting them.
 */
import net from 'node:net';
import type { Cluster } from '../upstream/cluster.js';
import type { ProxyServices } from '../http/context.js';
import { endSocket } from '../connection/connection-context.js';
import { runConnectionPhase, type ConnectionOutcome } from '../connection/connection-phase.js';
import type { ConnectionContext, ConnectionFilter } from '../filters/connection-filter.js';
import { ResponseFlag } from '../../telemetry/response-flags.js';
import { newRecord, type RequestRecord } from '../../telemetry/request-record.js';
import { splice } from '../http/tunnel.js';
import type { TcpRoute } from '../../snapshot/index.js';
import { HostConnection } from '../upstream/host-connection.js';
import { socketTlsFacts } from '../tls/tls-facts.js';

/** Envoy's `tcp.<prefix>.*` counters. */
export class TcpListenerStats {
  downstream_cx_total = 0;
  downstream_cx_active = 0;
  downstream_cx_no_route = 0;
  downstream_cx_rx_bytes_total = 0;
  downstream_cx_tx_bytes_total = 0;
  upstream_cx_connect_fail = 0;
  upstream_cx_overflow = 0;
  upstream_cx_no_healthy = 0;
}

/** A TCP route compiled for matching. */
export interface CompiledTcpRoute {
  route: TcpRoute;
  subnets: net.BlockList | null;
  totalWeight: number;
}

export interface TcpListenerContext {
  readonly name: string;
  readonly direction: 'inbound' | 'outbound' | 'gateway';
  readonly port: number;
  readonly routes: readonly CompiledTcpRoute[];
  /** True when some route matches on SNI (the ClientHello must be read first). */
  readonly needsSni: boolean;
  /** The listener's connection filters, in the connection phase's order. */
  readonly connectionFilters: readonly ConnectionFilter[];
  readonly clusters: ReadonlyMap<string, Cluster>;
  readonly services: ProxyServices;
  readonly stats: TcpListenerStats;
}

export function compileTcpRoutes(routes: readonly TcpRoute[]): CompiledTcpRoute[] {
  return routes.map((route) => {
    let subnets: net.BlockList | null = null;
    for (const cidr of route.match?.destinationSubnets ?? []) {
      subnets ??= new net.BlockList();
      const [addr, bits] = cidr.split('/') as [string, string | undefined];
      const family = addr.includes(':') ? 'ipv6' : 'ipv4';
      subnets.addSubnet(addr, bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits), family);
    }
    return { route, subnets, totalWeight: route.destinations.reduce((s, d) => s + d.weight, 0) };
  });
}

function sniMatches(patterns: readonly string[], sni: string | null): boolean {
  if (sni === null) return false;
  return patterns.some((p) => {
    const pat = p.toLowerCase();
    return pat.startsWith('*.') ? sni.endsWith(pat.slice(1)) && sni.length > pat.length - 1 : sni === pat;
  });
}

/** The first route whose match holds for a connection to `localAddress`:`port` (its original destination when captured). */
export function selectTcpRoute(ctx: TcpListenerContext, localAddress: string, port: number, sni: string | null): CompiledTcpRoute | null {
  const addr = localAddress.startsWith('::ffff:') ? localAddress.slice(7) : localAddress;
  for (const r of ctx.routes) {
    const m = r.route.match;
    if (m?.port !== undefined && m.port !== port) continue;
    if (m?.sniHosts !== undefined && !sniMatches(m.sniHosts, sni)) continue;
    if (r.subnets !== null && !r.subnets.check(addr, addr.includes(':') ? 'ipv6' : 'ipv4')) continue;
    return r;
  }
  return null;
}

/** One proxied connection on its way: its socket, context, record and bytes read before routing. */
interface TcpConnection {
  readonly socket: net.Socket;
  readonly initial: Buffer;
  readonly ctx: TcpListenerContext;
  readonly conn: ConnectionContext;
  readonly rec: RequestRecord;
  readonly started: number;
  /** While a connection filter waits: what ends the wait when the client leaves. */
  closeWhileWaiting: (() => void) | null;
  /** A captured connection's original destination: where an original-dst cluster connects. */
  readonly original: { readonly address: string; readonly port: number } | null;
}

/**
 * Proxies one accepted connection; `initial` holds bytes already read (sniffing), `original` the
 * original destination of a captured connection.
 */
export function handleTcpConnection(socket: net.Socket, initial: Buffer, ctx: TcpListenerContext, conn: ConnectionContext, original: { readonly address: string; readonly port: number } | null = null): void {
  const stats = ctx.stats;
  stats.downstream_cx_total++;
  stats.downstream_cx_active++;
  const rec = newRecord('tcp', ctx.name, ctx.direction, 'tcp', `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`);
  rec.authority = conn.sni ?? '';
  rec.serverName = conn.sni ?? '';
  rec.connectionId = conn.id ?? 0;
  rec.downstreamTls = conn.tlsFacts ?? null;
  rec.downstreamLocalAddress = `${conn.localAddress}:${conn.localPort}`;
  // Istio's destination principals: the verified client and this proxy, on inbound mutual TLS.
  if (ctx.direction === 'inbound' && conn.peerIdentity !== null && conn.localIdentity !== null) {
    rec.peerPrincipal = conn.peerIdentity;
    rec.localPrincipal = conn.localIdentity;
  }
  const tcp: TcpConnection = { socket, initial, ctx, conn, rec, started: performance.now(), closeWhileWaiting: null, original };
  socket.on('error', () => {});
  // Hold the client's bytes until the connection phase let it through and the upstream is there.
  socket.pause();
  const cancel = runConnectionPhase(conn, ctx.connectionFilters, tcp, afterConnectionPhase);
  if (cancel !== null) {
    // A filter waits: a client that leaves meanwhile ends the wait and the connection.
    tcp.closeWhileWaiting = () => {
      tcp.closeWhileWaiting = null;
      cancel();
      finishTcp(tcp, ResponseFlag.DC, 'downstream_remote_disconnect');
    };
    socket.once('close', tcp.closeWhileWaiting);
  }
}

function afterConnectionPhase(tcp: TcpConnection, outcome: ConnectionOutcome, flags: number): void {
  if (tcp.closeWhileWaiting !== null) {
    tcp.socket.removeListener('close', tcp.closeWhileWaiting);
    tcp.closeWhileWaiting = null;
  }
  tcp.rec.flags |= flags;
  if (outcome.kind !== 'continue') {
    endSocket(tcp.socket, outcome.kind);
    finishTcp(tcp, outcome.flags, outcome.details);
    return;
  }
  proxyTcp(tcp);
}

/** Ends the connection's record once: counters, details, the record to the hook. */
function finishTcp(tcp: TcpConnection, flag: number, details: string): void {
  const { rec, ctx } = tcp;
  rec.flags |= flag;
  if (rec.details === '') rec.details = details;
  rec.durationMs = performance.now() - tcp.started;
  ctx.stats.downstream_cx_active--;
  const hook = ctx.services.onRequestDone;
  if (hook !== null) {
    try {
      hook(rec);
    } catch {
      // Telemetry must never break the data path.
    }
  }
}

/** Routes the connection, connects upstream and splices. */
function proxyTcp(tcp: TcpConnection): void {
  const { socket, initial, ctx, conn, rec } = tcp;
  const stats = ctx.stats;
  const sni = conn.sni;
  const started = tcp.started;
  const done = (flag: number, details: string): void => finishTcp(tcp, flag, details);
  const route = selectTcpRoute(ctx, conn.localAddress, conn.destinationPort, sni);
  if (route === null) {
    stats.downstream_cx_no_route++;
    socket.destroy();
    done(ResponseFlag.NR, 'filter_chain_not_found');
    return;
  }
  const dests = route.route.destinations;
  let pick = dests[0];
  if (dests.length > 1) {
    let r = Math.floor(ctx.services.random() * route.totalWeight);
    for (const d of dests) {
      if (r < d.weight) {
        pick = d;
        break;
      }
      r -= d.weight;
    }
  }
  rec.upstreamCluster = pick.cluster;
  const cluster = ctx.clusters.get(pick.cluster);
  if (cluster === undefined) {
    socket.destroy();
    done(ResponseFlag.NC, 'cluster_not_found');
    return;
  }
  // An original-dst cluster (PassthroughCluster) connects where a captured connection was going.
  const host = tcp.original !== null && cluster.config.discovery === 'original-dst' ? cluster.pick({ originalDestination: tcp.original }) : cluster.pick();
  if (host === undefined) {
    stats.upstream_cx_no_healthy++;
    socket.destroy();
    done(ResponseFlag.UH, 'no_healthy_upstream');
    return;
  }
  rec.upstreamHost = host.key;
  rec.attempts = 1;
  let settled = false;
  const upstream = HostConnection.open(cluster, host, {
    onConnectFailed(failure) {
      settled = true;
      socket.destroy();
      stats.upstream_cx_connect_fail++;
      done(ResponseFlag.UF, failure.reason === 'connection timeout' ? 'connection_timeout' : `upstream_connect_error: ${failure.transportFailure}`);
    },
    onConnected(up) {
      settled = true;
      rec.upstreamServiceTimeMs = performance.now() - started;
      rec.details = 'via_upstream';
      rec.upstreamTls = socketTlsFacts(up.socket);
      // Telemetry counts the connection as opened now; long-lived connections show up before they close.
      if (ctx.services.telemetry !== null) {
        try {
          ctx.services.telemetry.tcpOpened(rec);
        } catch {
          // Telemetry must never break the data path.
        }
      }
      splice(
        socket,
        initial,
        up.socket,
        Buffer.alloc(0),
        (fromClient, toClient) => {
          up.release();
          rec.bytesReceived = fromClient;
          rec.bytesSent = toClient;
          stats.downstream_cx_rx_bytes_total += fromClient;
          stats.downstream_cx_tx_bytes_total += toClient;
          done(0, 'via_upstream');
        },
        { idleTimeoutMs: cluster.config.connectionPool.tcpIdleTimeoutMs },
      );
    },
  });
  if (upstream === 'overflow') {
    stats.upstream_cx_overflow++;
    socket.destroy();
    done(ResponseFlag.UO, 'upstream_cx_overflow');
    return;
  }
  socket.once('close', () => {
    if (settled) return;
    // The client left while the upstream was connecting: not the host's failure.
    settled = true;
    upstream.cancel();
    done(ResponseFlag.DC, 'downstream_remote_disconnect');
  });
}
