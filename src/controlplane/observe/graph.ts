/**
 * The service graph from the standard metrics over a window, built as Kiali builds its
 * versioned-app graph: requests the destination's proxy reported (`reporter="destination"`) make
 * an edge from the calling workload to the service and one from the service to the workload that
 * answered. Requests only the caller's proxy saw (`reporter="source"`) add what never reached a
 * mesh workload: local replies such as injected faults (FI), circuit breaking (UO) or no route
 * (NR), and calls to destinations outside the mesh. Requests a rate limit answered (429, flag RL —
 * a sidecar's local limit reports them as the destination, a gateway's as the source) are their
 * own category on each edge (`rateLimitedRate`), not errors of the destination; so are requests
 * authorization denied (`denied`, `denials`: see `denialOf`).
 */
import type { EdgeDenial, GraphEdge, GraphNode, GraphQuery, ServiceGraph } from '../../dashboard/sources.js';
import { DURATION_BUCKETS_MS } from '../../telemetry/metrics/histogram.js';
import { parseLabels, quantile } from './metrics-history.js';
import type { WindowTotals } from './metrics-history.js';

export const DEFAULT_WINDOW_SECONDS = 60;

/** Response flags of replies the calling proxy made itself: the destination's proxy never saw the request. */
const LOCAL_REPLY_FLAGS = new Set(['FI', 'UO', 'NR', 'UH', 'UF', 'NC', 'RL', 'UAEX']);

const UNKNOWN = 'unknown';

type Health = GraphNode['health'];

/** Kiali's thresholds: under 0.1 % errors healthy, under 20 % degraded, else failing. */
export function healthOf(requests: number, errors: number): Health {
  if (requests <= 0) return 'idle';
  const rate = errors / requests;
  return rate < 0.001 ? 'healthy' : rate < 0.2 ? 'degraded' : 'failing';
}

interface EdgeTotals {
  source: string;
  target: string;
  protocol: GraphEdge['protocol'];
  requests: number;
  errors: number;
  /** Requests a rate limit answered (429, flag RL). */
  rateLimited: number;
  byCode: Map<string, number>;
  byFlags: Map<string, number>;
  buckets: number[];
  connections: number;
  bytes: number;
  /** Requests (connections) the destination's proxy received over mutual TLS. */
  secured: number;
  /** Requests authorization denied, by deciding proxy, caller and filter. */
  denials: Map<string, EdgeDenial>;
}

class GraphBuilder {
  readonly nodes = new Map<string, GraphNode>();
  readonly edges = new Map<string, EdgeTotals>();

  workload(l: Record<string, string>, side: 'source' | 'destination'): string {
    const name = l[`${side}_workload`] ?? UNKNOWN;
    const namespace = l[`${side}_workload_namespace`] ?? UNKNOWN;
    if (name === UNKNOWN || name === '') return this.unknown();
    const id = `workload:${namespace}/${name}`;
    if (!this.nodes.has(id)) {
      const app = l[`${side}_app`] !== undefined && l[`${side}_app`] !== UNKNOWN ? l[`${side}_app`] : l[`${side}_canonical_service`];
      const version = l[`${side}_version`] !== undefined && l[`${side}_version`] !== UNKNOWN ? l[`${side}_version`] : l[`${side}_canonical_revision`];
      this.nodes.set(id, {
        id,
        kind: 'workload',
        namespace,
        workload: name,
        ...(app !== undefined && app !== UNKNOWN ? { app } : {}),
        ...(version !== undefined && version !== UNKNOWN ? { version } : {}),
        health: 'idle',
      });
    }
    return id;
  }

  service(l: Record<string, string>): string {
    const host = l.destination_service ?? '';
    if (host === '' || host === UNKNOWN) return this.unknown();
    const id = `service:${host}`;
    if (!this.nodes.has(id)) {
      const namespace = l.destination_service_namespace ?? (host.split('.')[1] || UNKNOWN);
      this.nodes.set(id, { id, kind: 'service', namespace, service: host, health: 'idle' });
    }
    return id;
  }

  unknown(): string {
    if (!this.nodes.has(UNKNOWN)) this.nodes.set(UNKNOWN, { id: UNKNOWN, kind: 'unknown', namespace: UNKNOWN, health: 'idle' });
    return UNKNOWN;
  }

