/**
 * VirtualService `http` rules → the router's routes for one proxy and port: matches (decided
 * ahead of time where Istio does), weighted destinations with their header operations and hash
 * policies, redirects, direct responses, rewrites, timeouts, retries (Istio's default policy when
 * a rule sets none), faults, mirrors and CORS; delegate rules inlined. Also the default route
 * to a service when no VirtualService applies.
 */
import type { Destination } from '../../api/kinds/networking/common.js';
import type { CorsPolicy as IstioCors, HTTPFaultInjection, HTTPRetry } from '../../api/kinds/networking/http-policies.js';
import type { HTTPMatchRequest, HTTPRoute } from '../../api/kinds/networking/virtual-service.js';
import { parseDuration } from '../../api/duration.js';
import { RouteConfigError, retryPolicyFromIstio } from '../../snapshot/index.js';
import type { CorsPolicy, FaultInjection, HeaderOps, MirrorPolicy, RetryPolicy, Rewrite, Route, RouteAction, RouteMatch, WeightedCluster } from '../../snapshot/index.js';
import { destinationHashPolicy, resolveDestination, type DestinationScope, type ResolvedDestination } from './destinations.js';
import { mergeDelegateMatch, resolveMatches, stringMatch, type MatchScope } from './match.js';
import type { VirtualServiceEntry } from './push-context.js';

export type RouteScope = MatchScope & DestinationScope & { warn: (message: string) => void };

/** The routes of a VirtualService's `http` rules that apply to this proxy and port, in order. */
export function httpRoutesOf(vs: VirtualServiceEntry, scope: RouteScope): Route[] {
  const out: Route[] = [];
  (vs.spec.http ?? []).forEach((rule, i) => {
    if (rule.delegate !== undefined) {
      out.push(...delegateRoutes(vs, rule, i, scope));
      return;
    }
    const route = translateRule(vs, rule, rule.match, vs.namespace, `${vs.namespace}/${vs.name} http[${i}]`, scope);
    if (route !== undefined) out.push(route);
  });
  return out;
}

/** Istio's route name: the rule's `name`, else `<vs-name>.<namespace>`. */
function routeName(vs: VirtualServiceEntry, rule: HTTPRoute): string {
  return rule.name !== undefined && rule.name !== '' ? rule.name : `${vs.name}.${vs.namespace}`;
}

function translateRule(
  vs: VirtualServiceEntry,
  rule: HTTPRoute,
  matches: readonly HTTPMatchRequest[] | undefined,
  ruleNamespace: string,
  where: string,
  scope: RouteScope,
): Route | undefined {
  const match = resolveMatches(matches, vs.namespace, scope);
  if (match === null) return undefined;
  let action: RouteAction | undefined;
  try {
    action = actionOf(rule, ruleNamespace, scope);
  } catch (err) {
    if (!(err instanceof RouteConfigError)) throw err;
    scope.warn(`${where}: ${err.message}; rule left out`);
    return undefined;
  }
  if (action === undefined) {
    scope.warn(`${where}: no route, redirect or directResponse; rule left out`);
    return undefined;
  }
  const route: Route = { name: routeName(vs, rule), match, action };
  const fault = faultOf(rule.fault, where, scope);
  if (fault !== undefined) route.fault = fault;
  const cors = corsOf(rule.corsPolicy);
  if (cors !== undefined) route.cors = cors;
  const req = headerOps(rule.headers?.request);
  if (req !== undefined) route.requestHeaders = req;
  const resp = headerOps(rule.headers?.response);
  if (resp !== undefined) route.responseHeaders = resp;
  return route;
}

/** A delegating rule's matches combined with each of the delegate's rules (one level, as Istio). */
function delegateRoutes(vs: VirtualServiceEntry, rule: HTTPRoute, i: number, scope: RouteScope): Route[] {
  const ref = rule.delegate!;
  const ns = ref.namespace !== undefined && ref.namespace !== '' ? ref.namespace : vs.namespace;
  const where = `${vs.namespace}/${vs.name} http[${i}]`;
  const delegate = ref.name === undefined ? undefined : scope.index.virtualServiceByName(ns, ref.name);
  if (delegate === undefined || delegate.hosts.length > 0) {
    scope.warn(`${where}: delegate ${ns}/${ref.name ?? ''} is not a VirtualService without hosts; rule left out`);
    return [];
  }
  const out: Route[] = [];
  (delegate.spec.http ?? []).forEach((leaf, j) => {
    if (leaf.delegate !== undefined) return;
    let matches: HTTPMatchRequest[] | undefined;
    const rootMatches = rule.match ?? [];
    const leafMatches = leaf.match ?? [];
    if (rootMatches.length === 0) matches = leafMatches;
    else if (leafMatches.length === 0) matches = rootMatches;
    else {
      matches = [];
      for (const r of rootMatches) for (const l of leafMatches) {
        const merged = mergeDelegateMatch(r, l);
        if (merged !== undefined) matches.push(merged);
      }
      if (matches.length === 0) return;
    }
    const named = leaf.name !== undefined && leaf.name !== '' ? leaf : { ...leaf, name: routeName(delegate, leaf) };
    const route = translateRule(vs, named, matches, delegate.namespace, `${where} delegate http[${j}]`, scope);
    if (route !== undefined) out.push(route);
  });
  return out;
}

