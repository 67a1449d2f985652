/**
 * The proxy process's core: holds the snapshot in force, applies new ones atomically (validate
 * and compile everything, bind new listeners, then swap; a snapshot that fails anywhere changes
 * nothing), owns listeners, clusters and connection pools, and serves the admin endpoints.
 */
import type { AddressInfo } from 'node:net';
import { AdminServer } from './admin/admin-server.js';
import { compileRateLimitFilters, type RateLimitServices } from './filters/ratelimit/chain.js';
import { RateLimitStats } from './filters/ratelimit/stats.js';
import { LocalTokenBuckets, type TokenBuckets } from './filters/local-ratelimit/token-bucket.js';
import { RateLimitServiceClientSet } from './rls/rls-client.js';
import { ClusterCalls } from './async-client/cluster-calls.js';
import type { ConnectionFilter } from './filters/connection-filter.js';
import type { HttpFilter } from './filters/http-filter.js';
import type { HttpListenerContext, ProxyServices } from './http/context.js';
import type { ProxyTelemetryHooks, RequestDoneHook } from '../telemetry/request-record.js';
import { DEFAULT_IDLE_TIMEOUT_MS, Listener, codecOptions } from './listener/listener.js';
import type { ListenerBinding } from './listener/listener.js';
import { SnapshotError } from '../snapshot/index.js';
import { TlsCompiler, checkSnapshot } from './snapshot.js';
import { useKeySets } from './filters/jwt/key-sets.js';
import type { CheckedSnapshot } from './snapshot.js';
import { compileFilterChains } from './listener/filter-chains.js';
import { compileCaptureTable, requireCapture } from './listener/capture.js';
import type { WorkloadSecrets } from './tls/workload-secrets.js';
import type { ServerTls } from './listener/server-tls.js';
import type { ListenerConfig, ProxySnapshot } from '../snapshot/index.js';
import { compileTcpRoutes } from './tcp/tcp-proxy.js';
import type { TcpListenerContext } from './tcp/tcp-proxy.js';
import { createClusterManager } from './upstream/cluster-manager.js';
import type { ApplyResult, ClusterManager } from './upstream/cluster-manager.js';
import type { Cluster } from './upstream/cluster.js';
import { ClusterPool } from './upstream/pool-http1.js';
import { Http2ClusterPool, upstreamProtocol } from './upstream/pool-http2.js';
import type { ConnectionPool, DownstreamProtocolInfo } from './upstream/pool.js';
import type { Clock } from './upstream/types.js';
import type { IdentityState } from './identity/workload-identity.js';
import { authzConnectionFilter, authzHttpFilter, type PolicyLog } from './filters/authz/authz-filters.js';
import { extAuthzHttpFilter, type ExtAuthzUpstreams } from './filters/ext-authz/ext-authz.js';

/** No listener-level filters: what every listener has until the snapshot carries policies for them. */
const NO_HTTP_FILTERS: readonly HttpFilter[] = Object.freeze([]);
const NO_CONNECTION_FILTERS: readonly ConnectionFilter[] = Object.freeze([]);
/** A listener whose chains terminate no TLS. */
const NO_SERVER_TLS: ReadonlyMap<string, ServerTls> = new Map();

/** What the proxy reads of its workload identity (`identity/workload-identity.ts`). */
export interface IdentityView {
  readonly current: IdentityState | null;
  /** The control plane runs no CA: nothing to wait for. */
  readonly unavailable: boolean;
}

