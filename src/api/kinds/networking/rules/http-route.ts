/**
 * Istio's checks of one VirtualService HTTP route: which actions may be combined (route,
 * redirect, direct response, delegate), matches, rewrites, retries, faults, mirrors, CORS and
 * weighted destinations.
 */
import type { StringMatch } from '../common.js';
import type { HTTPMatchRequest, HTTPRoute, HTTPRouteDestination } from '../virtual-service.js';
import { at, type Findings, type Path } from './findings.js';
import {
  headerNameOrJwtClaimProblem, isAuthorityHeader, isEmptyStringMatch, stringMatchProblem,
} from './http-checks.js';
import { checkHTTPActions } from './http-actions.js';
import { isDNS1123Label, portProblem } from './names.js';
import { checkDestination, checkGatewayNames, checkHeaderOperations, checkLabels } from './shared.js';

type RouteType = 'independent' | 'root' | 'delegate';

export function checkHTTPRoute(http: HTTPRoute, inDelegate: boolean, path: Path, f: Findings): void {
  const type: RouteType = inDelegate ? 'delegate' : http.delegate !== undefined ? 'root' : 'independent';
  checkConflicts(http, type, path, f);
  (http.match ?? []).forEach((m, i) => checkMatch(m, at(path, 'match', i), f));
  checkHeaderOperations(http.headers, at(path, 'headers'), f);
  checkHTTPActions(http, path, f);
  checkAuthorityRewrite(http, path, f);
  checkRouteDestinations(http.route, at(path, 'route'), f);
}

function checkConflicts(http: HTTPRoute, type: RouteType, path: Path, f: Findings): void {
  const name = http.name ?? '';
  if (type === 'root') {
    // A delegating rule only selects traffic; the delegate VirtualService decides what happens to it.
    if (http.redirect !== undefined) f.error(at(path, 'redirect'), `root HTTP route ${name} must not specify redirect`);
    if (http.route !== undefined) f.error(at(path, 'route'), `root HTTP route ${name} must not specify route`);
    return;
  }
  if (type === 'delegate' && http.delegate !== undefined) f.error(at(path, 'delegate'), 'delegate HTTP route cannot contain delegate');
  const hasRoute = (http.route?.length ?? 0) > 0;
  if (http.redirect !== undefined) {
    if (hasRoute) f.error(path, 'HTTP route cannot contain both route and redirect');
    if (http.fault !== undefined) f.error(path, 'HTTP route cannot contain both fault and redirect');
    if (http.rewrite !== undefined) f.error(path, 'HTTP route rule cannot contain both rewrite and redirect');
    if (http.directResponse !== undefined) f.error(path, 'HTTP route rule cannot contain both direct_response and redirect');
  } else if (http.directResponse !== undefined) {
    if (hasRoute) f.error(path, 'HTTP route cannot contain both route and direct_response');
    if (http.fault !== undefined) f.error(path, 'HTTP route cannot contain both fault and direct_response');
    if (http.rewrite !== undefined) f.error(path, 'HTTP route rule cannot contain both rewrite and direct_response');
  } else if (!hasRoute) {
    f.error(path, 'HTTP route, redirect or direct_response is required');
  }
  if (http.mirror !== undefined && (http.mirrors?.length ?? 0) > 0) f.error(path, 'HTTP route cannot contain both mirror and mirrors');
}

/** uri/scheme/method/authority must say how to match; an empty `{}` there is almost surely a mistake. */
function checkSingleMatch(sm: StringMatch | undefined, field: string, path: Path, f: Findings): void {
  if (sm === undefined) return;
  if (isEmptyStringMatch(sm)) {
    f.error(at(path, field), `"${field}": one of exact, prefix or regex must be set`);
    return;
  }
  f.check(at(path, field), stringMatchProblem(sm, field, field === 'uri'));
}

function checkHeaderMatch(name: string, p: Path, f: Findings): void {
  f.check(p, headerNameOrJwtClaimProblem(name));
  if (name !== name.toLowerCase() && !name.startsWith('@')) {
    // Envoy compares header names case-insensitively, so this still works; Istio documents lowercase.
    f.warn(p, `header name "${name}" should be lowercase (header names are matched case-insensitively)`);
  }
}

function checkMatch(m: HTTPMatchRequest, path: Path, f: Findings): void {
  for (const [name, sm] of Object.entries(m.headers ?? {})) {
    const p = at(path, 'headers', name);
    checkHeaderMatch(name, p, f);
    f.check(p, stringMatchProblem(sm, 'headers'));
  }
  for (const [name, sm] of Object.entries(m.withoutHeaders ?? {})) {
    const p = at(path, 'withoutHeaders', name);
    checkHeaderMatch(name, p, f);
    // `regex: "*"` is Istio's "header present" shorthand, not an RE2 pattern.
    if (sm.regex !== '*') f.check(p, stringMatchProblem(sm, 'withoutHeaders'));
  }
  checkSingleMatch(m.uri, 'uri', path, f);
  checkSingleMatch(m.scheme, 'scheme', path, f);
  checkSingleMatch(m.method, 'method', path, f);
  checkSingleMatch(m.authority, 'authority', path, f);
  for (const [name, sm] of Object.entries(m.queryParams ?? {})) f.check(at(path, 'queryParams', name), stringMatchProblem(sm, 'queryParams'));
  if (m.port !== undefined && m.port !== 0) f.check(at(path, 'port'), portProblem(m.port));
  checkLabels(m.sourceLabels, at(path, 'sourceLabels'), f);
  checkGatewayNames(m.gateways, at(path, 'gateways'), f);
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== '' && !isDNS1123Label(m.sourceNamespace)) {
    f.error(at(path, 'sourceNamespace'), `sourceNamespace match ${m.sourceNamespace} is invalid`);
  }
}

/** The authority may be rewritten in one place only: rewrite.authority or a request header operation. */
function checkAuthorityRewrite(http: HTTPRoute, path: Path, f: Findings): void {
  let current = http.rewrite?.authority ?? '';
  for (const op of ['set', 'add'] as const) {
    for (const [name, value] of Object.entries(http.headers?.request?.[op] ?? {})) {
      if (!isAuthorityHeader(name)) continue;
      if (current !== '') {
        f.error(at(path, 'headers', 'request', op, name), `authority header cannot be set multiple times: have "${current}", attempting to set "${value}"`);
        return;
      }
      current = value;
    }
  }
}

/** Weights are relative; with two or more destinations at least one must get traffic. */
export function checkRouteDestinations(
  dests: ReadonlyArray<Pick<HTTPRouteDestination, 'destination' | 'weight' | 'headers'>> | undefined,
  path: Path,
  f: Findings,
): void {
  if (dests === undefined) return;
  let total = 0;
  dests.forEach((d, i) => {
    checkHeaderOperations(d.headers, at(path, i, 'headers'), f);
    checkDestination(d.destination, at(path, i, 'destination'), f);
    const w = d.weight ?? 0;
    if (w < 0) f.error(at(path, i, 'weight'), `weight ${w} < 0`);
    total += w;
  });
  if (dests.length > 1 && total === 0) f.error(path, 'total destination weight = 0');
}
