/**
 * Istio's checks of what an HTTP route does besides forwarding: redirect, direct response,
 * rewrite, retries, fault injection, mirroring and CORS.
 */
import { parseDurationNanos } from '../../../duration.js';
import type { CorsPolicy, HTTPFaultInjection, HTTPRetry } from '../http-policies.js';
import type { HTTPRedirect, HTTPRewrite, HTTPRoute } from '../virtual-service.js';
import { at, type Findings, type Path } from './findings.js';
import {
  corsHeaderNameProblem, grpcStatusProblem, httpStatusProblem, isEmptyStringMatch, methodProblem, regexProblem,
  retryOnProblems, stringMatchProblem,
} from './http-checks.js';
import { portProblem } from './names.js';
import { checkDestination, percentageProblem } from './shared.js';

const KB = 1024;
const MB = 1024 * KB;

export function checkHTTPActions(http: HTTPRoute, path: Path, f: Findings): void {
  checkCors(http.corsPolicy, at(path, 'corsPolicy'), f);
  checkFault(http.fault, at(path, 'fault'), f);
  for (const field of ['mirror_percent', 'mirrorPercent'] as const) {
    const value = http[field];
    if (value === undefined || value === null) continue;
    if (value > 100) f.error(at(path, field), `mirror_percent must have a max value of 100 (it has ${value})`);
    f.warn(at(path, field), 'using deprecated setting "mirrorPercent", use "mirrorPercentage" instead');
  }
  const mp = http.mirrorPercentage?.value;
  if (mp !== undefined && mp > 100) f.error(at(path, 'mirrorPercentage'), `mirror_percentage must have a max value of 100 (it has ${mp})`);
  if (mp !== undefined && mp < 0) f.error(at(path, 'mirrorPercentage'), `mirror_percentage must have a min value of 0 (it has ${mp})`);
  checkDestination(http.mirror, at(path, 'mirror'), f);
  http.mirrors?.forEach((m, i) => {
    checkDestination(m.destination, at(path, 'mirrors', i, 'destination'), f);
    const v = m.percentage?.value;
    if (v !== undefined && v > 100) f.error(at(path, 'mirrors', i, 'percentage'), `mirror percentage must have a max value of 100 (it has ${v})`);
    if (v !== undefined && v < 0) f.error(at(path, 'mirrors', i, 'percentage'), `mirror percentage must have a min value of 0 (it has ${v})`);
  });
  checkRedirect(http.redirect, at(path, 'redirect'), f);
  if (http.directResponse !== undefined) {
    const dr = http.directResponse;
    const body = dr.body;
    const size = body?.string !== undefined ? Buffer.byteLength(body.string) : body?.bytes !== undefined ? Buffer.from(body.bytes, 'base64').length : 0;
    if (size > MB) f.error(at(path, 'directResponse', 'body'), 'large direct_responses may impact control plane performance, must be less than 1MB');
    else if (size > 100 * KB) f.warn(at(path, 'directResponse', 'body'), 'large direct_responses may impact control plane performance');
    f.check(at(path, 'directResponse', 'status'), httpStatusProblem(dr.status));
  }
  checkRetries(http.retries, at(path, 'retries'), f);
  checkRewrite(http.rewrite, at(path, 'rewrite'), f);
}

function checkRedirect(r: HTTPRedirect | undefined, path: Path, f: Findings): void {
  if (r === undefined) return;
  const empty = (s: string | undefined): boolean => s === undefined || s === '';
  if (empty(r.uri) && empty(r.authority) && empty(r.scheme) && empty(r.prefixRewrite) && r.port === undefined && r.derivePort === undefined) {
    f.error(path, 'redirect must specify URI, authority, scheme, or port');
  }
  if (r.redirectCode !== undefined && r.redirectCode !== 0 && (r.redirectCode < 300 || r.redirectCode > 399)) {
    f.error(at(path, 'redirectCode'), `${r.redirectCode} is not a valid redirect code, must be 3xx`);
  }
  if (!empty(r.scheme) && r.scheme !== 'http' && r.scheme !== 'https') f.error(at(path, 'scheme'), 'invalid redirect scheme, must be "http" or "https"');
  if (r.port !== undefined && r.port > 0) f.check(at(path, 'port'), portProblem(r.port));
}

