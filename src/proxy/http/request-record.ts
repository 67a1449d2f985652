/**
 * What the proxy records about every finished request or TCP connection: the facts access logs,
 * metrics and traces are built from. One plain object per request, handed to a hook.
 */

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
}

/** Receives each finished request; must be cheap and must not throw. */
export type RequestDoneHook = (record: RequestRecord) => void;
