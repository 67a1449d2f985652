/**
 * Maps cluster names to clusters and applies a snapshot's cluster list atomically: every cluster
 * is validated first (any error rejects the whole list and changes nothing), then clusters are
 * updated in place (keeping host state), added, or closed and removed, and the map is swapped.
 */
import type { ClusterConfig, ClusterConfigInput } from '../../snapshot/index.js';
import { ClusterConfigError, withDefaults } from '../../snapshot/index.js';
import { createCluster, type Cluster, type ClusterDeps } from './cluster.js';

export interface ApplyResult {
  added: string[];
  updated: string[];
  removed: string[];
}

export interface ClusterManager {
  get(name: string): Cluster | undefined;
  /** The current map; a new map object after each `apply` that changed something. */
  readonly clusters: ReadonlyMap<string, Cluster>;
  /** Installs the snapshot's clusters. Throws `ClusterConfigError` (nothing applied) on bad input. */
  apply(configs: readonly (ClusterConfigInput | ClusterConfig)[]): ApplyResult;
  /** Every cluster's stats under `cluster.<name>.` plus `cluster_manager.*`, Envoy names. */
  stats(): Record<string, number>;
  close(): void;
}

export function createClusterManager(deps: ClusterDeps = {}): ClusterManager {
  let clusters = new Map<string, Cluster>();
  const totals = { cluster_added: 0, cluster_modified: 0, cluster_removed: 0 };

  return {
    get: (name) => clusters.get(name),
    get clusters() {
      return clusters;
    },
    apply(configs) {
      const resolved = new Map<string, ClusterConfig>();
      configs.forEach((input, i) => {
        let cfg: ClusterConfig;
        try {
          cfg = withDefaults(input);
        } catch (err) {
          if (err instanceof ClusterConfigError) throw new ClusterConfigError(`clusters[${i}].${err.path}`, err.message.slice(err.path.length + 2));
          throw err;
        }
        if (resolved.has(cfg.name)) throw new ClusterConfigError(`clusters[${i}].name`, `duplicate cluster name ${JSON.stringify(cfg.name)}`);
        resolved.set(cfg.name, cfg);
      });
      const result: ApplyResult = { added: [], updated: [], removed: [] };
      const next = new Map<string, Cluster>();
      for (const [name, cfg] of resolved) {
        const existing = clusters.get(name);
        if (existing === undefined) {
          next.set(name, createCluster(cfg, deps));
          result.added.push(name);
        } else {
          if (JSON.stringify(existing.config) !== JSON.stringify(cfg)) {
            existing.update(cfg);
            result.updated.push(name);
          }
          next.set(name, existing);
        }
      }
      for (const [name, cluster] of clusters) {
        if (!resolved.has(name)) {
          cluster.close();
          result.removed.push(name);
        }
      }
      totals.cluster_added += result.added.length;
      totals.cluster_modified += result.updated.length;
      totals.cluster_removed += result.removed.length;
      clusters = next;
      return result;
    },
    stats() {
      const out: Record<string, number> = {
        'cluster_manager.active_clusters': clusters.size,
        'cluster_manager.cluster_added': totals.cluster_added,
        'cluster_manager.cluster_modified': totals.cluster_modified,
        'cluster_manager.cluster_removed': totals.cluster_removed,
      };
      for (const [name, cluster] of clusters) {
        for (const [stat, value] of Object.entries(cluster.stats())) out[`cluster.${name}.${stat}`] = value;
      }
      return out;
    },
    close() {
      for (const cluster of clusters.values()) cluster.close();
      clusters = new Map();
    },
  };
}