  edge(source: string, target: string, protocol: GraphEdge['protocol']): EdgeTotals {
    const id = `${source}->${target}/${protocol}`;
    let e = this.edges.get(id);
    if (e === undefined) {
      e = { source, target, protocol, requests: 0, errors: 0, rateLimited: 0, byCode: new Map(), byFlags: new Map(), buckets: [], connections: 0, bytes: 0, secured: 0, denials: new Map() };
      this.edges.set(id, e);
    }
    return e;
  }
}

function isError(l: Record<string, string>): boolean {
  const code = Number(l.response_code);
  if (l.request_protocol === 'grpc') {
    const g = l.grpc_response_status ?? '';
    if (g !== '' && g !== '0') return true;
  }
  return code >= 500 || code === 0;
}

/** A rate limit's answer (429 with flag RL, local or global): its own category, never an error. */
function isRateLimited(l: Record<string, string>): boolean {
  const flags = l.response_flags ?? '-';
  return l.response_code === '429' && flags !== '-' && flags.split(',').includes('RL');
}

/**
 * Which filter denied the request, from the standard labels, or null. ext_authz marks its denials
 * with flag UAEX (whatever status the check service chose). Envoy's RBAC filter sets no response
 * flag: its denial is a 403 (gRPC: PERMISSION_DENIED, 7) with flags `-`, and the deciding policy
 * only goes into the response code details, which the metrics do not carry. A 403 the application
 * answered itself looks the same in Istio's metrics, so it is counted too; `skiff authz explain`
 * tells them apart.
 */
export function denialOf(l: Record<string, string>): EdgeDenial['by'] | null {
  const flags = l.response_flags ?? '-';
  if (flags !== '-') return flags.split(',').includes('UAEX') ? 'ext_authz' : null;
  if (l.request_protocol === 'grpc') return l.grpc_response_status === '7' ? 'rbac' : null;
  return l.response_code === '403' ? 'rbac' : null;
}