export interface ProxyOptions {
  /** Admin endpoints (/config_dump, /clusters, /stats, /ready); null disables. Default 127.0.0.1:15000. */
  adminPort?: number | null;
  adminAddress?: string;
  /** Health endpoint (/healthz/ready); null disables. Default 0.0.0.0:15021. */
  healthPort?: number | null;
  healthAddress?: string;
  /** Receives a record of every finished request and TCP connection. */
  onRequestDone?: RequestDoneHook;
  /** Metrics, access logs and traces (`src/telemetry`); also receives every record. */
  telemetry?: ProxyTelemetryHooks;
  random?: () => number;
  /** Time source of outlier detection. */
  clock?: Clock;
  /** How long removed listeners keep serving open connections. Default 5 s. */
  drainTimeoutMs?: number;
  /** How long `auto` listeners wait for first bytes before treating a connection as TCP. Default 5 s. */
  protocolDetectionTimeoutMs?: number;
  /** Largest upstream response head accepted, in bytes. Default 60 KiB. */
  maxResponseHeaderBytes?: number;
  /** Worker processes of the proxy (`--concurrency`), reported as `server.concurrency`. Default 1. */
  concurrency?: number;
  /**
   * The proxy's identity for ISTIO_MUTUAL (its workload certificate and the mesh roots); installing
   * a new certificate on it rotates it. Default: one with no certificate yet.
   */
  workloadSecrets?: WorkloadSecrets;
  /** Where policy lines go (authorization's `rbac shadow denied, matched policy …`). Default: standard error. */
  policyLog?: PolicyLog;
  /** With several workers: the other workers' stats, which the admin `/stats` combines with this one's. */
  otherWorkersStats?: () => Promise<ReadonlyArray<ReadonlyMap<string, number>>>;
  /**
   * Where the local rate limit's token buckets live: this process's own by default; a worker
   * under `--concurrency` asks the primary's (`shared-buckets.ts`), so all workers share them.
   */
  tokenBuckets?: TokenBuckets;
  /** Time source of this process's token buckets (tests). */
  now?: () => number;
}

export interface ApplyReport {
  version: string;
  listeners: { added: string[]; updated: string[]; removed: string[] };
  clusters: ApplyResult;
}

/** The record hook: the caller's, telemetry's, or both in turn. */
function requestDoneHook(opts: ProxyOptions): RequestDoneHook | null {
  const own = opts.onRequestDone;
  const telemetry = opts.telemetry;
  if (telemetry === undefined) return own ?? null;
  if (own === undefined) return (record) => telemetry.requestDone(record);
  return (record) => {
    try {
      telemetry.requestDone(record);
    } finally {
      own(record);
    }
  };
}

export class SkiffProxy {
  private readonly clusters: ClusterManager;
  private readonly pools = new Map<Cluster, ClusterPool>();
  private readonly h2pools = new Map<Cluster, Http2ClusterPool>();
  private readonly listeners = new Map<string, Listener>();
  private checked: CheckedSnapshot | null = null;
  private applying: Promise<unknown> = Promise.resolve();
  private admin: AdminServer | null = null;
  private closed = false;
  private readonly tls: TlsCompiler;
  /** The workload identity, when the proxy has one (`skiff proxy --identity-credential-file`); set before it serves. */
  identity: IdentityView | null = null;
  readonly services: ProxyServices;
  private readonly policyLog: PolicyLog;
  readonly startedAt = Date.now();
  private readonly rateLimits: RateLimitServices & { readonly clients: RateLimitServiceClientSet };
  /** ext_authz checks reach a provider's cluster on its own pools, as any of its requests. */
  private readonly extAuthzUpstreams: ExtAuthzUpstreams;

