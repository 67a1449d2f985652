/**
 * What each command operator prints: a parsed operator (`src/api/access-log-format.ts`) becomes
 * a getter of the record and the request's telemetry state, chosen once when the format is
 * compiled, so writing a line runs no parsing and no lookups by name. A getter returns a string,
 * a number (JSON formats print it as a number) or null for "no value" (`-` in text, `null` in
 * JSON), as Envoy's formatters do.
 *
 * Where Skiff differs from Envoy: `%UPSTREAM_LOCAL_ADDRESS%` has no value (the proxy does not
 * keep the upstream socket's local address per request); `%DYNAMIC_METADATA(...)%` has a value
 * only for `envoy.common:access_log_hint` (true when an AUDIT authorization rule matched);
 * `%FILTER_STATE(...)%` has none; TLS facts of a connection that closed before the line was
 * written have none.
 */
import { hostname } from 'node:os';
import { headerArg } from '../../api/access-log-format.js';
import type { FormatToken, GRPC_STATUS_FORMATS } from '../../api/access-log-format.js';
import type { CertificateFacts, RequestRecord, TlsFacts } from '../request-record.js';
import type { RequestState } from '../request-state.js';
import { formatResponseFlags } from '../response-flags.js';
import { formatAddress } from './format.js';
import { compileTimeFormat } from './time-format.js';

export type LogValue = string | number | null;

/** One operator's value for a finished request or connection; `st` is null for TCP. */
export type ValueGetter = (rec: RequestRecord, st: RequestState | null) => LogValue;

/** What a compiled format needs kept per request, so nothing else is. */
export interface FormatNeeds {
  requestHeaders: boolean;
  responseHeaders: boolean;
  responseTrailers: boolean;
}

type Operator = Extract<FormatToken, { kind: 'operator' }>;

function opt(s: string | undefined): string | null {
  return s === undefined || s === '' ? null : s;
}

const CONNECT_ERROR = 'upstream_connect_error: ';
const RBAC_DENIED = 'rbac_access_denied_matched_policy[';

/** gRPC status names, by code: Envoy's CAMEL_STRING and SNAKE_STRING forms. */
const GRPC_CAMEL = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied', 'ResourceExhausted',
  'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
];
const GRPC_SNAKE = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

function grpcStatus(format: (typeof GRPC_STATUS_FORMATS)[number]): ValueGetter {
  return (_r, st) => {
    const text = st?.grpcStatus ?? '';
    if (text === '') return null;
    const code = Number(text);
    if (!Number.isInteger(code)) return text;
    if (format === 'NUMBER') return code;
    return (format === 'SNAKE_STRING' ? GRPC_SNAKE : GRPC_CAMEL)[code] ?? code;
  };
}

/** `ip:port` without its port; IPv6 in brackets loses them. */
function withoutPort(hostPort: string): string | null {
  const a = formatAddress(hostPort);
  if (a === null) return null;
  const i = a.lastIndexOf(':');
  if (i < 0 || a.endsWith(']')) return a;
  const ip = a.slice(0, i);
  return ip.startsWith('[') ? ip.slice(1, -1) : ip;
}

function portOf(hostPort: string): number | null {
  const i = hostPort.lastIndexOf(':');
  const port = i < 0 ? NaN : Number(hostPort.slice(i + 1));
  return Number.isInteger(port) && port > 0 ? port : null;
}

function ms(v: number | undefined): number | null {
  return v === undefined || v < 0 ? null : Math.floor(v);
}

/** A header of the request (pseudo-headers from the record), the response or the trailers. */
function headerGetter(which: 'REQ' | 'RESP' | 'TRAILER' | 'REQ_WITHOUT_QUERY', arg: string, at: number, needs: FormatNeeds): ValueGetter {
  const { name, alt } = headerArg(arg, at);
  const one = (n: string): ValueGetter => {
    if (which === 'RESP') {
      needs.responseHeaders = true;
      return (_r, st) => opt(st?.responseHeaders?.get(n));
    }
    if (which === 'TRAILER') {
      needs.responseTrailers = true;
      return (_r, st) => opt(st?.responseTrailers?.get(n));
    }
    switch (n) {
      case ':method':
        return (r) => (r.kind === 'http' ? opt(r.method) : null);
      case ':path':
        return (r) => (r.kind === 'http' ? opt(r.path) : null);
      case ':authority':
      case 'host':
        return (r) => (r.kind === 'http' ? opt(r.authority) : null);
      case ':scheme':
        return (_r, st) => (st === null ? null : st.scheme);
      case 'x-request-id':
        return (r) => (r.kind === 'http' ? opt(r.requestId) : null);
      case 'user-agent':
        return (r) => (r.kind === 'http' ? opt(r.userAgent) : null);
      default:
        needs.requestHeaders = true;
        return (_r, st) => opt(st?.requestHeaders?.get(n));
    }
  };
  const first = one(name);
  const get: ValueGetter = alt === null ? first : ((second) => (r: RequestRecord, st: RequestState | null) => first(r, st) ?? second(r, st))(one(alt));
  if (which !== 'REQ_WITHOUT_QUERY') return get;
  return (r, st) => {
    const v = get(r, st);
    if (typeof v !== 'string') return v;
    const q = v.indexOf('?');
    return q < 0 ? v : v.slice(0, q);
  };
}

