/**
 * Runs requests against a translated snapshot the way the proxy would route them: the snapshot is
 * checked and compiled by the proxy's own code, then a request is matched against a listener's
 * route table. Tests assert the behaviour (which cluster, which fault, what status), not shapes.
 */
import assert from 'node:assert/strict';
import { translate } from '../../../src/controlplane/translate/index.js';
import type { SelectedRoute } from '../../../src/proxy/http/route/selected.js';
import type { RouteRequest } from '../../../src/proxy/http/route/request.js';
import { checkSnapshot, type CheckedSnapshot } from '../../../src/proxy/snapshot.js';
import type { ClusterConfig } from '../../../src/snapshot/index.js';
import type { TranslateCase } from './cases.js';

export interface Simulation {
  checked: CheckedSnapshot;
  warnings: string[];
  /** The route a request takes on a listener (default: the sidecar's outbound listener), or null for 404 NR. */
  route(req: SimRequest, listener?: string): SelectedRoute | null;
  /** Cluster names of the route's destinations with their weights; `{}` when nothing routes. */
  destinations(req: SimRequest, listener?: string): Record<string, number>;
  /** The single cluster a request goes to (fails when it is split). */
  cluster(req: SimRequest, listener?: string): string | undefined;
  hasCluster(name: string): boolean;
  /** A cluster of the snapshot with every default resolved (as the proxy applies it). */
  clusterConfig(name: string): ClusterConfig | undefined;
}

export interface SimRequest {
  authority: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
}

export function simulate(c: TranslateCase, override: Partial<Pick<TranslateCase, 'config' | 'proxy' | 'mesh'>> = {}): Simulation {
  const warnings: string[] = [];
  const mesh = override.mesh ?? c.mesh;
  const snapshot = translate({
    config: override.config ?? c.config,
    registry: c.registry,
    proxy: override.proxy ?? c.proxy,
    ...(mesh ? { mesh } : {}),
    warn: (m) => warnings.push(m),
  });
  const checked = checkSnapshot(JSON.parse(JSON.stringify(snapshot)));
  const route = (req: SimRequest, listener = 'virtualOutbound'): SelectedRoute | null => {
    const l = checked.snapshot.listeners.find((x) => x.name === listener);
    assert.ok(l?.http !== undefined, `no HTTP listener ${listener} in the snapshot`);
    const table = checked.routeTables.get(l.http.routeConfig);
    assert.ok(table !== undefined);
    const headers = new Map(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const rr: RouteRequest = {
      method: req.method ?? 'GET',
      scheme: 'http',
      authority: req.authority,
      path: req.path ?? (req.method === 'CONNECT' ? req.authority : '/'),
      port: l.port,
      headers: { get: (n) => headers.get(n), has: (n) => headers.has(n) },
    };
    return table.select(rr);
  };
  const destinations = (req: SimRequest, listener?: string): Record<string, number> => {
    const r = route(req, listener);
    return Object.fromEntries((r?.destinations ?? []).map((d) => [d.cluster, d.weight]));
  };
  return {
    checked,
    warnings,
    route,
    destinations,
    cluster(req, listener) {
      const d = Object.keys(destinations(req, listener));
      assert.ok(d.length <= 1, `request to ${req.authority} is split over ${d.join(', ')}`);
      return d[0];
    },
    hasCluster: (name) => checked.snapshot.clusters.some((x) => x.name === name),
    clusterConfig: (name) => (checked.snapshot.clusters as ClusterConfig[]).find((x) => x.name === name),
  };
}
