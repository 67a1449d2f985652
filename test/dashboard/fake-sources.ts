/**
 * A `DashboardSources` with fixed Bookinfo-like figures, recording what it was asked, for
 * exercising the dashboard server without a mesh.
 */
import type { ConfigEntry, DashboardSources, GraphEdge, GraphNode, GraphQuery, ProxyRow, ServiceGraph, TraceSpan, TraceSummary } from '../../src/dashboard/sources.js';

const NS = 'default';
const svc = (name: string): string => `${name}.${NS}.svc.cluster.local`;

function workload(name: string, app: string, version: string, health: GraphNode['health'] = 'healthy'): GraphNode {
  return { id: `workload:${NS}/${name}`, kind: 'workload', namespace: NS, app, version, workload: name, health };
}

function service(name: string): GraphNode {
  return { id: `service:${svc(name)}`, kind: 'service', namespace: NS, service: svc(name), health: 'healthy' };
}

function edge(source: string, target: string, rate: number, errorRate = 0): GraphEdge {
  const errors = rate * errorRate;
  return {
    id: `${source}->${target}/http`,
    source,
    target,
    protocol: 'http',
    rate,
    errorRate,
    p50Ms: 4.2,
    p99Ms: 48,
    byCode: errors > 0 ? { '200': rate - errors, '503': errors } : { '200': rate },
    byFlags: errors > 0 ? { UO: errors } : {},
    bytesPerSecond: 0,
    health: errorRate === 0 ? 'healthy' : errorRate < 0.2 ? 'degraded' : 'failing',
  };
}

export const GRAPH_NODES: GraphNode[] = [
  workload('istio-ingressgateway', 'istio-ingressgateway', 'latest'),
  service('productpage'),
  workload('productpage-v1', 'productpage', 'v1'),
  service('details'),
  workload('details-v1', 'details', 'v1'),
  service('reviews'),
  workload('reviews-v1', 'reviews', 'v1'),
  workload('reviews-v2', 'reviews', 'v2'),
  workload('reviews-v3', 'reviews', 'v3', 'degraded'),
  service('ratings'),
  workload('ratings-v1', 'ratings', 'v1'),
  { id: 'workload:other/sleep', kind: 'workload', namespace: 'other', app: 'sleep', workload: 'sleep', health: 'idle' },
];

const id = (name: string): string => GRAPH_NODES.find((n) => n.workload === name || n.service === svc(name))!.id;

export const GRAPH_EDGES: GraphEdge[] = [
  edge(id('istio-ingressgateway'), id('productpage'), 10),
  edge(id('productpage'), id('productpage-v1'), 10),
  edge(id('productpage-v1'), id('details'), 10),
  edge(id('details'), id('details-v1'), 10),
  edge(id('productpage-v1'), id('reviews'), 10, 0.05),
  edge(id('reviews'), id('reviews-v1'), 3.3),
  edge(id('reviews'), id('reviews-v2'), 3.3),
  edge(id('reviews'), id('reviews-v3'), 3.4, 0.15),
  edge(id('reviews-v2'), id('ratings'), 3.3),
  edge(id('reviews-v3'), id('ratings'), 3.4),
  edge(id('ratings'), id('ratings-v1'), 6.7),
];

export const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const T0 = 1_700_000_000_000_000;

function span(sid: string, parentId: string | undefined, serviceName: string, kind: TraceSpan['kind'], start: number, duration: number, error = false): TraceSpan {
  return {
    traceId: TRACE_ID,
    id: sid,
    ...(parentId !== undefined ? { parentId } : {}),
    name: `${serviceName.split('.')[0]}.${NS}.svc.cluster.local:9080/*`,
    kind,
    serviceName,
    timestampUs: T0 + start,
    durationUs: duration,
    error,
    tags: { 'http.method': 'GET', 'http.status_code': error ? '503' : '200' },
  };
}

export const TRACE_SPANS: TraceSpan[] = [
  span('a000000000000001', undefined, 'istio-ingressgateway.default', 'CLIENT', 0, 30_000),
  span('a000000000000002', 'a000000000000001', 'productpage.default', 'SERVER', 500, 29_000),
  span('a000000000000003', 'a000000000000002', 'productpage.default', 'CLIENT', 1_000, 5_000),
  span('a000000000000004', 'a000000000000003', 'details.default', 'SERVER', 1_500, 4_000),
  span('a000000000000005', 'a000000000000002', 'productpage.default', 'CLIENT', 7_000, 20_000),
  span('a000000000000006', 'a000000000000005', 'reviews.default', 'SERVER', 7_500, 19_000),
  span('a000000000000007', 'a000000000000006', 'reviews.default', 'CLIENT', 9_000, 10_000),
  span('a000000000000008', 'a000000000000007', 'ratings.default', 'SERVER', 9_500, 9_000),
];

export const TRACES: TraceSummary[] = [
  {
    traceId: TRACE_ID,
    rootService: 'istio-ingressgateway.default',
    rootName: 'productpage.default.svc.cluster.local:9080/*',
    startUs: T0,
    durationUs: 30_000,
    spanCount: TRACE_SPANS.length,
    services: ['details.default', 'istio-ingressgateway.default', 'productpage.default', 'ratings.default', 'reviews.default'],
    error: false,
  },
];

export const CONFIG: ConfigEntry[] = [
  {
    resource: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'reviews', namespace: NS }, spec: {} },
    messages: [{ code: 'IST0101', level: 'Error', message: 'Referenced host+subset in destinationrule not found: "reviews+v9"' }],
  },
  { resource: { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'bookinfo-gateway', namespace: NS }, spec: {} }, messages: [] },
];

export const PROXIES: ProxyRow[] = [
  { id: 'productpage-v1-abc12-x1y2z.default', kind: 'sidecar', workload: 'productpage-v1-abc12-x1y2z', namespace: NS, version: '3-deadbeef', status: 'SYNCED', adminUrl: 'http://127.0.0.1:15000' },
  { id: 'istio-ingressgateway.istio-system', kind: 'gateway', status: 'STALE' },
];

export class FakeSources implements DashboardSources {
  readonly graphQueries: GraphQuery[] = [];
  readonly traceQueries: { limit: number; service?: string }[] = [];
  /** Set to make every call throw (a source that fails). */
  failWith: Error | undefined;

  graph(query: GraphQuery): Promise<ServiceGraph> {
    this.graphQueries.push(query);
    this.check();
    const keep = (ns: string): boolean => query.namespaces === undefined || query.namespaces.includes(ns);
    const nodes = GRAPH_NODES.filter((n) => keep(n.namespace));
    const ids = new Set(nodes.map((n) => n.id));
    return Promise.resolve({
      timestamp: Date.now(),
      windowSeconds: query.windowSeconds ?? 60,
      namespaces: [...new Set(GRAPH_NODES.map((n) => n.namespace))].sort(),
      nodes,
      edges: GRAPH_EDGES.filter((e) => ids.has(e.source) && ids.has(e.target)),
    });
  }

  traces(opts: { limit: number; service?: string }): TraceSummary[] {
    this.traceQueries.push(opts);
    this.check();
    return TRACES.filter((t) => opts.service === undefined || t.services.includes(opts.service)).slice(0, opts.limit);
  }

  trace(traceId: string): TraceSpan[] | undefined {
    this.check();
    return traceId === TRACE_ID ? TRACE_SPANS : undefined;
  }

  config(): ConfigEntry[] {
    this.check();
    return CONFIG;
  }

  proxies(): ProxyRow[] {
    this.check();
    return PROXIES;
  }

  private check(): void {
    if (this.failWith !== undefined) throw this.failWith;
  }
}