function tlsGetter(side: 'downstreamTls' | 'upstreamTls', read: (t: TlsFacts) => string): ValueGetter {
  return (r) => {
    const t = r[side];
    return t === undefined || t === null ? null : opt(read(t));
  };
}

function certGetter(side: 'downstreamTls' | 'upstreamTls', which: 'peer' | 'local', read: (c: CertificateFacts) => string): ValueGetter {
  return (r) => {
    const c = r[side]?.[which];
    return c === undefined || c === null ? null : opt(read(c));
  };
}

function validityGetter(field: 'validFrom' | 'validTo', pattern: string | null): ValueGetter {
  const format = compileTimeFormat(pattern);
  return (r) => {
    const t = r.downstreamTls?.peer?.[field];
    return t === undefined || !Number.isFinite(t) ? null : format(t);
  };
}

// Requests finishing together mostly started in the same millisecond: format that time once.
let lastStart = -1;
let lastStartText = '';

function isoStartTime(r: RequestRecord): string {
  if (r.startTime !== lastStart) {
    lastStart = r.startTime;
    lastStartText = new Date(r.startTime).toISOString();
  }
  return lastStartText;
}

const HOSTNAME = hostname();

/** The getter of one operator (`op` already checked by the parser). */
export function operatorGetter(op: Operator, needs: FormatNeeds): ValueGetter {
  const arg = op.arg;
  switch (op.name) {
    case 'START_TIME': {
      if (arg === null || arg === '') return isoStartTime;
      const format = compileTimeFormat(arg);
      return (r) => format(r.startTime);
    }
    case 'DURATION':
      return (r) => Math.floor(r.durationMs);
    case 'REQUEST_DURATION':
      return (r) => (r.kind === 'http' ? ms(r.requestCompleteMs) : null);
    case 'RESPONSE_DURATION':
      return (r) => (r.kind === 'http' ? ms(r.responseStartMs) : null);
    case 'RESPONSE_TX_DURATION':
      return (r) => (r.kind === 'http' && r.responseStartMs !== undefined && r.responseStartMs >= 0 ? Math.floor(r.durationMs - r.responseStartMs) : null);
    case 'REQ':
    case 'RESP':
    case 'TRAILER':
    case 'REQ_WITHOUT_QUERY':
      return headerGetter(op.name, arg ?? '', op.at, needs);
    case 'PROTOCOL':
      return (r) => (r.kind === 'http' ? opt(r.protocol) : null);
    case 'RESPONSE_CODE':
      return (r) => r.status;
    case 'RESPONSE_FLAGS':
      return (r) => formatResponseFlags(r.flags);
    case 'RESPONSE_CODE_DETAILS':
      // TCP proxying sets no response code details.
      return (r) => (r.kind === 'http' ? opt(r.details.includes(' ') ? r.details.replace(/ /g, '_') : r.details) : null);
    case 'CONNECTION_TERMINATION_DETAILS':
      // A connection authorization closed: Envoy's network RBAC filter names the rule here.
      return (r) => (r.kind === 'tcp' && r.details.startsWith(RBAC_DENIED) ? r.details : null);
    case 'UPSTREAM_TRANSPORT_FAILURE_REASON':
      return (r) => (r.kind === 'tcp' && r.details.startsWith(CONNECT_ERROR) ? r.details.slice(CONNECT_ERROR.length) : null);
    case 'BYTES_RECEIVED':
      return (r) => r.bytesReceived;
    case 'BYTES_SENT':
      return (r) => r.bytesSent;
    case 'REQUEST_HEADERS_BYTES':
      return (_r, st) => (st === null ? 0 : st.requestHeadBytes);
    case 'RESPONSE_HEADERS_BYTES':
      return (_r, st) => (st === null ? 0 : st.responseHeadBytes);
    case 'GRPC_STATUS':
      return grpcStatus((arg ?? 'CAMEL_STRING') as (typeof GRPC_STATUS_FORMATS)[number]);
    case 'GRPC_STATUS_NUMBER':
      return grpcStatus('NUMBER');
    case 'ROUTE_NAME':
      return (r) => opt(r.routeName);
    case 'UPSTREAM_REQUEST_ATTEMPT_COUNT':
      return (r) => r.attempts;
    case 'UPSTREAM_HOST':
      return (r) => opt(r.upstreamHost);
    case 'UPSTREAM_CLUSTER':
    case 'UPSTREAM_CLUSTER_RAW':
      return (r) => opt(r.upstreamCluster);
    case 'UPSTREAM_LOCAL_ADDRESS':
      return () => null;
    case 'UPSTREAM_PEER_URI_SAN':
      return certGetter('upstreamTls', 'peer', (c) => c.uriSans);
    case 'UPSTREAM_PEER_DNS_SAN':
      return certGetter('upstreamTls', 'peer', (c) => c.dnsSans);
    case 'UPSTREAM_PEER_SUBJECT':
      return certGetter('upstreamTls', 'peer', (c) => c.subject);
    case 'UPSTREAM_PEER_ISSUER':
      return certGetter('upstreamTls', 'peer', (c) => c.issuer);
    case 'UPSTREAM_TLS_VERSION':
      return tlsGetter('upstreamTls', (t) => t.version);
    case 'UPSTREAM_TLS_CIPHER':
      return tlsGetter('upstreamTls', (t) => t.cipher);
    case 'DOWNSTREAM_REMOTE_ADDRESS':
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS':
      return (r) => formatAddress(r.downstreamRemoteAddress);
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
    case 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT':
      return (r) => withoutPort(r.downstreamRemoteAddress);
    case 'DOWNSTREAM_REMOTE_PORT':
      return (r) => portOf(r.downstreamRemoteAddress);
    case 'DOWNSTREAM_LOCAL_ADDRESS':
      return (r) => formatAddress(r.downstreamLocalAddress);
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT':
      return (r) => withoutPort(r.downstreamLocalAddress);
    case 'DOWNSTREAM_LOCAL_PORT':
      return (r) => portOf(r.downstreamLocalAddress);
    case 'REQUESTED_SERVER_NAME':
      return (r) => opt(r.serverName ?? (r.kind === 'tcp' ? r.authority : ''));
    case 'CONNECTION_ID':
      return (r) => r.connectionId ?? null;
    case 'HOSTNAME':
      return () => HOSTNAME;
    case 'DOWNSTREAM_PEER_URI_SAN':
      return certGetter('downstreamTls', 'peer', (c) => c.uriSans);
    case 'DOWNSTREAM_PEER_DNS_SAN':
      return certGetter('downstreamTls', 'peer', (c) => c.dnsSans);
    case 'DOWNSTREAM_LOCAL_URI_SAN':
      return certGetter('downstreamTls', 'local', (c) => c.uriSans);
    case 'DOWNSTREAM_LOCAL_DNS_SAN':
      return certGetter('downstreamTls', 'local', (c) => c.dnsSans);
    case 'DOWNSTREAM_PEER_SUBJECT':
      return certGetter('downstreamTls', 'peer', (c) => c.subject);
    case 'DOWNSTREAM_LOCAL_SUBJECT':
      return certGetter('downstreamTls', 'local', (c) => c.subject);
    case 'DOWNSTREAM_PEER_ISSUER':
      return certGetter('downstreamTls', 'peer', (c) => c.issuer);
    case 'DOWNSTREAM_TLS_VERSION':
      return tlsGetter('downstreamTls', (t) => t.version);
    case 'DOWNSTREAM_TLS_CIPHER':
      return tlsGetter('downstreamTls', (t) => t.cipher);
    case 'DOWNSTREAM_PEER_FINGERPRINT_256':
      return certGetter('downstreamTls', 'peer', (c) => c.fingerprint256);
    case 'DOWNSTREAM_PEER_SERIAL':
      return certGetter('downstreamTls', 'peer', (c) => c.serial);
    case 'DOWNSTREAM_PEER_CERT_V_START':
      return validityGetter('validFrom', arg);
    case 'DOWNSTREAM_PEER_CERT_V_END':
      return validityGetter('validTo', arg);
    case 'DYNAMIC_METADATA':
      if (arg === 'envoy.common:access_log_hint') return (r) => (r.authz?.audit !== undefined ? 'true' : null);
      return () => null;
    case 'FILTER_STATE':
      return () => null;
    default:
      // The parser accepts only known names: one added there without a getter here is a bug (a test compiles them all).
      throw new Error(`no getter for %${op.name}%`);
  }
}
