/**
 * The span a proxy reports for one request, built from its record the way Envoy's tracer fills
 * it: CLIENT on outbound sidecars and gateways, SERVER on inbound sidecars, named after the
 * destination service (`<host>:<port>/*`, Istio's route decorator) or else `<authority><path>`,
 * with Envoy's and Istio's tags.
 */
import type { RequestRecord } from '../request-record.js';
import { formatResponseFlags } from '../response-flags.js';
import type { RequestState } from '../request-state.js';
import type { ServiceInfo } from '../snapshot-view.js';

export interface FinishedSpan {
  readonly traceId: string;
  readonly id: string;
  readonly parentId: string | undefined;
  readonly name: string;
  readonly kind: 'CLIENT' | 'SERVER';
  /** Start, microseconds since the epoch. */
  readonly timestampUs: number;
  readonly durationUs: number;
  /** `<app>.<namespace>` of the reporting proxy. */
  readonly serviceName: string;
  /** The upstream host the request went to, when one was reached. */
  readonly remote: { ip: string; port: number } | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly error: boolean;
}

function splitHostPort(hostPort: string): { ip: string; port: number } | undefined {
  const i = hostPort.lastIndexOf(':');
  if (i <= 0) return undefined;
  const port = Number(hostPort.slice(i + 1));
  const ip = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
  return Number.isInteger(port) ? { ip, port } : undefined;
}

function pathOnly(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}

/** The span of a finished HTTP request whose state says it is sampled. */
export function buildSpan(rec: RequestRecord, state: RequestState, service: ServiceInfo | undefined): FinishedSpan | null {
  const ctx = state.span;
  if (ctx === null) return null;
  const view = state.view;
  const local = view.local;
  const name = service !== undefined && service.hostKnown && service.port !== '' ? `${service.host}:${service.port}/*` : `${rec.authority}${pathOnly(rec.path)}`;
  // Envoy marks a span failed when no response went out or it was a 5xx.
  const error = rec.status === 0 || rec.status >= 500;
  const tags: Record<string, string> = {
    component: 'proxy',
    node_id: view.nodeId,
    'guid:x-request-id': rec.requestId,
    'http.url': `${state.scheme}://${rec.authority}${rec.path}`,
    'http.method': rec.method,
    'http.protocol': rec.protocol,
    'http.status_code': String(rec.status),
    user_agent: rec.userAgent === '' ? '-' : rec.userAgent,
    'peer.address': rec.downstreamRemoteAddress,
    downstream_cluster: '-',
    request_size: String(rec.bytesReceived),
    response_size: String(rec.bytesSent),
    response_flags: formatResponseFlags(rec.flags),
    upstream_cluster: rec.upstreamCluster === '' ? '-' : rec.upstreamCluster,
    'upstream_cluster.name': rec.upstreamCluster === '' ? '-' : rec.upstreamCluster,
    'istio.canonical_service': local.canonicalService,
    'istio.canonical_revision': local.canonicalRevision,
    'istio.namespace': local.namespace,
    'istio.mesh_id': 'cluster.local',
  };
  if (error) tags.error = 'true';
  return {
    traceId: ctx.traceId,
    id: ctx.spanId,
    parentId: ctx.parentId,
    name,
    kind: rec.direction === 'inbound' && !view.gateway ? 'SERVER' : 'CLIENT',
    timestampUs: state.startUs,
    durationUs: Math.max(1, Math.round(rec.durationMs * 1000)),
    serviceName: view.serviceName,
    remote: rec.upstreamHost === '' ? undefined : splitHostPort(rec.upstreamHost),
    tags,
    error,
  };
}
