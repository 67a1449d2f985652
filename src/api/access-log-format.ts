/**
 * Envoy's access-log format strings (`%START_TIME%`, `%REQ(X-REQUEST-ID)%`,
 * `%DOWNSTREAM_PEER_URI_SAN%`, …) as Istio hands them over in MeshConfig `accessLogFormat` and in
 * an `envoyFileAccessLog` provider's `logFormat`: parsed into literal text and command operators,
 * each operator checked against the ones Skiff prints, with the position of anything wrong.
 *
 * It lives here, below both planes, because the mesh config's check (`src/config`), the
 * snapshot's validation (`src/snapshot`) and the proxy's compiler (`src/telemetry/access-log`)
 * all read the same syntax; what an operator prints is the compiler's business.
 *
 * Syntax, as Envoy's parser reads it: `%NAME%`, `%NAME(ARG)%`, and either with `:N` after it
 * to cut the value to N characters; `%%` is a literal `%`. Inside parentheses anything but `)`
 * may appear (header names, `?` alternatives, strftime patterns with their own `%`).
 */

/** One piece of a parsed format string. */
export type FormatToken =
  | { readonly kind: 'text'; readonly text: string }
  | {
      readonly kind: 'operator';
      readonly name: string;
      /** What stood in the parentheses; null without them. */
      readonly arg: string | null;
      /** `:N` after the operator: the value is cut to N characters; null for no limit. */
      readonly maxLength: number | null;
      /** 0-based offset of the opening `%` in the format string. */
      readonly at: number;
    };

/** A format string that cannot be used: `position` is 1-based, `reason` names what is wrong there. */
export class FormatStringError extends Error {
  constructor(
    /** 1-based character position in the format string. */
    readonly position: number,
    readonly reason: string,
  ) {
    super(`at character ${position}: ${reason}`);
    this.name = 'FormatStringError';
  }
}

/** How an operator takes its parenthesised argument. */
type ArgRule = 'none' | 'optional' | 'required';

/** The operators Skiff prints, and how each takes an argument. Every other name is an error. */
export const FORMAT_OPERATORS: Readonly<Record<string, ArgRule>> = Object.freeze({
  // Times and durations
  START_TIME: 'optional',
  DURATION: 'none',
  REQUEST_DURATION: 'none',
  RESPONSE_DURATION: 'none',
  RESPONSE_TX_DURATION: 'none',
  // The request and response
  REQ: 'required',
  RESP: 'required',
  TRAILER: 'required',
  REQ_WITHOUT_QUERY: 'required',
  PROTOCOL: 'none',
  RESPONSE_CODE: 'none',
  RESPONSE_FLAGS: 'none',
  RESPONSE_CODE_DETAILS: 'none',
  CONNECTION_TERMINATION_DETAILS: 'none',
  UPSTREAM_TRANSPORT_FAILURE_REASON: 'none',
  BYTES_RECEIVED: 'none',
  BYTES_SENT: 'none',
  REQUEST_HEADERS_BYTES: 'none',
  RESPONSE_HEADERS_BYTES: 'none',
  GRPC_STATUS: 'optional',
  GRPC_STATUS_NUMBER: 'none',
  ROUTE_NAME: 'none',
  UPSTREAM_REQUEST_ATTEMPT_COUNT: 'none',
  // Upstream
  UPSTREAM_HOST: 'none',
  UPSTREAM_CLUSTER: 'none',
  UPSTREAM_CLUSTER_RAW: 'none',
  UPSTREAM_LOCAL_ADDRESS: 'none',
  UPSTREAM_PEER_URI_SAN: 'none',
  UPSTREAM_PEER_DNS_SAN: 'none',
  UPSTREAM_PEER_SUBJECT: 'none',
  UPSTREAM_PEER_ISSUER: 'none',
  UPSTREAM_TLS_VERSION: 'none',
  UPSTREAM_TLS_CIPHER: 'none',
  // Downstream connection
  DOWNSTREAM_REMOTE_ADDRESS: 'none',
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: 'none',
  DOWNSTREAM_REMOTE_PORT: 'none',
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS: 'none',
  DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT: 'none',
  DOWNSTREAM_LOCAL_ADDRESS: 'none',
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: 'none',
  DOWNSTREAM_LOCAL_PORT: 'none',
  REQUESTED_SERVER_NAME: 'none',
  CONNECTION_ID: 'none',
  HOSTNAME: 'none',
  // Downstream TLS
  DOWNSTREAM_PEER_URI_SAN: 'none',
  DOWNSTREAM_PEER_DNS_SAN: 'none',
  DOWNSTREAM_LOCAL_URI_SAN: 'none',
  DOWNSTREAM_LOCAL_DNS_SAN: 'none',
  DOWNSTREAM_PEER_SUBJECT: 'none',
  DOWNSTREAM_LOCAL_SUBJECT: 'none',
  DOWNSTREAM_PEER_ISSUER: 'none',
  DOWNSTREAM_TLS_VERSION: 'none',
  DOWNSTREAM_TLS_CIPHER: 'none',
  DOWNSTREAM_PEER_FINGERPRINT_256: 'none',
  DOWNSTREAM_PEER_SERIAL: 'none',
  DOWNSTREAM_PEER_CERT_V_START: 'optional',
  DOWNSTREAM_PEER_CERT_V_END: 'optional',
  // Metadata Skiff keeps only in part (see the compiler)
  DYNAMIC_METADATA: 'required',
  FILTER_STATE: 'required',
});

