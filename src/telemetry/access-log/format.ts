/**
 * Access log lines in Envoy's default TEXT format as Istio configures it, and in Istio's JSON
 * encoding (same fields, keys below). Absent values print as `-` (text) or `null` (JSON).
 *
 *   [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
 *   %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
 *   "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
 *   %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
 *   "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW%
 *   %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
 *   %REQUESTED_SERVER_NAME% %ROUTE_NAME%
 */
import type { RequestRecord } from '../request-record.js';
import { formatResponseFlags } from '../response-flags.js';

/** Istio's JSON keys, in the order of the text format. */
export const JSON_KEYS = [
  'start_time',
  'method',
  'path',
  'protocol',
  'response_code',
  'response_flags',
  'response_code_details',
  'connection_termination_details',
  'upstream_transport_failure_reason',
  'bytes_received',
  'bytes_sent',
  'duration',
  'upstream_service_time',
  'x_forwarded_for',
  'user_agent',
  'request_id',
  'authority',
  'upstream_host',
  'upstream_cluster',
  'upstream_local_address',
  'downstream_local_address',
  'downstream_remote_address',
  'requested_server_name',
  'route_name',
] as const;

/** Per-request facts the record does not hold, captured from the request headers. */
export interface AccessLogExtras {
  /** `x-forwarded-for` as forwarded; '' when absent. */
  forwardedFor: string;
}

type Value = string | number | null;

function opt(s: string): string | null {
  return s === '' ? null : s;
}

/** `ip:port` as Envoy prints addresses: IPv4-mapped IPv6 unwrapped, IPv6 in brackets. */
export function formatAddress(hostPort: string): string | null {
  if (hostPort === '' || hostPort === ':0') return null;
  const i = hostPort.lastIndexOf(':');
  if (i < 0) return hostPort;
  let ip = hostPort.slice(0, i);
  if (ip.startsWith('::ffff:') && ip.includes('.')) ip = ip.slice(7);
  if (ip.includes(':') && !ip.startsWith('[')) ip = `[${ip}]`;
  return `${ip}${hostPort.slice(i)}`;
}

const CONNECT_ERROR = 'upstream_connect_error: ';
const RBAC_DENIED = 'rbac_access_denied_matched_policy[';

// Requests finishing together mostly started in the same millisecond: format that time once.
let lastStart = -1;
let lastStartText = '';

function startTime(ms: number): string {
  if (ms !== lastStart) {
    lastStart = ms;
    lastStartText = new Date(ms).toISOString();
  }
  return lastStartText;
}

/** The 24 values of one line, in format order. */
export function accessLogValues(rec: RequestRecord, extras: AccessLogExtras): Value[] {
  const http = rec.kind === 'http';
  // TCP proxying sets no response code details; a failed connect shows as the transport failure.
  const details = http ? opt(rec.details.includes(' ') ? rec.details.replace(/ /g, '_') : rec.details) : null;
  const transport = !http && rec.details.startsWith(CONNECT_ERROR) ? rec.details.slice(CONNECT_ERROR.length) : null;
  return [
    startTime(rec.startTime),
    http ? opt(rec.method) : null,
    http ? opt(rec.path) : null,
    http ? opt(rec.protocol) : null,
    rec.status,
    formatResponseFlags(rec.flags),
    details,
    // A connection authorization closed: Envoy's network RBAC filter names the rule here.
    !http && rec.details.startsWith(RBAC_DENIED) ? rec.details : null,
    transport,
    rec.bytesReceived,
    rec.bytesSent,
    Math.floor(rec.durationMs),
    http && rec.upstreamServiceTimeMs >= 0 ? String(Math.round(rec.upstreamServiceTimeMs)) : null,
    http ? opt(extras.forwardedFor) : null,
    http ? opt(rec.userAgent) : null,
    http ? opt(rec.requestId) : null,
    http ? opt(rec.authority) : null,
    opt(rec.upstreamHost),
    opt(rec.upstreamCluster),
    null,
    formatAddress(rec.downstreamLocalAddress),
    formatAddress(rec.downstreamRemoteAddress),
    http ? null : opt(rec.authority),
    opt(rec.routeName),
  ];
}

function t(v: Value): string {
  return v === null ? '-' : typeof v === 'number' ? String(v) : v;
}

/**
 * Authorization's marks, after the format's fields and only when a policy made one:
 * ` authz_audit_policy=<rule>` for an AUDIT match (Envoy's access-log hint), and
 * ` authz_dry_run_result=denied authz_dry_run_policy=<rule>` for dry-run policies.
 */
function authzSuffix(rec: RequestRecord): string {
  const m = rec.authz;
  if (m === undefined) return '';
  let s = '';
  if (m.audit !== undefined) s += ` authz_audit_policy=${m.audit}`;
  if (m.dryRun !== undefined) s += ` authz_dry_run_result=${m.dryRun.result} authz_dry_run_policy=${m.dryRun.matched === '' ? '-' : m.dryRun.matched}`;
  return s;
}

/** One line (with its newline) in Envoy's default text format. */
export function formatTextLine(rec: RequestRecord, extras: AccessLogExtras): string {
  const v = accessLogValues(rec, extras);
  return (
    `[${t(v[0])}] "${t(v[1])} ${t(v[2])} ${t(v[3])}" ${t(v[4])} ${t(v[5])} ${t(v[6])} ${t(v[7])} "${t(v[8])}" ` +
    `${t(v[9])} ${t(v[10])} ${t(v[11])} ${t(v[12])} "${t(v[13])}" "${t(v[14])}" "${t(v[15])}" "${t(v[16])}" "${t(v[17])}" ` +
    `${t(v[18])} ${t(v[19])} ${t(v[20])} ${t(v[21])} ${t(v[22])} ${t(v[23])}${authzSuffix(rec)}\n`
  );
}

/** One line (with its newline) of JSON with Istio's keys. */
export function formatJsonLine(rec: RequestRecord, extras: AccessLogExtras): string {
  const v = accessLogValues(rec, extras);
  const o: Record<string, Value> = {};
  for (let i = 0; i < JSON_KEYS.length; i++) o[JSON_KEYS[i]] = v[i];
  const m = rec.authz;
  if (m?.audit !== undefined) o.authz_audit_policy = m.audit;
  if (m?.dryRun !== undefined) {
    o.authz_dry_run_result = m.dryRun.result;
    o.authz_dry_run_policy = m.dryRun.matched === '' ? null : m.dryRun.matched;
  }
  return `${JSON.stringify(o)}\n`;
}
