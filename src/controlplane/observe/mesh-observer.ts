/**
 * What skiffd knows of the mesh's behaviour, in one object: the trace collector, the metrics
 * scraper behind the service graph, the config with its analysis and the proxies' status. It is
 * the `DashboardSources` the dashboard reads, and what skiffd's observability endpoints answer from.
 */
import type { ConfigSource } from '../../config/source.js';
import type { DashboardSources, GraphNode, GraphQuery, ProxyRateLimits, ProxyRow, RateLimitsAnswer, ServiceGraph, TraceSpan, TraceSummary, ConfigEntry } from '../../dashboard/sources.js';
import type { ProxySnapshot } from '../../snapshot/index.js';
import { identityOfWorkload } from '../../telemetry/identity.js';
import type { ProxyStatus } from '../push/types.js';
import { configEntries } from './config-entries.js';
import { buildGraph, DEFAULT_WINDOW_SECONDS } from './graph.js';
import { MetricsScraper } from './metrics-scraper.js';
import type { MetricsScraperOptions } from './metrics-scraper.js';
import { PrometheusTargets } from './prometheus-targets.js';
import { rateLimitedEdgesOf } from './ratelimited-edges.js';
import { rateLimitListing } from './ratelimit-listing.js';
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
  /** How long reading a proxy's `/config_dump` may take. Default 2000 ms. */
  adminTimeoutMs?: number;
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

  /**
   * Each proxy's rate-limit filters from its own `/config_dump` (what `skiff proxy-config
   * ratelimit` reads), beside the 429s (RL) its workload's edges counted over the window; a proxy
   * that cannot be read says why instead of failing the whole answer.
   */
  async rateLimits(query: GraphQuery): Promise<RateLimitsAnswer> {
    const graph = await this.graph({ ...(query.windowSeconds !== undefined ? { windowSeconds: query.windowSeconds } : {}) });
    const wanted = query.namespaces !== undefined && query.namespaces.length > 0 ? new Set(query.namespaces) : null;
    const statuses = this.opts.proxies().filter((p) => wanted === null || wanted.has(proxyRow(p).namespace ?? ''));
    const proxies = await Promise.all(
      statuses.map(async (status): Promise<ProxyRateLimits> => {
        const proxy = proxyRow(status);
        const node = graphNodeOf(status, graph);
        const rateLimitedEdges = node !== null ? rateLimitedEdgesOf(graph, node) : [];
        try {
          return { proxy, node, listing: rateLimitListing(await this.configDump(proxy)), rateLimitedEdges };
        } catch (err) {
          return { proxy, node, listing: null, error: err instanceof Error ? err.message : String(err), rateLimitedEdges };
        }
      }),
    );
    return { windowSeconds: graph.windowSeconds, proxies };
  }

  private async configDump(proxy: ProxyRow): Promise<ProxySnapshot> {
    if (proxy.adminUrl === undefined) throw new Error('the proxy announced no admin URL, so its configuration cannot be read');
    const url = new URL('/config_dump', proxy.adminUrl).toString();
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.opts.adminTimeoutMs ?? 2000) });
    } catch (err) {
      throw new Error(`cannot read ${url}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!res.ok) {
      await res.arrayBuffer();
      throw new Error(`${url} answered ${res.status}`);
    }
    const snap = (await res.json()) as ProxySnapshot | null;
    if (typeof snap !== 'object' || snap === null || !Array.isArray(snap.listeners) || !Array.isArray(snap.routes)) {
      throw new Error(`the proxy has no snapshot applied yet (its status: ${proxy.status})`);
    }
    return snap;
  }

  proxies(): ProxyRow[] {
    return this.opts.proxies().map(proxyRow);
  }
}

/** A proxy as `skiff proxy-status` lists it. */
function proxyRow(p: ProxyStatus): ProxyRow {
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
}

/**
 * The graph node of a proxy's workload: the name its metrics report as `*_workload` — for a
 * Deployment's pod, the Deployment — which is not always the name the proxy announces (a pod
 * name). The name the proxy's identity gives when the graph has that node; else the graph's
 * workload node, in the proxy's namespace, whose name the pod's name extends (the longest); else,
 * without traffic, the identity's name.
 */
function graphNodeOf(p: ProxyStatus, graph: ServiceGraph): string | null {
  const announced = p.node.workload ?? p.workload;
  if (announced === undefined) return null;
  const own = p.node.workload !== undefined ? identityOfWorkload(p.node.workload).workload : announced.name;
  const ownId = `workload:${announced.namespace}/${own}`;
  if (graph.nodes.some((n) => n.id === ownId)) return ownId;
  let best: GraphNode | undefined;
  for (const n of graph.nodes) {
    if (n.kind !== 'workload' || n.namespace !== announced.namespace || n.workload === undefined) continue;
    if (announced.name.startsWith(`${n.workload}-`) && n.workload.length > (best?.workload?.length ?? -1)) best = n;
  }
  return best?.id ?? ownId;
}
