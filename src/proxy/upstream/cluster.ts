/**
 * A cluster at runtime: its hosts (kept across snapshot updates so in-flight counts, stats and
 * ejections survive), the load balancer over the hosts currently available (with Envoy's healthy
 * panic threshold), circuit-breaker limits, outlier detection and Envoy-named stats.
 */
import type { Clock, Endpoint, LoadBalancer, PickContext, Random } from './types.js';
import type { ClusterConfig, ClusterConfigInput } from '../../snapshot/index.js';
import { withDefaults, endpointKey, WRR_DEFAULTS } from '../../snapshot/index.js';
import { HostImpl } from './endpoint.js';
import { createLoadBalancer, EndpointLoadReports } from './lb/index.js';
import { parseOrcaHeader } from './lb/orca.js';
import { ResourceLimits } from './limits.js';
import { OutlierDetector, type OutlierOutcome } from './outlier.js';
import { ClusterCounters } from './counters.js';
import { hashKeyFor, type HashKeyResult, type HashRequest } from './hash-key.js';
import { systemClock } from './clock.js';
import { systemRandom } from './random.js';
import { tlsForEndpoint, type UpstreamTls } from './upstream-tls.js';

export interface ClusterDeps {
  clock?: Clock;
  random?: Random;
}

export interface Cluster {
  readonly name: string;
  /** The resolved config in force. */
  readonly config: ClusterConfig;
  /** Current hosts (removed ones are in `draining`). */
  readonly endpoints: readonly Endpoint[];
  /**
   * Hosts removed by an update that still carry requests or connections; a drained host leaves
   * this list once it has neither (not at the next config change).
   */
  readonly draining: readonly Endpoint[];
  readonly limits: ResourceLimits;
  /** Undefined when the cluster has no outlier detection. */
  readonly outlier: OutlierDetector | undefined;
  readonly counters: ClusterCounters;
  /** True while fewer hosts than the panic threshold are available and all hosts are balanced over. */
  readonly inPanic: boolean;
  /**
   * The TLS its connections originate (compiled from `config.tls` with the snapshot), null for
   * plaintext. Set by whoever applies snapshots; connections made after a change use the new one.
   */
  tls: UpstreamTls | null;
  /** The TLS a connection to `host` originates (`tls`, but plaintext to a host without a sidecar under automatic mTLS). */
  tlsFor(host: Endpoint): UpstreamTls | null;
  /** A host for one request attempt, or undefined (Envoy: 503 `no healthy upstream`, flag `UH`). */
  pick(ctx?: PickContext): Endpoint | undefined;
  /** The consistent-hash key for a request under this cluster's policy (none for other policies). */
  hashKeyFor(req: HashRequest): HashKeyResult;
  /** Marks a request attempt as started on `host` (active counts, `rq_total`). */
  startRequest(host: Endpoint): void;
  /**
   * Ends an attempt started with `startRequest`: stats, and the outcome to outlier detection.
   * `null` releases the host without judging it (overflow, cancellation by the client).
   */
  endRequest(host: Endpoint, outcome: OutlierOutcome | null): void;
  /** Reports an outcome to outlier detection without request accounting (e.g. connect failures). */
  report(host: Endpoint, outcome: OutlierOutcome): void;
  /**
   * True when the balancer weighs endpoints by the load they report (backendUtilization): the
   * router then hands each response's `endpoint-load-metrics` header to `reportLoad`.
   */
  readonly wantsLoadReports: boolean;
  /** An ORCA load report (`endpoint-load-metrics` header value) from `host`; malformed ones are ignored. */
  reportLoad(host: Endpoint, headerValue: string): void;
  /** Applies a new config for the same cluster. Throws `ClusterConfigError` and changes nothing on bad input. */
  update(cfg: ClusterConfigInput | ClusterConfig): void;
  /** Called with each host that starts draining (pools close its idle connections). */
  onDrain(listener: (host: Endpoint) => void): () => void;
  /** Stats relative to `cluster.<name>.`, Envoy names. */
  stats(): Record<string, number>;
  /** Stops timers and drains every host; picks still work for requests finishing on it. */
  close(): void;
  readonly closed: boolean;
}

const NO_CONTEXT: PickContext = Object.freeze({});
const NO_KEY: HashKeyResult = Object.freeze({ hashKey: undefined, setCookie: undefined });
/** Original-destination hosts kept before idle ones are swept. */
const MAX_IDLE_ORIGINAL_DST_HOSTS = 1024;

