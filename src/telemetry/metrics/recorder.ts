/**
 * Turns finished requests and connections into Istio's standard metrics, filling the labels the
 * way Istio's stats filter does: reporter `source` on outbound sidecars and gateways (own identity
 * as source, the peer's from response metadata or else the endpoint's as destination), reporter
 * `destination` on inbound sidecars (the caller's identity from request metadata as source, own
 * as destination); the destination service from the cluster, else the Host header.
 */
import type { RequestRecord } from '../request-record.js';
import { UNKNOWN_PEER } from '../identity.js';
import type { PeerIdentity } from '../identity.js';
import type { RequestState } from '../request-state.js';
import { SPECIAL_ROUTES } from '../snapshot-view.js';
import type { ServiceInfo, SnapshotView } from '../snapshot-view.js';
import { dryRunLabel, type IstioMetrics, type SeriesLabels, type TcpSeries } from './istio-metrics.js';
import type { LabelParts, ServiceLabels } from './labels.js';

const UNKNOWN = 'unknown';

/** gRPC status Envoy infers from the HTTP status when the response carried none. */
function grpcFromHttp(status: number): string {
  switch (status) {
    case 400:
      return '13';
    case 401:
      return '16';
    case 403:
      return '7';
    case 404:
      return '12';
    case 429:
    case 502:
    case 503:
    case 504:
      return '14';
    default:
      return '2';
  }
}

/** Marks a TCP record whose connection was already counted as opened. */
export class TcpOpenState {
  constructor(readonly series: TcpSeries | null) {}
}

export class MetricsRecorder {
  /** Services named by a Host header (no cluster metadata), by header value. */
  private readonly byAuthority = new Map<string, ServiceLabels>();

  constructor(
    readonly metrics: IstioMetrics,
    private readonly parts: LabelParts,
  ) {}

  /** The destination service of a record, with Istio's fallbacks. */
  serviceOf(view: SnapshotView, rec: RequestRecord): ServiceInfo | undefined {
    const cluster = rec.upstreamCluster === '' ? undefined : view.clusters.get(rec.upstreamCluster);
    const own = cluster?.service;
    if (own !== undefined && own !== null) return own;
    if (rec.routeName !== '') return view.routeServices.get(rec.routeName);
    // Answered before routing on a sidecar's inbound listener: the service that listener serves.
    return rec.direction === 'inbound' && !view.gateway ? view.inboundListenerServices.get(rec.listener) : undefined;
  }

  private serviceLabels(view: SnapshotView, rec: RequestRecord, svc: ServiceInfo | undefined, reporter: 'source' | 'destination'): ServiceLabels {
    if (svc?.hostKnown === true) return svc;
    const host = rec.authority;
    const special = SPECIAL_ROUTES.get(rec.routeName) ?? (svc !== undefined && svc.name !== '' ? svc.name : undefined);
    if (host === '' && special === undefined) {
      const fallback = reporter === 'destination' ? view.local.canonicalService : UNKNOWN;
      return this.authority(fallback, fallback);
    }
    return this.authority(host === '' ? UNKNOWN : host, special ?? host);
  }

  private authority(host: string, name: string): ServiceLabels {
    const key = host === name ? host : `${host}\u0000${name}`;
    let s = this.byAuthority.get(key);
    if (s === undefined) {
      if (this.byAuthority.size >= 1024) this.byAuthority.clear();
      s = Object.freeze({ host, name });
      this.byAuthority.set(key, s);
    }
    return s;
  }

  /** The label set of a record. `peer` is what metadata said (null = nothing). */
  labelsOf(view: SnapshotView, rec: RequestRecord, peer: PeerIdentity | null): SeriesLabels {
    const parts = this.parts;
    const peerPrincipal = rec.peerPrincipal ?? UNKNOWN;
    const localPrincipal = rec.localPrincipal ?? UNKNOWN;
    const svc = this.serviceOf(view, rec);
    if (rec.direction === 'inbound' && !view.gateway) {
      const source = peer ?? UNKNOWN_PEER;
      return {
        reporter: 'destination',
        source: parts.identity('source', source, peerPrincipal),
        destination: parts.identity('destination', view.local, localPrincipal),
        service: parts.service(this.serviceLabels(view, rec, svc, 'destination'), view.local.namespace),
        protocol: rec.kind === 'tcp' ? 'tcp' : 'http',
        responseCode: rec.status,
        grpcStatus: '',
        flags: rec.flags,
        security: rec.peerPrincipal !== undefined && rec.localPrincipal !== undefined ? 'mutual_tls' : 'none',
        dryRun: dryRunLabel(rec.authz?.dryRun),
      };
    }
    // Istio's client-side fallback: the endpoint's identity when the response said nothing.
    const dest = peer ?? view.clusters.get(rec.upstreamCluster)?.endpoints.get(rec.upstreamHost) ?? UNKNOWN_PEER;
    return {
      reporter: 'source',
      source: parts.identity('source', view.local, localPrincipal),
      destination: parts.identity('destination', dest, peerPrincipal),
      service: parts.service(this.serviceLabels(view, rec, svc, 'source'), dest.namespace),
      protocol: rec.kind === 'tcp' ? 'tcp' : 'http',
      responseCode: rec.status,
      grpcStatus: '',
      flags: rec.flags,
      security: 'unknown',
      dryRun: dryRunLabel(rec.authz?.dryRun),
    };
  }

  /** Counts a finished HTTP request. */
  recordHttp(rec: RequestRecord, state: RequestState): void {
    const labels = this.labelsOf(state.view, rec, state.peer);
    if (state.grpc) {
      labels.protocol = 'grpc';
      labels.grpcStatus = state.grpcStatus !== '' ? state.grpcStatus : rec.status === 0 ? '' : grpcFromHttp(rec.status);
    }
    this.metrics.recordRequest(labels, rec.durationMs, state.requestHeadBytes + rec.bytesReceived, state.responseHeadBytes + rec.bytesSent);
  }

  /** Counts a TCP connection as opened; the returned state goes on the record for its close. */
  tcpOpened(view: SnapshotView, rec: RequestRecord): TcpOpenState {
    const series = this.metrics.tcpSeries(this.labelsOf(view, rec, null));
    if (series !== null) series.opened++;
    return new TcpOpenState(series);
  }

  /** Counts a closed TCP connection and its bytes (and its opening, when that was not counted). */
  tcpClosed(view: SnapshotView, rec: RequestRecord, open: TcpOpenState | null): void {
    const series = open !== null ? open.series : this.tcpOpened(view, rec).series;
    if (series === null) return;
    series.closed++;
    series.sent += rec.bytesSent;
    series.received += rec.bytesReceived;
  }
}