  private constructor(private readonly opts: ProxyOptions) {
    this.tls = new TlsCompiler(opts.workloadSecrets);
    this.policyLog = opts.policyLog ?? ((line) => void process.stderr.write(`${new Date().toISOString()}\tinfo\trbac\t${line}\n`));
    this.clusters = createClusterManager({ ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.random ? { random: opts.random } : {}) });
    const clusterManager = this.clusters;
    const pools = this.pools;
    const h2pools = this.h2pools;
    const maxResponseHeaderBytes = opts.maxResponseHeaderBytes ?? 60 * 1024;
    const http2Pool = (cluster: Cluster): Http2ClusterPool => {
      let h2 = h2pools.get(cluster);
      if (h2 === undefined) {
        h2 = new Http2ClusterPool(cluster, { maxResponseHeaderBytes });
        h2pools.set(cluster, h2);
      }
      return h2;
    };
    this.rateLimits = {
      buckets: opts.tokenBuckets ?? new LocalTokenBuckets(opts.now),
      stats: new RateLimitStats(),
      // gRPC to a rate-limit service is HTTP/2 on that cluster's own pool, as any of its requests.
      clients: new RateLimitServiceClientSet({ cluster: (name) => clusterManager.clusters.get(name), http2Pool }),
    };
    this.services = {
      poolFor(cluster: Cluster, downstream?: DownstreamProtocolInfo): ConnectionPool {
        if (upstreamProtocol(cluster.config, downstream) === 'http2') return http2Pool(cluster);
        let pool = pools.get(cluster);
        if (pool === undefined) {
          pool = new ClusterPool(cluster, { maxResponseHeaderBytes });
          pools.set(cluster, pool);
        }
        return pool;
      },
      random: opts.random ?? Math.random,
      onRequestDone: requestDoneHook(opts),
      telemetry: opts.telemetry ?? null,
    };
    const services = this.services;
    this.extAuthzUpstreams = new ClusterCalls({ cluster: (name) => clusterManager.clusters.get(name), pool: (cluster) => services.poolFor(cluster), http2Pool });
  }

  /** Creates a proxy and starts its admin and health endpoints (no listeners until a snapshot). */
  static async create(opts: ProxyOptions = {}): Promise<SkiffProxy> {
    const proxy = new SkiffProxy(opts);
    const adminPort = opts.adminPort === undefined ? 15000 : opts.adminPort;
    const healthPort = opts.healthPort === undefined ? 15021 : opts.healthPort;
    proxy.admin = await AdminServer.start(proxy, {
      adminPort,
      adminAddress: opts.adminAddress ?? '127.0.0.1',
      healthPort,
      healthAddress: opts.healthAddress ?? '0.0.0.0',
      ...(opts.otherWorkersStats !== undefined ? { otherWorkersStats: opts.otherWorkersStats } : {}),
    });
    return proxy;
  }

  /** The snapshot in force (clusters with defaults resolved), or null before the first one. */
  get snapshot(): ProxySnapshot | null {
    return this.checked?.snapshot ?? null;
  }

  /**
   * True once a snapshot is applied and, for a proxy with a workload identity, its first
   * certificate is installed (health `/healthz/ready` answers 200), as Envoy waits for its SDS
   * secrets before it is ready.
   */
  get ready(): boolean {
    return this.checked !== null && !this.closed && (this.identity === null || this.identity.current !== null || this.identity.unavailable);
  }

  /** The workload certificate in force (`/certs`); undefined for a proxy without an identity. */
  get certificate(): IdentityState | null | undefined {
    return this.identity === null ? undefined : this.identity.current;
  }

  get clusterManager(): ClusterManager {
    return this.clusters;
  }

  /** The proxy's identity for ISTIO_MUTUAL; install a certificate on it to issue or rotate one. */
  get workloadSecrets(): WorkloadSecrets {
    return this.tls.secrets;
  }

  poolOf(cluster: Cluster): ClusterPool | undefined {
    return this.pools.get(cluster);
  }

  /** Bound address of a listener, by name. */
  listenerAddress(name: string): AddressInfo | undefined {
    return this.listeners.get(name)?.address();
  }

  listenerList(): Listener[] {
    return [...this.listeners.values()];
  }

  adminAddress(): AddressInfo | null {
    return this.admin?.adminAddress() ?? null;
  }

  healthAddress(): AddressInfo | null {
    return this.admin?.healthAddress() ?? null;
  }

  /**
   * Applies a snapshot atomically. Rejects with `SnapshotError` (nothing changed) when it is
   * invalid or a listener cannot bind. Requests in flight finish under the snapshot they began on.
   */
  applySnapshot(input: unknown): Promise<ApplyReport> {
    const run = this.applying.then(() => this.apply(input));
    this.applying = run.catch(() => {});
    return run;
  }

  private async apply(input: unknown): Promise<ApplyReport> {
    if (this.closed) throw new SnapshotError('snapshot', 'the proxy is shut down');
    const checked = checkSnapshot(input, this.tls);
    const snap = checked.snapshot;

    // Bind what is new first: the one step that can still fail, so it goes before any swap.
    const fresh = new Map<string, Listener>();
    const keep = new Map<string, Listener>();
    try {
      for (const [i, config] of snap.listeners.entries()) {
        const existing = this.listeners.get(config.name);
        const bound = config.bindToPort !== false;
        if (existing !== undefined && existing.config.address === config.address && existing.config.port === config.port && existing.bound === bound) {
          keep.set(config.name, existing);
          continue;
        }
        const detectionMs = this.opts.protocolDetectionTimeoutMs ?? 5000;
        if (!bound) {
          fresh.set(config.name, Listener.unbound(config, detectionMs));
          continue;
        }
        if (config.capture !== undefined) {
          try {
            requireCapture();
          } catch (err) {
            throw new SnapshotError(`listeners[${i}]`, `cannot capture on ${config.address}:${config.port}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
        try {
          fresh.set(config.name, await Listener.bind(config, detectionMs));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? String(err);
          throw new SnapshotError(`listeners[${i}]`, `cannot listen on ${config.address}:${config.port}: ${code}`);
        }
      }
    } catch (err) {
      await Promise.all([...fresh.values()].map((l) => l.close(0)));
      throw err;
    }

    // From here nothing fails: clusters, pools, then the listener bindings swap.
    const clusterResult = this.clusters.apply(snap.clusters);
    const clusterMap = this.clusters.clusters;
    for (const [name, cluster] of clusterMap) {
      const tls = checked.upstreamTls.get(name) ?? null;
      if (cluster.tls === tls) continue;
      // Other TLS: connections pooled with the old one close once idle; new ones use the new.
      cluster.tls = tls;
      this.pools.get(cluster)?.close();
      this.pools.delete(cluster);
      this.h2pools.get(cluster)?.close();
      this.h2pools.delete(cluster);
    }
    for (const [cluster, pool] of this.pools) {
      if (clusterMap.get(cluster.name) !== cluster) {
        pool.close();
        this.pools.delete(cluster);
      }
    }
    for (const [cluster, pool] of this.h2pools) {
      if (clusterMap.get(cluster.name) !== cluster) {
        pool.close();
        this.h2pools.delete(cluster);
      }
    }
    const report: ApplyReport = { version: snap.version, listeners: { added: [], updated: [], removed: [] }, clusters: clusterResult };
    const next = new Map<string, Listener>();
    for (const config of snap.listeners) next.set(config.name, keep.get(config.name) ?? fresh.get(config.name)!);
    for (const config of snap.listeners) {
      const listener = next.get(config.name)!;
      listener.binding = this.bindingFor(listener, config, checked, next);
      (fresh.has(config.name) ? report.listeners.added : report.listeners.updated).push(config.name);
    }
    const removed = [...this.listeners.values()].filter((l) => next.get(l.name) !== l);
    this.listeners.clear();
    for (const [name, l] of next) this.listeners.set(name, l);
    this.checked = checked;
    // Fetched JWKS that no rule in force names are no longer refreshed (nor reported).
    useKeySets(this, (snap.requestAuthentication?.rules ?? []).flatMap((r) => (r.jwksUri !== undefined && r.jwks === undefined ? [r.jwksUri] : [])));
    if (this.opts.telemetry !== undefined) {
      try {
        this.opts.telemetry.snapshotApplied(snap);
      } catch {
        // Telemetry must never fail a snapshot that is already in force.
      }
    }
    for (const l of removed) {
      if (!next.has(l.name)) report.listeners.removed.push(l.name);
      void l.close(this.opts.drainTimeoutMs ?? 5000);
    }
    return report;
  }

  private bindingFor(listener: Listener, config: ListenerConfig, checked: CheckedSnapshot, listeners: ReadonlyMap<string, Listener>): ListenerBinding {
    const snap = checked.snapshot;
    const gatewayNode = snap.node.kind === 'gateway';
    const serverName = config.http?.serverHeader ?? (gatewayNode || config.direction === 'gateway' ? 'istio-envoy' : 'envoy');
    const port = listener.port;
    const clusters = this.clusters.clusters;
    // Authorization applies on the server side only: a sidecar's inbound listeners, a gateway's.
    const serverSide = config.direction !== 'outbound';
    let http: HttpListenerContext | null = null;
    if (config.http !== undefined) {
      const workload = snap.node.workload;
      // Source labels describe the calling workload: known for a sidecar's own outbound traffic.
      const outboundSidecar = !gatewayNode && config.direction === 'outbound';
      http = Object.freeze({
        name: config.name,
        direction: config.direction,
        port,
        routeTable: checked.routeTables.get(config.http.routeConfig) ?? null,
        serverName,
        // Istio passes the app's `server` header through on inbound listeners.
        overwriteServer: config.direction !== 'inbound',
        sourceLabels: outboundSidecar ? workload?.labels : undefined,
        sourceNamespace: outboundSidecar ? workload?.namespace : undefined,
        gateway: gatewayNode ? undefined : 'mesh',
        tunnelIdleTimeoutMs: config.http.streamIdleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
        pathNormalization: config.http.pathNormalization ?? 'BASE',
        // Listener-level policies, in the request path's order (phase 2).
        httpFilters: serverSide ? this.serverFilters(checked, config.policyPort ?? null) : NO_HTTP_FILTERS,
        rateLimitFilters: compileRateLimitFilters(config.http.rateLimits, config.name, this.rateLimits),
        connectionFilters: NO_CONNECTION_FILTERS,
        clusters,
        services: this.services,
        stats: listener.httpStats,
      });
    }
    let tcp: TcpListenerContext | null = null;
    if (config.tcp !== undefined) {
      const routes = compileTcpRoutes(config.tcp.routes);
      tcp = Object.freeze({
        name: config.name,
        direction: config.direction,
        port,
        routes,
        needsSni: routes.some((r) => r.route.match?.sniHosts !== undefined),
        // The connection phase's order: TCP authorization is its second step.
        connectionFilters: serverSide && checked.authz !== null ? [authzConnectionFilter(checked.authz.tcp, config.policyPort ?? null, this.policyLog)] : NO_CONNECTION_FILTERS,
        clusters,
        services: this.services,
        stats: listener.tcpStats,
      });
    }
    const chains = compileFilterChains(config, checked.serverTls.get(config.name) ?? NO_SERVER_TLS, tcp?.needsSni === true);
    const capture = config.capture === undefined ? null : compileCaptureTable(config.capture, listeners);
    return Object.freeze({ config, chains, http, tcp, codec: codecOptions(config, serverName), secureCodec: codecOptions(config, serverName, true), capture });
  }

  /**
   * A server-side listener's security filters in Envoy's order as Istio builds it: JWT
   * (RequestAuthentication), ext_authz (CUSTOM policies), then RBAC (DENY, ALLOW, AUDIT).
   */
  private serverFilters(checked: CheckedSnapshot, policyPort: number | null): readonly HttpFilter[] {
    const jwt = checked.jwt;
    const authz = checked.authz;
    if (jwt === null && authz === null) return NO_HTTP_FILTERS;
    const out: HttpFilter[] = jwt === null ? [] : [jwt];
    if (authz === null) return out;
    const rbac = authzHttpFilter(authz.http, policyPort, this.policyLog);
    if (!authz.http.hasCustom) return [...out, rbac];
    const providers = checked.snapshot.authorization?.providers ?? [];
    return [...out, extAuthzHttpFilter(authz.http, providers, policyPort, this.extAuthzUpstreams), rbac];
  }

  /** Every counter and gauge, with Envoy's names. */
  stats(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, v] of Object.entries(this.clusters.stats())) out.set(k, v);
    for (const l of this.listeners.values()) {
      const a = l.address();
      out.set(`listener.${a.address}_${a.port}.downstream_cx_active`, l.activeConnections);
      if (l.config.filterChains !== undefined) for (const [k, v] of Object.entries(l.transportStats)) out.set(`listener.${a.address}_${a.port}.${k}`, v as number);
      if (l.config.http !== undefined) for (const [k, v] of Object.entries(l.httpStats)) out.set(`http.${l.name}.${k}`, v as number);
      if (l.config.tcp !== undefined) for (const [k, v] of Object.entries(l.tcpStats)) out.set(`tcp.${l.name}.${k}`, v as number);
    }
    for (const [k, v] of this.rateLimits.stats.entries()) out.set(k, v);
    out.set('listener_manager.total_listeners_active', this.listeners.size);
    out.set('server.live', this.ready ? 1 : 0);
    out.set('server.state', this.ready ? 0 : 2);
    out.set('server.uptime', Math.floor((Date.now() - this.startedAt) / 1000));
    // Envoy's worker count; the other figures here are this worker's own.
    out.set('server.concurrency', this.opts.concurrency ?? 1);
    return out;
  }

  /** Stops listening, drains connections (up to `drainTimeoutMs`), closes pools and admin. */
  async close(drainMs = 0): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.applying;
    await Promise.all([...this.listeners.values()].map((l) => l.close(drainMs)));
    this.listeners.clear();
    for (const pool of this.pools.values()) pool.destroy();
    this.pools.clear();
    for (const pool of this.h2pools.values()) pool.destroy();
    this.h2pools.clear();
    this.clusters.close();
    this.rateLimits.clients.close();
    useKeySets(this, []);
    await this.admin?.close();
  }
}
