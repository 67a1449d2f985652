/**
 * What the request path reads per request: the listener's compiled context (one immutable object
 * per listener per snapshot, so a request keeps the config it started with) and the long-lived
 * proxy services (pools, randomness, the request-done hook, counters).
 */
import type { Socket } from 'node:net';
import type { ConnectionContext, ConnectionFilter } from '../filters/connection-filter.js';
import type { HttpFilter } from '../filters/http-filter.js';
import type { RateLimitFilter } from '../filters/ratelimit/chain.js';
import type { Cluster } from '../upstream/cluster.js';
import type { ConnectionPool, DownstreamProtocolInfo } from '../upstream/pool.js';
import type { RouteTable } from './route/compile.js';
import type { ProxyTelemetryHooks, RequestDoneHook } from '../../telemetry/request-record.js';
import type { PathNormalization } from '../../snapshot/index.js';

/** Envoy's per-listener HTTP connection manager counters (`http.<prefix>.*`). */
export class HttpListenerStats {
  downstream_cx_total = 0;
  downstream_cx_active = 0;
  downstream_rq_total = 0;
  downstream_rq_active = 0;
  downstream_rq_1xx = 0;
  downstream_rq_2xx = 0;
  downstream_rq_3xx = 0;
  downstream_rq_4xx = 0;
  downstream_rq_5xx = 0;
  downstream_rq_rx_reset = 0;
  downstream_rq_timeout = 0;
  downstream_rq_header_timeout = 0;
  downstream_cx_protocol_error = 0;
  no_route = 0;
  no_cluster = 0;
  rq_redirect = 0;
  rq_direct_response = 0;

  countStatus(status: number): void {
    if (status >= 500) this.downstream_rq_5xx++;
    else if (status >= 400) this.downstream_rq_4xx++;
    else if (status >= 300) this.downstream_rq_3xx++;
    else if (status >= 200) this.downstream_rq_2xx++;
    else if (status >= 100) this.downstream_rq_1xx++;
  }
}

/** Long-lived services shared by every listener and snapshot. */
export interface ProxyServices {
  /**
   * The connection pool of a cluster (created on first use): HTTP/2 or HTTP/1.1 as the cluster's
   * protocol decides, or as the downstream request speaks when the cluster follows the client.
   */
  poolFor(cluster: Cluster, downstream?: DownstreamProtocolInfo): ConnectionPool;
  random: () => number;
  onRequestDone: RequestDoneHook | null;
  /** Metrics, access logs and traces; null when none are installed. */
  telemetry: ProxyTelemetryHooks | null;
}

/** One HTTP listener as the request path sees it under one snapshot. */
export interface HttpListenerContext {
  readonly name: string;
  readonly direction: 'inbound' | 'outbound' | 'gateway';
  /** The port requests arrive on (the bound port when configured as 0). */
  readonly port: number;
  /** Null when the snapshot names a route config it does not contain: every request gets 404 `NR`. */
  readonly routeTable: RouteTable | null;
  /** `server` header value of responses and local replies. */
  readonly serverName: string;
  /** Replace the upstream's `server` header (Envoy OVERWRITE) rather than pass it through. */
  readonly overwriteServer: boolean;
  readonly sourceLabels: Record<string, string> | undefined;
  readonly sourceNamespace: string | undefined;
  /** `mesh` for sidecars; undefined on gateways. */
  readonly gateway: string | undefined;
  /** Idle time after which a WebSocket or CONNECT tunnel is closed; 0 = never. */
  readonly tunnelIdleTimeoutMs: number;
  /** How request paths are normalised before routing and policy (`path-normalize.ts`). */
  readonly pathNormalization: PathNormalization;
  /**
   * The listener's HTTP filters, run on every request before the route is chosen (peer
   * authentication, JWT, authorization, ext_authz, rate limits — in that order — as they land).
   */
  readonly httpFilters: readonly HttpFilter[];
  /**
   * The listener's rate-limit filters (local and global, in chain order), run once the route is
   * chosen since the route may carry their config and its `rate_limits`.
   */
  readonly rateLimitFilters: readonly RateLimitFilter[];
  /** The listener's connection filters, which CONNECT tunnels opened on it pass. */
  readonly connectionFilters: readonly ConnectionFilter[];
  /** The snapshot's clusters, as they were when it was applied. */
  readonly clusters: ReadonlyMap<string, Cluster>;
  readonly services: ProxyServices;
  readonly stats: HttpListenerStats;
}

/**
 * Serves HTTP on a connection the listener did not accept as such: the inside of a CONNECT
 * tunnel to a port that speaks HTTP (`connect-http.ts`). The listener that parsed the CONNECT
 * implements it with the codecs and request flow it serves its own connections with.
 */
export interface TunnelledHttpServer {
  /**
   * Serves `socket` with the `codec` its first bytes (`initial`, not yet consumed) showed. Each
   * request runs under the listener's context in force when it arrives, as `narrow` maps it
   * (the tunnel's port and routes), on the tunnel's connection context.
   */
  serveTunnelledHttp(socket: Socket, codec: 'http1' | 'h2', initial: Buffer, connection: ConnectionContext, narrow: (ctx: HttpListenerContext) => HttpListenerContext): void;
}
