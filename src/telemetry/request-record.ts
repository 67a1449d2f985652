/**
 * What the proxy records about every finished request or TCP connection: the facts access logs,
 * metrics and traces are built from. One plain object per request, handed to a hook; and the
 * hooks through which telemetry reads and rewrites headers on the way (`ProxyTelemetryHooks`).
 * The proxy fills records and calls the hooks; telemetry sees requests and headers only through
 * the views declared here.
 */
import type { ResolvedSnapshot } from '../snapshot/index.js';

/**
 * Headers as telemetry reads and edits them: raw names, lowercase names and values in arrival
 * order, and lookups by lowercase name. The proxy's header list is one.
 */
export interface TelemetryHeaders {
  readonly names: readonly string[];
  readonly lower: readonly string[];
  readonly values: readonly string[];
  /** The value, comma-joined when repeated; undefined when absent. */
  get(lowerName: string): string | undefined;
  has(lowerName: string): boolean;
  /** Replaces all values of the header. */
  set(lowerName: string, value: string): void;
  remove(lowerName: string): void;
}

/** A request head as telemetry reads it when the request enters a listener. */
export interface TelemetryRequestHead {
  readonly method: string;
  /** `http` or `https` as the client used it. */
  readonly scheme: string;
  /** Origin-form target (path and query). */
  readonly path: string;
  readonly headers: TelemetryHeaders;
}

/** Facts of a certificate as access logs print them, parsed once when first asked for. */
export interface CertificateFacts {
  /** URI SANs, comma-joined ('' for none). */
  readonly uriSans: string;
  /** DNS SANs, comma-joined ('' for none). */
  readonly dnsSans: string;
  /** Subject in RFC 2253 order ('' when empty, as workload certificates have it). */
  readonly subject: string;
  readonly issuer: string;
  /** SHA-256 over the DER, lower-case hex. */
  readonly fingerprint256: string;
  /** Serial number, lower-case hex. */
  readonly serial: string;
  /** Validity, ms since the epoch. */
  readonly validFrom: number;
  readonly validTo: number;
}

/**
 * The TLS of one connection (downstream as the listener terminated it, or upstream as the proxy
 * originated it), read from its socket once per connection and only when a format asks: the
 * certificates are not parsed until one of their fields is read.
 */
export interface TlsFacts {
  /** `TLSv1.3`, `TLSv1.2`. */
  readonly version: string;
  /** The cipher suite as OpenSSL names it (`TLS_AES_256_GCM_SHA384`, `ECDHE-RSA-AES128-GCM-SHA256`). */
  readonly cipher: string;
  /** The peer's certificate, null when it presented none. */
  readonly peer: CertificateFacts | null;
  /** The certificate this side presented, null for none. */
  readonly local: CertificateFacts | null;
}

/** What authorization noted about a request or connection besides its verdict. */
export interface AuthzMarks {
  /** The AUDIT rule it matched (`ns[NS]-policy[NAME]-rule[i]`). */
  audit?: string;
  /** What the dry-run policies would have decided, and the rule that would have decided it (`none`: no ALLOW rule). */
  dryRun?: { result: 'allowed' | 'denied'; action: 'ALLOW' | 'DENY'; matched: string };
}

