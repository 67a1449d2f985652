/**
 * Istio's checks for HTTP details: header names and values (including Envoy's `%VAR%` syntax),
 * string matches and RE2 regexes, methods, status codes, gRPC status names and retry conditions.
 */
import { compileRegex } from '../../../schema-kit.js';
import type { StringMatch } from '../common.js';

const HEADER_NAME = /^[-_A-Za-z0-9]+$/;
const JWT_CLAIM_PREFIX = '@request.auth.claims';

export function headerNameProblem(name: string): string | undefined {
  if (name === '') return 'header name cannot be empty';
  return HEADER_NAME.test(name) ? undefined : `header name ${name} is not a valid header name`;
}

/** Gateway routes may match `@request.auth.claims.NAME` / `@request.auth.claims[a][b]` instead of a header. */
export function isJwtClaimRoute(name: string): boolean {
  if (!name.toLowerCase().startsWith(JWT_CLAIM_PREFIX)) return false;
  const rest = name.slice(JWT_CLAIM_PREFIX.length);
  return (rest.startsWith('.') && rest.length > 1) || (rest.startsWith('[') && rest.endsWith(']') && rest.length > 2);
}

export function headerNameOrJwtClaimProblem(name: string): string | undefined {
  if (name === '') return 'header name cannot be empty';
  return isJwtClaimRoute(name) ? undefined : headerNameProblem(name);
}

export function corsHeaderNameProblem(name: string): string | undefined {
  return name === '*' ? undefined : headerNameProblem(name);
}

function isInternalHeader(name: string): boolean {
  return name.startsWith(':') || name.toLowerCase() === 'host';
}

export function isAuthorityHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === ':authority' || lower === 'host';
}

/** Names in request `set`/`add`: pseudo-headers are refused except the authority, checked separately. */
export function headerWithAuthorityOperationProblem(name: string): string | undefined {
  if (name === '') return 'header name cannot be empty';
  return isInternalHeader(name) && !isAuthorityHeader(name) ? `invalid header "${name}": header cannot have ":" prefix` : undefined;
}

/** Names in request `remove` and in all response operations. */
export function headerOperationProblem(name: string): string | undefined {
  if (name === '') return 'header name cannot be empty';
  if (name.toLowerCase() === 'host') return `invalid header "${name}": cannot set Host header`;
  return isInternalHeader(name) ? `invalid header "${name}": header cannot have ":" prefix` : undefined;
}

/** Header values: no control characters, and `%` only as `%%` or around an Envoy `%VARIABLE(...)%`. */
export function headerValueProblem(value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000A-\u001F\u007F]/.test(value)) return `header value configuration ${value} is invalid`;
  const problem = variableSyntaxProblem(value);
  return problem === undefined ? undefined : `header value configuration: ${problem}`;
}

type State = 'literal' | 'name' | 'array' | 'string' | 'inString' | 'delimiter' | 'argsEnd' | 'varEnd';

/** Envoy's header formatter grammar (`%VAR%`, `%VAR(arg)%`, `%VAR(["a","b"])%`). */
function variableSyntaxProblem(v: string): string | undefined {
  let state: State = 'literal';
  for (let pos = 0; pos < v.length; pos++) {
    const ch = v[pos];
    const space = ch === ' ';
    switch (state) {
      case 'literal':
        if (ch !== '%') break;
        if (pos + 1 >= v.length) return 'invalid header configuration. Un-escaped %';
        if (v[pos + 1] === '%') pos++;
        else state = 'name';
        break;
      case 'name':
        if (ch === '%') state = 'literal';
        else if (ch === '(') state = 'array';
        break;
      case 'array':
        if (ch === '[') state = 'string';
        else if (!space) state = 'inString';
        break;
      case 'delimiter':
        if (ch === ',') state = 'string';
        else if (ch === ']') state = 'argsEnd';
        else if (!space) return "invalid header configuration. Expecting ',', ']', or whitespace";
        break;
      case 'string':
        if (ch === '"') state = 'inString';
        else if (!space) return `invalid header configuration. Expecting '"'`;
        break;
      case 'inString':
        if (ch === '\\') {
          if (pos + 1 >= v.length) return 'invalid header configuration. Un-terminated backslash in JSON string';
          pos++;
        } else if (ch === ')') state = 'varEnd';
        else if (ch === '"') state = 'delimiter';
        break;
      case 'argsEnd':
        if (ch === ')') state = 'varEnd';
        else if (!space) return "invalid header configuration. Expecting ')' or whitespace";
        break;
      case 'varEnd':
        if (ch === '%') state = 'literal';
        else if (!space) return "invalid header configuration. Expecting '%' or whitespace after";
        break;
    }
  }
  return state === 'literal' ? undefined : `invalid header configuration. Un-terminated variable expression '${v}'`;
}

/** Envoy's regex program-size limit is approximated by length, as Istio does. */
export function regexProblem(re: string, where: string): string | undefined {
  if (re.length > 1024) return `"${where}": regex is too large, max length allowed is 1024`;
  const compiled = compileRegex(re);
  return compiled.ok ? undefined : `"${where}": ${compiled.error}; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)`;
}

/** Istio's validateStringMatch: a set prefix or regex must not be empty; regexes must compile. */
export function stringMatchProblem(sm: StringMatch, where: string, allowEmptyPrefix = false): string | undefined {
  if (sm.prefix !== undefined && sm.prefix === '' && !allowEmptyPrefix) return `"${where}": prefix string match should not be empty`;
  if (sm.regex !== undefined) {
    if (sm.regex === '') return `"${where}": regex string match should not be empty`;
    return regexProblem(sm.regex, where);
  }
  return undefined;
}

export function isEmptyStringMatch(sm: StringMatch): boolean {
  return sm.exact === undefined && sm.prefix === undefined && sm.regex === undefined;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE']);
export function methodProblem(method: string): string | undefined {
  return METHODS.has(method) ? undefined : `"${method}" is not a supported HTTP method`;
}

/** Istio accepts 200..600 here; 600 is no HTTP status, so Skiff stops at 599 as the message says. */
export function httpStatusProblem(status: number): string | undefined {
  return status >= 200 && status <= 599 ? undefined : `HTTP status ${status} is not in range 200-599`;
}

export const GRPC_STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED',
  'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

export function grpcStatusProblem(status: string): string | undefined {
  return (GRPC_STATUS_NAMES as readonly string[]).includes(status)
    ? undefined
    : `gRPC status "${status}" is not supported. See https://github.com/grpc/grpc/blob/master/doc/statuscodes.md for a list of supported codes, for example 'NOT_FOUND'`;
}

/** Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on conditions. */
const RETRY_ON = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'retriable-4xx', 'refused-stream',
  'retriable-status-codes', 'retriable-headers', 'envoy-ratelimited', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

/** Status codes Go's http.StatusText knows; Istio accepts these as retryOn entries. */
const KNOWN_STATUS = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423,
  424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

export function retryOnProblems(retryOn: string): string[] {
  const out: string[] = [];
  for (const policy of retryOn.split(',')) {
    const code = /^[+-]?\d+$/.test(policy) ? Number(policy) : 0;
    if (!KNOWN_STATUS.has(code) && !RETRY_ON.has(policy)) out.push(`"${policy}" is not a valid retryOn policy`);
  }
  return out;
}
