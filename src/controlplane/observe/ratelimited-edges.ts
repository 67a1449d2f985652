/**
 * Which of the graph's rate-limited edges belong beside a proxy: the edges into and out of its
 * workload's node carrying 429s (RL) — a gateway's global limit shows on its calls out, a
 * sidecar's local limit on the hop into its workload — and, for the latter, the callers' edges
 * into the service of that hop, so the view names who was limited.
 */
import type { RateLimitedEdge, ServiceGraph } from '../../dashboard/sources.js';

export function rateLimitedEdgesOf(graph: ServiceGraph, node: string): RateLimitedEdge[] {
  const limited = graph.edges.filter((e) => e.rateLimited > 0);
  const limitedInto = new Set(limited.filter((e) => e.target === node && e.source.startsWith('service:')).map((e) => e.source));
  return limited
    .filter((e) => e.source === node || e.target === node || limitedInto.has(e.target))
    .map((e) => ({ id: e.id, source: e.source, target: e.target, rateLimited: e.rateLimited, rateLimitedRate: e.rateLimitedRate }));
}