export function createCluster(cfg: ClusterConfigInput | ClusterConfig, deps: ClusterDeps = {}): Cluster {
  return new ClusterImpl(withDefaults(cfg), deps.clock ?? systemClock, deps.random ?? systemRandom);
}

class ClusterImpl implements Cluster {
  readonly name: string;
  config: ClusterConfig;
  readonly limits: ResourceLimits;
  outlier: OutlierDetector | undefined;
  readonly counters = new ClusterCounters();
  inPanic = false;
  closed = false;
  tls: UpstreamTls | null = null;
  private hosts: HostImpl[] = [];
  private readonly drainingByKey = new Map<string, HostImpl>();
  private readonly originalDst = new Map<string, HostImpl>();
  private readonly drainListeners = new Set<(host: Endpoint) => void>();
  private lb: LoadBalancer = { pick: () => undefined };
  private loadReports: EndpointLoadReports | undefined;

  constructor(
    cfg: ClusterConfig,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {
    this.name = cfg.name;
    this.config = cfg;
    this.limits = new ResourceLimits(cfg.connectionPool);
    this.apply(cfg);
  }

  get endpoints(): readonly Endpoint[] {
    return this.hosts;
  }

  get draining(): readonly Endpoint[] {
    // Connections are counted by the pools and the TCP proxy, which do not tell the cluster when
    // the last one closes: the drained are swept whenever the list is read.
    this.pruneDrained();
    return [...this.drainingByKey.values()];
  }

  tlsFor(host: Endpoint): UpstreamTls | null {
    return tlsForEndpoint(this.tls, host.config);
  }

  pick(ctx: PickContext = NO_CONTEXT): Endpoint | undefined {
    const host = this.lb.pick(ctx);
    if (host === undefined) this.counters.inc('upstream_cx_none_healthy');
    else if (this.inPanic) this.counters.inc('lb_healthy_panic');
    return host;
  }

  hashKeyFor(req: HashRequest): HashKeyResult {
    const lb = this.config.lb;
    return lb.policy === 'RING_HASH' || lb.policy === 'MAGLEV' ? hashKeyFor(lb.hash, req) : NO_KEY;
  }

  startRequest(host: Endpoint): void {
    const h = host as HostImpl;
    h.activeRequests++;
    h.stats.rq_active++;
    h.stats.rq_total++;
  }

  endRequest(host: Endpoint, outcome: OutlierOutcome | null): void {
    const h = host as HostImpl;
    if (h.activeRequests > 0) h.activeRequests--;
    if (h.stats.rq_active > 0) h.stats.rq_active--;
    if (h.draining && h.activeRequests === 0 && h.stats.cx_active === 0 && this.drainingByKey.get(h.key) === h) this.drainingByKey.delete(h.key);
    if (outcome === null) return;
    if (outcome === 'timeout') h.stats.rq_timeout++;
    if (typeof outcome === 'number' ? outcome >= 500 : outcome !== 'connect-success' && outcome !== 'connect-success-final') h.stats.rq_error++;
    else h.stats.rq_success++;
    this.outlier?.report(host, outcome);
  }

  report(host: Endpoint, outcome: OutlierOutcome): void {
    this.outlier?.report(host, outcome);
  }

  get wantsLoadReports(): boolean {
    return this.loadReports !== undefined;
  }

  reportLoad(host: Endpoint, headerValue: string): void {
    const reports = this.loadReports;
    if (reports === undefined) return;
    const report = parseOrcaHeader(headerValue);
    if (report !== undefined) reports.record(host, report);
  }

  update(cfg: ClusterConfigInput | ClusterConfig): void {
    const resolved = withDefaults(cfg);
    if (resolved.name !== this.name) throw new Error(`cluster ${this.name}: update for a different cluster (${resolved.name})`);
    this.apply(resolved);
  }

  onDrain(listener: (host: Endpoint) => void): () => void {
    this.drainListeners.add(listener);
    return () => this.drainListeners.delete(listener);
  }

  stats(): Record<string, number> {
    const out: Record<string, number> = {
      membership_total: this.hosts.length,
      membership_healthy: this.hosts.filter((h) => h.healthy && !h.ejected).length,
      membership_degraded: 0,
      ...this.limits.stats(),
    };
    if (this.outlier) Object.assign(out, this.outlier.stats());
    for (const [name, value] of this.counters.entries()) out[name] = value;
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.outlier?.close();
    for (const h of this.hosts) this.startDraining(h);
  }

  /** Installs a resolved config: reconciles hosts by `ip:port`, limits, outlier detection, balancer. */
  private apply(cfg: ClusterConfig): void {
    const current = new Map(this.hosts.map((h) => [h.key, h]));
    const next: HostImpl[] = [];
    const seen = new Set<string>();
    for (const ep of cfg.endpoints) {
      const key = endpointKey(ep.address, ep.port);
      if (seen.has(key)) continue; // the first listing of an address wins
      seen.add(key);
      let host = current.get(key);
      if (host === undefined) {
        host = this.drainingByKey.get(key);
        if (host !== undefined) {
          this.drainingByKey.delete(key);
          host.draining = false;
        }
      }
      if (host === undefined) host = new HostImpl(ep);
      else host.reconfigure(ep);
      next.push(host);
    }
    this.pruneDrained();
    for (const [key, host] of current) if (!seen.has(key)) this.startDraining(host);
    this.hosts = next;
    this.config = cfg;
    this.limits.setLimits(cfg.connectionPool);
    this.applyOutlier(cfg);
    this.applyLoadReports(cfg);
    this.rebuild();
  }

  /** What endpoints reported survives a config change that keeps the policy. */
  private applyLoadReports(cfg: ClusterConfig): void {
    if (cfg.lb.policy !== 'CLIENT_SIDE_WEIGHTED_ROUND_ROBIN') {
      this.loadReports = undefined;
      return;
    }
    const { policy: _policy, ...settings } = cfg.lb;
    const resolved = { ...WRR_DEFAULTS, ...settings };
    if (this.loadReports === undefined) this.loadReports = new EndpointLoadReports(resolved, this.clock);
    else this.loadReports.setConfig(resolved);
  }

  private applyOutlier(cfg: ClusterConfig): void {
    if (cfg.outlierDetection === undefined) {
      if (this.outlier) {
        this.outlier.close();
        this.outlier = undefined;
        for (const h of this.hosts) h.ejected = false;
      }
      return;
    }
    if (this.outlier) this.outlier.updateConfig(cfg.outlierDetection);
    else if (!this.closed) this.outlier = new OutlierDetector(cfg.outlierDetection, this.clock, () => this.rebuild());
    this.outlier?.setHosts(this.hosts);
  }

  /** Recomputes the available host set and the balancer over it. */
  private rebuild(): void {
    const cfg = this.config;
    if (cfg.discovery === 'original-dst') {
      this.inPanic = false;
      this.lb = createLoadBalancer(cfg.lb, [], { random: this.random, originalDestinationHost: (a, p) => this.originalDestinationHost(a, p) });
      return;
    }
    const available = this.hosts.filter((h) => h.healthy && !h.ejected);
    // Envoy's healthy panic threshold: below it, host health is ignored rather than overloading the few left.
    this.inPanic = this.hosts.length > 0 && (100 * available.length) / this.hosts.length < cfg.healthyPanicThresholdPercent;
    this.lb = createLoadBalancer(cfg.lb, this.inPanic ? this.hosts : available, { random: this.random, loadReports: this.loadReports, clock: this.clock });
  }

  private originalDestinationHost(address: string, port: number): Endpoint {
    const key = endpointKey(address, port);
    let host = this.originalDst.get(key);
    if (host === undefined) {
      if (this.originalDst.size >= MAX_IDLE_ORIGINAL_DST_HOSTS) {
        for (const [k, h] of this.originalDst) if (h.activeRequests === 0 && h.stats.cx_active === 0) this.originalDst.delete(k);
      }
      host = new HostImpl({ address, port });
      this.originalDst.set(key, host);
    }
    return host;
  }

  private startDraining(host: HostImpl): void {
    if (host.draining) return;
    host.draining = true;
    this.drainingByKey.set(host.key, host);
    for (const listener of this.drainListeners) {
      try {
        listener(host);
      } catch {
        // A failing listener must not stop the snapshot from applying or the others from running.
      }
    }
  }

  /** Forgets drained hosts with nothing left in flight. */
  private pruneDrained(): void {
    for (const [key, h] of this.drainingByKey) if (h.activeRequests === 0 && h.stats.cx_active === 0) this.drainingByKey.delete(key);
  }
}
