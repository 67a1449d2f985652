/**
 * gRPC as the proxy sees it (Envoy's Grpc::Common): which requests are gRPC, the HTTP → gRPC
 * status mapping local replies use, the trailers-only form those replies take, and the
 * `grpc-timeout` header Istio lets bound a request (max_grpc_timeout = the route timeout).
 */
import { HeaderList } from '../http/headers.js';
import type { HeaderView } from '../http/route/request.js';

export const GRPC_CONTENT_TYPE = 'application/grpc';

/** `application/grpc` exactly or `application/grpc+proto` and the like; grpc-web is not gRPC. */
export function isGrpcRequest(headers: HeaderView): boolean {
  const ct = headers.get('content-type');
  if (ct === undefined || !ct.startsWith(GRPC_CONTENT_TYPE)) return false;
  return ct.length === GRPC_CONTENT_TYPE.length || ct.charCodeAt(GRPC_CONTENT_TYPE.length) === 43 /* + */;
}

/** The gRPC status for an HTTP status, per gRPC's http-grpc-status-mapping as Envoy applies it. */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** The HTTP status Envoy's outlier detection charges for a gRPC status (Grpc::Utility::grpcToHttpStatus). */
export function grpcToHttpStatus(code: number): number {
  switch (code) {
    case 0:
      return 200; // OK
    case 1:
      return 499; // CANCELLED: client closed request
    case 3:
    case 9:
    case 11:
      return 400; // INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE
    case 4:
      return 504; // DEADLINE_EXCEEDED
    case 5:
      return 404; // NOT_FOUND
    case 6:
    case 10:
      return 409; // ALREADY_EXISTS, ABORTED
    case 7:
      return 403; // PERMISSION_DENIED
    case 8:
      return 429; // RESOURCE_EXHAUSTED
    case 12:
      return 501; // UNIMPLEMENTED
    case 14:
      return 503; // UNAVAILABLE
    case 16:
      return 401; // UNAUTHENTICATED
    default:
      return 500; // UNKNOWN, INTERNAL, DATA_LOSS and codes outside the table
  }
}

/** Percent-encodes a `grpc-message` value: bytes outside printable ASCII, and `%` itself. */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    if (b < 0x20 || b > 0x7e || b === 0x25) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/**
 * The head of a local reply to a gRPC request, as Envoy sends it: HTTP 200, trailers-only, with
 * `grpc-status` (kept when the caller set one, e.g. a fault abort, else mapped from `status`) and
 * the reply text as `grpc-message`.
 */
export function grpcLocalReplyHeaders(status: number, body: string, extra: HeaderList | null): HeaderList {
  const headers = extra ?? new HeaderList();
  headers.set('content-type', GRPC_CONTENT_TYPE);
  if (!headers.has('grpc-status')) headers.set('grpc-status', String(httpToGrpcStatus(status)));
  if (body !== '') headers.set('grpc-message', encodeGrpcMessage(body.endsWith('\n') ? body.slice(0, -1) : body));
  headers.remove('content-length');
  return headers;
}

const GRPC_TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = Object.freeze({ H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 });

/** A `grpc-timeout` value (`1-8 digits` + unit H/M/S/m/u/n) in ms, rounded up; undefined when malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,8}[HMSmun]$/.test(value)) return undefined;
  const ms = Number(value.slice(0, -1)) * GRPC_TIMEOUT_UNIT_MS[value[value.length - 1]];
  return Math.ceil(ms);
}

/**
 * The timeout of a request under its route. For gRPC requests Istio sets Envoy's
 * max_grpc_timeout to the route timeout, so a `grpc-timeout` header shortens it (and bounds a
 * request whose route has none); 0 means no timeout.
 */
export function effectiveTimeoutMs(routeTimeoutMs: number, headers: HeaderView): number {
  if (!isGrpcRequest(headers)) return routeTimeoutMs;
  const grpc = parseGrpcTimeout(headers.get('grpc-timeout'));
  if (grpc === undefined || grpc === 0) return routeTimeoutMs;
  return routeTimeoutMs > 0 ? Math.min(grpc, routeTimeoutMs) : grpc;
}
