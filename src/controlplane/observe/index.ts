/**
 * skiffd's observability: the embedded trace collector, metrics aggregation into the service
 * graph, the Prometheus target list, and the `DashboardSources` the dashboard reads.
 */
import { MeshObserver } from './mesh-observer.js';
import type { MeshObserverOptions } from './mesh-observer.js';

export { MeshObserver } from './mesh-observer.js';
export type { MeshObserverOptions } from './mesh-observer.js';
export { TraceCollector, SpanBatchError, summarize } from './trace-collector.js';
export { MetricsScraper, dumpUrlOf } from './metrics-scraper.js';
export { buildGraph, healthOf, DEFAULT_WINDOW_SECONDS } from './graph.js';
export { configEntries } from './config-entries.js';
export { PrometheusTargets, prometheusConfig, targetGroups, targetsFile } from './prometheus-targets.js';
export { handleObserveRequest, GRAPH_PATH, SPANS_PATH, TRACES_PATH } from './api-routes.js';

/** A mesh observer; `start()` begins scraping and keeping the Prometheus targets, `stop()` ends it. */
export function createMeshObserver(opts: MeshObserverOptions): MeshObserver {
  return new MeshObserver(opts);
}