function checkRetries(r: HTTPRetry | undefined, path: Path, f: Findings): void {
  if (r === undefined) return;
  const attempts = r.attempts ?? 0;
  if (attempts < 0) f.error(at(path, 'attempts'), 'attempts cannot be negative');
  const policySet = r.perTryTimeout !== undefined || (r.retryOn !== undefined && r.retryOn !== '') || (r.retryRemoteLocalities ?? null) !== null;
  if (attempts === 0 && policySet) f.error(path, 'http retry policy configured when attempts are set to 0 (disabled)');
  if (r.retryOn !== undefined && r.retryOn !== '') f.check(at(path, 'retryOn'), ...retryOnProblems(r.retryOn));
}

function checkRewrite(r: HTTPRewrite | undefined, path: Path, f: Findings): void {
  if (r === undefined) return;
  const uri = r.uri !== undefined && r.uri !== '';
  if (uri && r.uriRegexRewrite !== undefined) {
    f.error(path, 'rewrite may only contain one of URI or UriRegexRewrite');
    return;
  }
  if (!uri && r.uriRegexRewrite === undefined && (r.authority ?? '') === '') {
    f.error(path, 'rewrite must specify at least one of URI, UriRegexRewrite, or authority. Only one of URI or UriRegexRewrite may be specified');
    return;
  }
  const rr = r.uriRegexRewrite;
  if (rr === undefined) return;
  if ((rr.match ?? '') === '' || (rr.rewrite ?? '') === '') {
    f.error(at(path, 'uriRegexRewrite'), 'UriRegexRewrite has errors: UriRegexRewrite requires both Rewrite and Match fields to be specified');
  } else {
    const problem = regexProblem(rr.match ?? '', 'HTTPRewrite.UriRegexRewrite.Match');
    if (problem !== undefined) f.error(at(path, 'uriRegexRewrite', 'match'), `UriRegexRewrite has errors: ${problem}`);
  }
}

function checkFault(fault: HTTPFaultInjection | undefined, path: Path, f: Findings): void {
  if (fault === undefined) return;
  if (fault.abort === undefined && fault.delay === undefined) f.error(path, 'HTTP fault injection must have an abort and/or a delay');
  const abort = fault.abort;
  if (abort !== undefined) {
    const p = at(path, 'abort');
    f.check(at(p, 'percentage'), percentageProblem(abort.percentage));
    if (abort.grpcStatus !== undefined) f.check(at(p, 'grpcStatus'), grpcStatusProblem(abort.grpcStatus));
    else if (abort.http2Error !== undefined) f.error(at(p, 'http2Error'), 'HTTP/2 abort fault injection not supported yet');
    else if (abort.httpStatus !== undefined) f.check(at(p, 'httpStatus'), httpStatusProblem(abort.httpStatus));
    else f.warn(p, 'abort configured, but error type not set');
  }
  const delay = fault.delay;
  if (delay !== undefined) {
    const p = at(path, 'delay');
    f.check(at(p, 'percentage'), percentageProblem(delay.percentage));
    if (delay.percent !== undefined && (delay.percent < 0 || delay.percent > 100)) {
      f.error(at(p, 'percent'), `percentage ${delay.percent} is not in range 0..100`);
    }
    if (delay.exponentialDelay !== undefined) f.error(at(p, 'exponentialDelay'), 'exponentialDelay not supported yet');
    if (delay.fixedDelay === undefined && delay.exponentialDelay === undefined) f.warn(p, 'delay configured, but fixedDelay not set');
  }
}

function checkCors(cors: CorsPolicy | undefined, path: Path, f: Findings): void {
  if (cors === undefined) return;
  cors.allowOrigins?.forEach((o, i) => {
    const p = at(path, 'allowOrigins', i);
    const value = o.exact ?? o.prefix ?? o.regex ?? '';
    if (isEmptyStringMatch(o) || value === '') f.error(p, `'${value}' is not a valid match type for CORS allow origins`);
    else f.check(p, stringMatchProblem(o, 'corsPolicy.allowOrigins'));
  });
  cors.allowMethods?.forEach((m, i) => f.check(at(path, 'allowMethods', i), methodProblem(m)));
  cors.allowHeaders?.forEach((h, i) => f.check(at(path, 'allowHeaders', i), corsHeaderNameProblem(h)));
  cors.exposeHeaders?.forEach((h, i) => f.check(at(path, 'exposeHeaders', i), corsHeaderNameProblem(h)));
  if (cors.maxAge !== undefined) {
    const nanos = parseDurationNanos(cors.maxAge);
    // Access-Control-Max-Age is a number of seconds.
    if (nanos !== undefined && nanos % 1_000_000_000n !== 0n) f.error(at(path, 'maxAge'), 'max_age duration is accurate only to seconds precision');
  }
}
