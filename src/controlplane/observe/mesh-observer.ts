/**
 * What skiffd knows of the mesh's behaviour, in one object: the trace collector, the metrics
 * scraper behind the service graph, the config with its analysis and the proxies' status. It is
 * the `DashboardSources` the dashboard reads, and what skiffd's observability endpoints answer from.
 */
import type { ConfigSource } from '../../config/source.js';
import type { DashboardSources, GraphQuery, ProxyRow, ServiceGraph, TraceSpan, TraceSummary, ConfigEntry } from '../../dashboard/sources.js';
import type { ProxyStatus } from '../push/types.js';
import { configEntries } from './config-entries.js';
import { buildGraph, DEFAULT_WINDOW_SECONDS } from './graph.js';
import { MetricsScraper } from './metrics-scraper.js';
import type { MetricsScraperOptions } from './metrics-scraper.js';
import { PrometheusTargets } from './prometheus-targets.js';
import { TraceCollector } from './trace-collector.js';
import type { TraceCollectorOptions } from './trace-collector.js';

export interface MeshObserverOptions {
  /** The proxies connected now (the push server's status). */
  proxies: () => readonly ProxyStatus[];
  /** The config store, for `config()`. */
  store: Pick<ConfigSource, 'list'>;
  /** Where `prometheus/targets.json` and `prometheus/prometheus.yml` go; absent: not written. */
  stateDir?: string;
  /** Metrics scrape interval. Default 5000 ms. */
  scrapeIntervalMs?: number;
  /** Longest graph window, seconds. Default 600. */
  maxWindowSeconds?: number;
  traces?: TraceCollectorOptions;
  /** How often the Prometheus target list is brought up to date. Default 1000 ms. */
  targetsIntervalMs?: number;
  log?: (line: string) => void;
  now?: () => number;
  /** For tests: how a proxy's metrics are read. */
  fetchDump?: MetricsScraperOptions['fetchDump'];
}

export class MeshObserver implements DashboardSources {
  readonly collector: TraceCollector;
  readonly scraper: MetricsScraper;
  readonly targets: PrometheusTargets | null;
  private targetsTimer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: MeshObserverOptions) {
    this.now = opts.now ?? Date.now;
    this.collector = new TraceCollector(opts.traces);
    this.scraper = new MetricsScraper({
      proxies: opts.proxies,
      now: this.now,
      ...(opts.scrapeIntervalMs !== undefined ? { intervalMs: opts.scrapeIntervalMs } : {}),
      ...(opts.maxWindowSeconds !== undefined ? { maxWindowSeconds: opts.maxWindowSeconds } : {}),
      ...(opts.fetchDump !== undefined ? { fetchDump: opts.fetchDump } : {}),
      ...(opts.log !== undefined ? { log: opts.log } : {}),
    });
    this.targets = opts.stateDir !== undefined ? new PrometheusTargets(opts.stateDir, opts.log) : null;
  }

  /** Starts scraping and keeping the Prometheus target list. */
  start(): void {
    this.scraper.start();
    if (this.targets !== null && this.targetsTimer === null) {
      const targets = this.targets;
      void targets.update(this.opts.proxies());
      this.targetsTimer = setInterval(() => void targets.update(this.opts.proxies()), this.opts.targetsIntervalMs ?? 1000);
      this.targetsTimer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.targetsTimer !== null) clearInterval(this.targetsTimer);
    this.targetsTimer = null;
    await this.scraper.stop();
    await this.targets?.idle();
  }

  /** The graph over `windowSeconds` (default 60, at most the longest kept); reads the proxies first when the last reading is over a second old. */
  async graph(query: GraphQuery): Promise<ServiceGraph> {
    const asked = query.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
    if (!Number.isFinite(asked) || asked <= 0) throw new RangeError(`window must be a positive number of seconds, got ${String(query.windowSeconds)}`);
    const windowSeconds = Math.min(asked, this.scraper.maxWindowSeconds);
    await this.scraper.refresh(1000);
    return buildGraph(this.scraper.window(windowSeconds), query, windowSeconds, this.now());
  }

  traces(opts: { limit: number; service?: string }): TraceSummary[] {
    return this.collector.summaries(opts);
  }

  trace(traceId: string): TraceSpan[] | undefined {
    return this.collector.trace(traceId);
  }

  config(): ConfigEntry[] {
    return configEntries(this.opts.store.list());
  }

  proxies(): ProxyRow[] {
    return this.opts.proxies().map((p) => {
      const workload = p.workload ?? p.node.workload;
      return {
        id: p.id,
        kind: p.node.kind,
        ...(workload !== undefined ? { workload: workload.name, namespace: workload.namespace } : {}),
        ...(p.ackedVersion !== null ? { version: p.ackedVersion } : {}),
        status: p.state,
        ...(p.adminUrl !== undefined ? { adminUrl: p.adminUrl } : {}),
        ...(p.metricsUrl !== undefined ? { metricsUrl: p.metricsUrl } : {}),
      };
    });
  }
}