/** `GRPC_STATUS(...)`'s formats. */
export const GRPC_STATUS_FORMATS = ['CAMEL_STRING', 'SNAKE_STRING', 'NUMBER'] as const;

const HEADER_NAME = /^:?[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The header name and its alternative of `REQ(X?Y)`, lower-cased; throws on a malformed one. */
export function headerArg(arg: string, at: number): { name: string; alt: string | null } {
  const q = arg.indexOf('?');
  const name = (q < 0 ? arg : arg.slice(0, q)).trim();
  const alt = q < 0 ? null : arg.slice(q + 1).trim();
  if (!HEADER_NAME.test(name)) throw new FormatStringError(at + 1, `${JSON.stringify(arg)} is not a header name (or NAME?ALTERNATIVE)`);
  if (alt !== null && !HEADER_NAME.test(alt)) throw new FormatStringError(at + 1, `${JSON.stringify(alt)} is not a header name`);
  return { name: name.toLowerCase(), alt: alt === null ? null : alt.toLowerCase() };
}

/** Checks an operator's argument beyond its presence (header names, the gRPC status format). */
function checkArg(name: string, arg: string | null, at: number): void {
  if (arg === null) return;
  switch (name) {
    case 'REQ':
    case 'RESP':
    case 'TRAILER':
    case 'REQ_WITHOUT_QUERY':
      headerArg(arg, at);
      return;
    case 'GRPC_STATUS':
      if (!(GRPC_STATUS_FORMATS as readonly string[]).includes(arg)) {
        throw new FormatStringError(at + 1, `GRPC_STATUS takes one of ${GRPC_STATUS_FORMATS.join(', ')}, got ${JSON.stringify(arg)}`);
      }
      return;
    case 'DYNAMIC_METADATA':
    case 'FILTER_STATE':
      if (arg.trim() === '') throw new FormatStringError(at + 1, `${name} needs a namespace or key in its parentheses`);
      return;
    default:
  }
}

/**
 * Parses a format string into its pieces; throws `FormatStringError` naming the first thing
 * wrong and where (an operator not closed, an unknown operator, a missing or unexpected argument).
 */
export function parseFormatString(format: string): FormatToken[] {
  const out: FormatToken[] = [];
  let text = '';
  let i = 0;
  const n = format.length;
  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      text += format.slice(i);
      break;
    }
    text += format.slice(i, pct);
    if (format.charCodeAt(pct + 1) === 37 /* % */) {
      text += '%';
      i = pct + 2;
      continue;
    }
    // The operator's name: capitals, digits and underscores.
    let j = pct + 1;
    while (j < n && isNameChar(format.charCodeAt(j))) j++;
    const name = format.slice(pct + 1, j);
    if (name === '') throw new FormatStringError(pct + 1, `a lone "%" (write "%%" for a literal percent sign)`);
    let arg: string | null = null;
    if (format[j] === '(') {
      const close = format.indexOf(')', j + 1);
      if (close < 0) throw new FormatStringError(pct + 1, `%${name}( is not closed with ")"`);
      arg = format.slice(j + 1, close);
      j = close + 1;
    }
    let maxLength: number | null = null;
    if (format[j] === ':') {
      let k = j + 1;
      while (k < n && format.charCodeAt(k) >= 48 && format.charCodeAt(k) <= 57) k++;
      if (k === j + 1) throw new FormatStringError(j + 1, `":" after %${name}${arg === null ? '' : `(${arg})`} must be followed by a length`);
      maxLength = Number(format.slice(j + 1, k));
      j = k;
    }
    if (format[j] !== '%') throw new FormatStringError(pct + 1, `%${format.slice(pct + 1, j)} is not closed with "%"`);
    const rule = Object.hasOwn(FORMAT_OPERATORS, name) ? FORMAT_OPERATORS[name] : undefined;
    if (rule === undefined) throw new FormatStringError(pct + 1, `unknown command operator %${name}%`);
    if (rule === 'none' && arg !== null) throw new FormatStringError(pct + 1, `%${name}% takes no argument`);
    if (rule === 'required' && (arg === null || arg === '')) throw new FormatStringError(pct + 1, `%${name}(...)% needs an argument`);
    checkArg(name, arg, pct);
    if (text !== '') {
      out.push({ kind: 'text', text });
      text = '';
    }
    out.push({ kind: 'operator', name, arg, maxLength, at: pct });
    i = j + 1;
  }
  if (text !== '') out.push({ kind: 'text', text });
  return out;
}

function isNameChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

/** A JSON format (`logFormat.labels`, or `accessLogFormat` with the JSON encoding): keys to format strings or other JSON values. */
export type JsonFormatValue = string | number | boolean | null | JsonFormatValue[] | { [key: string]: JsonFormatValue };

/** A JSON format's problem, with the path of the key it is under (`labels.peer`). */
export class JsonFormatError extends Error {
  constructor(
    readonly key: string,
    readonly error: FormatStringError,
  ) {
    super(`${key}: ${error.message}`);
    this.name = 'JsonFormatError';
  }
}

/** Checks every string of a JSON format; throws `JsonFormatError` naming the key. */
export function checkJsonFormat(labels: Readonly<Record<string, JsonFormatValue>>, at = ''): void {
  for (const [key, value] of Object.entries(labels)) {
    const path = at === '' ? key : `${at}.${key}`;
    if (typeof value === 'string') {
      try {
        parseFormatString(value);
      } catch (e) {
        if (e instanceof FormatStringError) throw new JsonFormatError(path, e);
        throw e;
      }
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) checkJsonFormat(value, path);
  }
}
