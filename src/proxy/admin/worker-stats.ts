/**
 * `/stats` of a proxy with several workers: one figure per name for the whole proxy, as Envoy,
 * whose worker threads share one stats store, shows it. Each worker here keeps its own, so they
 * are combined by what the figure is:
 *
 * - what the workers count or hold (requests, connections, bytes, active requests): summed, as
 *   `/stats/prometheus` sums the Istio metrics;
 * - what describes the config or the process (`server.*`, `cluster_manager.*`,
 *   `listener_manager.*`, a cluster's `membership_*`), the same in every worker: the serving
 *   worker's own;
 * - a circuit breaker's `*_open` flag and a cluster's `outlier_detection.ejections_active`: the
 *   largest (open, or ejecting, in any worker); its `remaining_*`: the smallest (the worker
 *   closest to its limit).
 */

type Combine = 'sum' | 'own' | 'max' | 'min';

function combineOf(name: string): Combine {
  if (/^(?:server|cluster_manager|listener_manager)\./.test(name) || /\.membership_[a-z]+$/.test(name)) return 'own';
  if (/\.circuit_breakers\.[^.]+\.[a-z_]+_open$/.test(name) || name.endsWith('.outlier_detection.ejections_active')) return 'max';
  if (/\.circuit_breakers\.[^.]+\.remaining_[a-z_]+$/.test(name)) return 'min';
  return 'sum';
}

/** The serving worker's stats (`own`) combined with every other worker's. */
export function combineWorkerStats(own: ReadonlyMap<string, number>, others: readonly ReadonlyMap<string, number>[]): Map<string, number> {
  const out = new Map(own);
  for (const worker of others) {
    for (const [name, value] of worker) {
      const current = out.get(name);
      if (current === undefined) {
        out.set(name, value);
        continue;
      }
      switch (combineOf(name)) {
        case 'sum':
          out.set(name, current + value);
          break;
        case 'max':
          out.set(name, Math.max(current, value));
          break;
        case 'min':
          out.set(name, Math.min(current, value));
          break;
        case 'own':
          break;
      }
    }
  }
  return out;
}
