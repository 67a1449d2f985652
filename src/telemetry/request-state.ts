/**
 * What telemetry keeps about one HTTP request between its start and its record: the snapshot view
 * it started under, the peer's identity once known, gRPC facts, header sizes, and its trace span.
 */
import type { PeerIdentity } from './identity.js';
import type { TelemetryHeaders } from './request-record.js';
import type { SnapshotView } from './snapshot-view.js';
import type { SpanContext } from './tracing/context.js';

export class RequestState {
  /** The peer announced by metadata: the caller on inbound, the answering workload on outbound. */
  peer: PeerIdentity | null = null;
  /** Arrived on an inbound sidecar listener (the destination reporter's side). */
  inbound = false;
  grpc = false;
  /** `grpc-status` of the response (headers or trailers), '' when none came. */
  grpcStatus = '';
  /** Approximate wire size of the request and response heads (request line and headers). */
  requestHeadBytes = 0;
  responseHeadBytes = 0;
  /** `x-forwarded-for` as forwarded, for the access log; '' when absent. */
  forwardedFor = '';
  scheme = 'http';
  /** Wall-clock start in microseconds since the epoch (span timestamp). */
  startUs = 0;
  /** This proxy's span: its context as forwarded; sampled or not. */
  span: SpanContext | null = null;
  /**
   * The request's headers, response headers and trailers, kept only when the access-log format
   * prints some (`%REQ(...)%`, `%RESP(...)%`, `%TRAILER(...)%`): the proxy's own lists, read when
   * the line is written, so they show what the proxy forwarded and answered.
   */
  requestHeaders: TelemetryHeaders | null = null;
  responseHeaders: TelemetryHeaders | null = null;
  responseTrailers: TelemetryHeaders | null = null;

  constructor(readonly view: SnapshotView) {}
}

/** Approximate HTTP/1.1 wire size of a head: first line plus `name: value\r\n` per header. */
export function headBytes(firstLine: number, names: readonly string[], values: readonly string[]): number {
  let n = firstLine + 2;
  for (let i = 0; i < names.length; i++) n += names[i].length + values[i].length + 4;
  return n;
}