function ms(d: string | undefined): number | undefined {
  return d === undefined ? undefined : parseDuration(d);
}

function actionOf(rule: HTTPRoute, ns: string, scope: RouteScope): RouteAction | undefined {
  if (rule.redirect !== undefined) {
    const r = rule.redirect;
    const out: RouteAction = { type: 'redirect' };
    if (r.uri !== undefined) out.uri = r.uri;
    if (r.authority !== undefined) out.authority = r.authority;
    if (r.port !== undefined) out.port = r.port;
    if (r.derivePort !== undefined) out.derivePort = r.derivePort;
    if (r.scheme !== undefined) out.scheme = r.scheme;
    if (r.redirectCode !== undefined && r.redirectCode !== 0) out.redirectCode = r.redirectCode;
    return out;
  }
  if (rule.directResponse !== undefined) {
    const d = rule.directResponse;
    const out: RouteAction = { type: 'direct', status: d.status };
    if (d.body?.string !== undefined) out.body = d.body.string;
    else if (d.body?.bytes !== undefined) out.body = Buffer.from(d.body.bytes, 'base64').toString('utf8');
    return out;
  }
  if (rule.route === undefined || rule.route.length === 0) return undefined;
  const single = rule.route.length === 1;
  const destinations: WeightedCluster[] = rule.route.map((rd) => {
    const dest = resolveDestination(rd.destination, ns, scope);
    // A lone destination takes all traffic; with several, an unset weight is 0 (Istio).
    const wc: WeightedCluster = { cluster: dest.cluster, weight: rd.weight ?? (single ? 100 : 0) };
    const req = headerOps(rd.headers?.request);
    if (req !== undefined) wc.requestHeaders = req;
    const resp = headerOps(rd.headers?.response);
    if (resp !== undefined) wc.responseHeaders = resp;
    addHashPolicy(wc, dest, scope);
    return wc;
  });
  const out: RouteAction = { type: 'route', destinations };
  const timeout = ms(rule.timeout);
  if (timeout !== undefined && timeout > 0) out.timeoutMs = timeout;
  // A rule without `retries` takes the mesh's default policy (MeshConfig defaultHttpRetryPolicy), as Istio's routes do.
  const retry = rule.retries !== undefined ? retryPolicyOf(rule.retries, 'retries') : retryPolicyOf(scope.index.mesh.defaultHttpRetry, 'defaultHttpRetryPolicy');
  if (retry !== undefined) out.retry = retry;
  const mirrors = mirrorsOf(rule, ns, scope);
  if (mirrors.length > 0) out.mirrors = mirrors;
  const rewrite = rewriteOf(rule);
  if (rewrite !== undefined) out.rewrite = rewrite;
  return out;
}

function addHashPolicy(wc: WeightedCluster, dest: ResolvedDestination, scope: RouteScope): void {
  const hp = destinationHashPolicy(dest, scope);
  if (hp !== undefined) wc.hashPolicy = hp;
}

function mirrorsOf(rule: HTTPRoute, ns: string, scope: RouteScope): MirrorPolicy[] {
  const out: MirrorPolicy[] = [];
  const add = (d: Destination, percent: number | undefined): void => {
    const m: MirrorPolicy = { cluster: resolveDestination(d, ns, scope).cluster };
    if (percent !== undefined) m.percent = Math.min(Math.max(percent, 0), 100);
    out.push(m);
  };
  if (rule.mirror !== undefined) {
    const legacy = rule.mirrorPercent ?? rule.mirror_percent;
    add(rule.mirror, rule.mirrorPercentage?.value ?? (legacy === null ? undefined : legacy));
  }
  for (const m of rule.mirrors ?? []) add(m.destination, m.percentage?.value);
  return out;
}

function rewriteOf(rule: HTTPRoute): Rewrite | undefined {
  const rw = rule.rewrite;
  if (rw === undefined) return undefined;
  const out: Rewrite = {};
  if (rw.uri !== undefined && rw.uri !== '') out.uri = rw.uri;
  if (rw.authority !== undefined && rw.authority !== '') out.authority = rw.authority;
  if (rw.uriRegexRewrite?.match !== undefined) out.uriRegex = { match: rw.uriRegexRewrite.match, rewrite: rw.uriRegexRewrite.rewrite ?? '' };
  return Object.keys(out).length === 0 ? undefined : out;
}