export interface RequestRecord {
  /** `http` or `tcp`. */
  kind: 'http' | 'tcp';
  listener: string;
  direction: 'inbound' | 'outbound' | 'gateway';
  /** Response flags bit set (see `ResponseFlag`); `formatResponseFlags` prints them. */
  flags: number;
  /** Envoy's %RESPONSE_CODE_DETAILS%, e.g. `via_upstream`, `route_not_found`. */
  details: string;
  /** Response status sent downstream; 0 when none was (reset, TCP). */
  status: number;
  method: string;
  authority: string;
  path: string;
  protocol: string;
  requestId: string;
  userAgent: string;
  /** Request body bytes received from downstream (TCP: bytes from the client). */
  bytesReceived: number;
  /** Response body bytes sent downstream (TCP: bytes to the client). */
  bytesSent: number;
  /** Wall-clock start, ms since the epoch. */
  startTime: number;
  /** Total duration, ms. */
  durationMs: number;
  /** Time until the response head came back from upstream, ms; -1 when none did. */
  upstreamServiceTimeMs: number;
  /** `ip:port` of the upstream host of the last try, or ''. */
  upstreamHost: string;
  upstreamCluster: string;
  routeName: string;
  downstreamRemoteAddress: string;
  downstreamLocalAddress: string;
  /** Tries made upstream (1 + retries). */
  attempts: number;
  /** What `ProxyTelemetryHooks.requestStart` returned for this request (HTTP), or what `tcpOpened` set (TCP). */
  telemetry?: RequestTelemetryState | null;
  /**
   * Identities of an mTLS connection (`spiffe://…` URI SANs): the peer's and this proxy's. Absent
   * on plaintext connections; telemetry then reports principals as `unknown`.
   */
  peerPrincipal?: string;
  localPrincipal?: string;
  /** Authorization's AUDIT and dry-run marks, when a policy made any. */
  authz?: AuthzMarks;
  /** The downstream connection's TLS, when the listener terminated TLS on it. */
  downstreamTls?: TlsFacts | null;
  /** The TLS of the upstream connection the last try used, when the proxy originated TLS. */
  upstreamTls?: TlsFacts | null;
  /** The SNI of the downstream connection's ClientHello, '' without one. */
  serverName?: string;
  /** The downstream connection's id (Envoy's %CONNECTION_ID%), unique within the proxy process. */
  connectionId?: number;
  /** Ms from the start until the whole request was received; -1 when it never was. */
  requestCompleteMs?: number;
  /** Ms from the start until the response head went downstream; -1 when none did. */
  responseStartMs?: number;
}

/**
 * A record with nothing known yet but where it came in: for TCP connections and for requests the
 * codec answers itself, which fill in the rest as they learn it.
 */
export function newRecord(kind: RequestRecord['kind'], listener: string, direction: RequestRecord['direction'], protocol: string, downstreamRemoteAddress: string): RequestRecord {
  return {
    kind,
    listener,
    direction,
    flags: 0,
    details: '',
    status: 0,
    method: '',
    authority: '',
    path: '',
    protocol,
    requestId: '',
    userAgent: '',
    bytesReceived: 0,
    bytesSent: 0,
    startTime: Date.now(),
    durationMs: 0,
    upstreamServiceTimeMs: -1,
    upstreamHost: '',
    upstreamCluster: '',
    routeName: '',
    downstreamRemoteAddress,
    downstreamLocalAddress: '',
    attempts: 0,
  };
}

/** Receives each finished request; must be cheap and must not throw. */
export type RequestDoneHook = (record: RequestRecord) => void;

/** Per-request state the telemetry layer keeps between a request's start and its record. */
export type RequestTelemetryState = object;

/**
 * The telemetry layer's view into the data path (metrics, access logs, traces). Every method runs
 * on the hot path: it must be cheap and must not throw.
 */
export interface ProxyTelemetryHooks {
  /** A snapshot was validated and is being swapped in (before the new listeners see traffic). */
  snapshotApplied(snapshot: ResolvedSnapshot): void;
  /**
   * An HTTP request entered a listener; `x-request-id` is set, routing has not happened. Reads and
   * rewrites trace and peer-metadata headers (`head.headers`); the state returned travels with the request.
   */
  requestStart(head: TelemetryRequestHead, direction: RequestRecord['direction']): RequestTelemetryState | null;
  /** A response head (from upstream or a local reply) is about to go downstream. */
  responseHeaders(state: RequestTelemetryState, status: number, headers: TelemetryHeaders): void;
  /** Response trailers are about to go downstream (gRPC status lives here). */
  responseTrailers(state: RequestTelemetryState, trailers: TelemetryHeaders): void;
  /** A TCP connection reached its upstream (`record` is completed and handed to `requestDone` at close). */
  tcpOpened(record: RequestRecord): void;
  requestDone: RequestDoneHook;
}