/** The denial a report counts: the proxy that decided is the destination's, or for what only a source saw (a gateway's own policy), the source's. */
function denialEntry(l: Record<string, string>, by: EdgeDenial['by']): EdgeDenial {
  const side = l.reporter === 'destination' ? 'destination' : 'source';
  return {
    by,
    workload: l[`${side}_workload`] ?? UNKNOWN,
    namespace: l[`${side}_workload_namespace`] ?? UNKNOWN,
    principal: side === 'destination' ? (l.source_principal ?? UNKNOWN) : UNKNOWN,
    requests: 0,
  };
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** True for a request the destination's proxy never saw (so only the source reported it). */
function onlySourceSaw(l: Record<string, string>): boolean {
  if ((l.destination_workload ?? UNKNOWN) === UNKNOWN) return true;
  const flags = l.response_flags ?? '-';
  return flags !== '-' && flags.split(',').some((f) => LOCAL_REPLY_FLAGS.has(f));
}

function countHttp(b: GraphBuilder, l: Record<string, string>, requests: number, buckets: readonly number[]): void {
  const protocol = l.request_protocol === 'grpc' ? 'grpc' : 'http';
  const source = b.workload(l, 'source');
  const service = b.service(l);
  const hops: [string, string][] = [[source, service]];
  if ((l.destination_workload ?? UNKNOWN) !== UNKNOWN) hops.push([service, b.workload(l, 'destination')]);
  const denial = denialOf(l);
  const error = denial === null && isError(l);
  const limited = isRateLimited(l);
  const secured = l.connection_security_policy === 'mutual_tls';
  const denied = denial === null ? null : denialEntry(l, denial);
  const deniedKey = denied === null ? '' : denialKey(denied);
  for (const [from, to] of hops) {
    const e = b.edge(from, to, protocol);
    e.requests += requests;
    if (secured) e.secured += requests;
    if (error) e.errors += requests;
    if (limited) e.rateLimited += requests;
    if (denied !== null) {
      let d = e.denials.get(deniedKey);
      if (d === undefined) e.denials.set(deniedKey, (d = { ...denied }));
      d.requests += requests;
    }
    add(e.byCode, l.response_code ?? '0', requests);
    const flags = l.response_flags ?? '-';
    if (flags !== '-') add(e.byFlags, flags, requests);
    buckets.forEach((n, i) => (e.buckets[i] = (e.buckets[i] ?? 0) + n));
  }
}

function countTcp(b: GraphBuilder, l: Record<string, string>, opened: number, bytes: number): void {
  const source = b.workload(l, 'source');
  const service = b.service(l);
  const hops: [string, string][] = [[source, service]];
  if ((l.destination_workload ?? UNKNOWN) !== UNKNOWN) hops.push([service, b.workload(l, 'destination')]);
  for (const [from, to] of hops) {
    const e = b.edge(from, to, 'tcp');
    e.connections += opened;
    if (l.connection_security_policy === 'mutual_tls') e.secured += opened;
    e.bytes += bytes;
  }
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

/** The graph of the window's figures, limited to `query.namespaces` (and the nodes their edges reach). */
export function buildGraph(totals: WindowTotals, query: GraphQuery, windowSeconds: number, now: number): ServiceGraph {
  const b = new GraphBuilder();
  for (const [text, c] of totals.http) {
    const l = parseLabels(text);
    if (l.reporter === 'destination' || (l.reporter === 'source' && onlySourceSaw(l))) countHttp(b, l, c.requests, c.durationBuckets);
  }
  for (const [text, c] of totals.tcp) {
    const l = parseLabels(text);
    if (l.reporter === 'destination' || (l.reporter === 'source' && onlySourceSaw(l))) countTcp(b, l, c.opened, c.bytes);
  }

  const wanted = query.namespaces !== undefined && query.namespaces.length > 0 ? new Set(query.namespaces) : null;
  const inScope = (id: string): boolean => wanted === null || wanted.has(b.nodes.get(id)?.namespace ?? '');
  const edges: GraphEdge[] = [];
  const received = new Map<string, { requests: number; errors: number }>();
  const sends = new Set<string>();
  for (const [id, e] of b.edges) {
    if (!inScope(e.source) && !inScope(e.target)) continue;
    const http = e.protocol !== 'tcp';
    const rate = (http ? e.requests : e.connections) / windowSeconds;
    const denials = [...e.denials.values()].sort((x, y) => y.requests - x.requests || (denialKey(x) < denialKey(y) ? -1 : 1));
    const denied = denials.reduce((n, d) => n + d.requests, 0);
    edges.push({
      id,
      source: e.source,
      target: e.target,
      protocol: e.protocol,
      rate: round(rate),
      errorRate: http && e.requests > 0 ? round(e.errors / e.requests) : 0,
      rateLimitedRate: http && e.requests > 0 ? round(e.rateLimited / e.requests) : 0,
      rateLimited: e.rateLimited,
      denied,
      deniedRate: http && e.requests > 0 ? round(denied / e.requests) : 0,
      denials,
      p50Ms: http ? nullableRound(quantile(0.5, DURATION_BUCKETS_MS, e.buckets)) : null,
      p99Ms: http ? nullableRound(quantile(0.99, DURATION_BUCKETS_MS, e.buckets)) : null,
      byCode: http ? Object.fromEntries([...e.byCode].map(([k, v]) => [k, round(v / windowSeconds)])) : {},
      byFlags: Object.fromEntries([...e.byFlags].map(([k, v]) => [k, round(v / windowSeconds)])),
      bytesPerSecond: http ? 0 : round(e.bytes / windowSeconds),
      mtlsShare: (http ? e.requests : e.connections) > 0 ? round(e.secured / (http ? e.requests : e.connections)) : 0,
      health: http ? healthOf(e.requests, e.errors) : e.connections > 0 || e.bytes > 0 ? 'healthy' : 'idle',
    });
    const r = received.get(e.target) ?? { requests: 0, errors: 0 };
    r.requests += http ? e.requests : e.connections;
    if (http) r.errors += e.errors;
    received.set(e.target, r);
    sends.add(e.source);
  }
  const used = new Set(edges.flatMap((e) => [e.source, e.target]));
  const nodes: GraphNode[] = [];
  for (const n of b.nodes.values()) {
    if (!used.has(n.id)) continue;
    const r = received.get(n.id);
    // A node that only sends (the ingress gateway, a client) is judged by nothing it received.
    const health = r !== undefined ? healthOf(r.requests, r.errors) : sends.has(n.id) ? 'healthy' : 'idle';
    nodes.push({ ...n, health });
  }
  nodes.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  edges.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const namespaces = wanted !== null ? [...wanted] : [...new Set(nodes.filter((n) => n.kind !== 'unknown').map((n) => n.namespace))].sort();
  return { timestamp: totals.newest > 0 ? totals.newest : now, windowSeconds, namespaces, nodes, edges };
}

function denialKey(d: EdgeDenial): string {
  return `${d.by} ${d.namespace}/${d.workload} ${d.principal}`;
}

function nullableRound(n: number | null): number | null {
  return n === null ? null : round(n);
}