function faultOf(f: HTTPFaultInjection | undefined, where: string, scope: RouteScope): FaultInjection | undefined {
  if (f === undefined) return undefined;
  const out: FaultInjection = {};
  if (f.delay !== undefined) {
    const delay = ms(f.delay.fixedDelay);
    if (delay === undefined) scope.warn(`${where}: fault.delay without fixedDelay (exponentialDelay is not supported) is left out`);
    else {
      out.delay = { fixedDelayMs: delay };
      const percent = f.delay.percentage?.value ?? f.delay.percent;
      if (percent !== undefined) out.delay.percent = percent;
    }
  }
  if (f.abort !== undefined) {
    const a = f.abort;
    if (a.httpStatus === undefined && a.grpcStatus === undefined) scope.warn(`${where}: fault.abort without httpStatus or grpcStatus (http2Error is not supported) is left out`);
    else {
      out.abort = a.httpStatus !== undefined ? { httpStatus: a.httpStatus } : { grpcStatus: a.grpcStatus };
      if (a.percentage?.value !== undefined) out.abort.percent = a.percentage.value;
    }
  }
  return out.delay === undefined && out.abort === undefined ? undefined : out;
}

function corsOf(c: IstioCors | undefined): CorsPolicy | undefined {
  if (c === undefined) return undefined;
  const out: CorsPolicy = {};
  const origins = [...(c.allowOrigins ?? []).map(stringMatch).filter((m) => m !== undefined), ...(c.allowOrigin ?? []).map((o) => ({ exact: o }))];
  if (origins.length > 0) out.allowOrigins = origins;
  if (c.allowMethods !== undefined) out.allowMethods = c.allowMethods;
  if (c.allowHeaders !== undefined) out.allowHeaders = c.allowHeaders;
  if (c.exposeHeaders !== undefined) out.exposeHeaders = c.exposeHeaders;
  const maxAge = ms(c.maxAge);
  if (maxAge !== undefined) out.maxAgeSeconds = Math.floor(maxAge / 1000);
  if (c.allowCredentials !== undefined && c.allowCredentials !== null) out.allowCredentials = c.allowCredentials;
  if (c.unmatchedPreflights === 'FORWARD' || c.unmatchedPreflights === 'IGNORE') out.unmatchedPreflights = c.unmatchedPreflights;
  return out;
}

function headerOps(h: { set?: Record<string, string>; add?: Record<string, string>; remove?: string[] } | undefined): HeaderOps | undefined {
  if (h === undefined) return undefined;
  const out: HeaderOps = {};
  if (h.set !== undefined && Object.keys(h.set).length > 0) out.set = { ...h.set };
  if (h.add !== undefined && Object.keys(h.add).length > 0) out.add = { ...h.add };
  if (h.remove !== undefined && h.remove.length > 0) out.remove = [...h.remove];
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * The retry policy of an Istio `HTTPRetry`: absent, Istio's default policy; `attempts` 0, none.
 * Throws RouteConfigError on retryOn parts Istio would reject.
 */
export function retryPolicyOf(r: HTTPRetry | undefined, where: string): RetryPolicy | undefined {
  return retryPolicyFromIstio(
    r === undefined
      ? undefined
      : {
          ...(r.attempts !== undefined ? { attempts: r.attempts } : {}),
          ...(r.perTryTimeout !== undefined ? { perTryTimeoutMs: ms(r.perTryTimeout) } : {}),
          ...(r.retryOn !== undefined ? { retryOn: r.retryOn } : {}),
          ...(r.retryRemoteLocalities !== undefined && r.retryRemoteLocalities !== null ? { retryRemoteLocalities: r.retryRemoteLocalities } : {}),
          ...(r.retryIgnorePreviousHosts !== undefined && r.retryIgnorePreviousHosts !== null ? { retryIgnorePreviousHosts: r.retryIgnorePreviousHosts } : {}),
          ...(r.backoff !== undefined ? { backoffMs: ms(r.backoff) } : {}),
        },
    where,
  );
}

/**
 * The route to a service port when no VirtualService applies: all endpoints, and for HTTP the
 * mesh's default retries (`defaultRetry`: MeshConfig defaultHttpRetryPolicy; absent, Istio's).
 */
export function defaultRoute(cluster: string, http: boolean, hashPolicy?: WeightedCluster['hashPolicy'], defaultRetry?: HTTPRetry): Route {
  const wc: WeightedCluster = { cluster, weight: 100 };
  if (hashPolicy !== undefined) wc.hashPolicy = hashPolicy;
  const action: RouteAction = { type: 'route', destinations: [wc] };
  if (http) {
    const retry = retryPolicyOf(defaultRetry, 'defaultHttpRetryPolicy');
    if (retry !== undefined) action.retry = retry;
  }
  return { name: 'default', match: [], action };
}

export type { RouteMatch };
