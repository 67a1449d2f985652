/**
 * The check with an HTTP authorization service (`envoyExtAuthzHttp`), sent on the pool requests to
 * the provider's cluster take (`ExtAuthzUpstreams.http`): a request with the client's method and
 * path (after `pathPrefix`), the headers `includeRequestHeadersInCheck` names (Envoy
 * always sends Host, Method, Path, Content-Length and Authorization) and
 * `includeAdditionalHeadersInCheck`, no body. A 200 allows — `headersToUpstreamOnAllow` onto the
 * forwarded request, `headersToDownstreamOnAllow` onto the client's response —, a 5xx (or no
 * answer) is an error, any other status denies with the service's status, body and the headers
 * `headersToDownstreamOnDeny` names (all of them when unset).
 */
import type { ExtAuthzProviderConfig } from '../../../snapshot/index.js';
import { valueTest } from '../authz/rules.js';
import type { HeaderView, HeaderMutator, HttpFilterRequest } from '../http-filter.js';
import type { Cancel } from '../verdict.js';
import type { CheckOutcome, ExtAuthzUpstreams, HeaderEdit } from './check.js';

/** Headers Envoy sends to an HTTP authorization service whatever the config says. */
const ALWAYS_SENT = ['authorization'];
/** Never copied from the service's answer. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date', 'server', 'upgrade', 'proxy-connection', 'te', 'trailer']);

type NameTest = (name: string) => boolean;

/** Istio's header name lists: exact (any case), `prefix*`, `*suffix`; null matches every name. */
function nameTest(names: readonly string[] | undefined): NameTest | null {
  if (names === undefined) return null;
  const tests = names.map((n) => valueTest(n.toLowerCase()));
  return (name) => tests.some((t) => t(name));
}

/** An HTTP provider compiled once per snapshot. */
export interface HttpCheckProvider {
  readonly config: ExtAuthzProviderConfig;
  readonly timeoutMs: number;
  /** Request headers sent by name, and the `prefix*` / `*suffix` patterns (null: none). */
  readonly includeNames: readonly string[];
  readonly includePatterns: NameTest | null;
  readonly toUpstream: NameTest | null;
  readonly toDownstreamOnDeny: NameTest | null;
  readonly toDownstreamOnAllow: NameTest | null;
}

export function compileHttpProvider(p: ExtAuthzProviderConfig, timeoutMs: number): HttpCheckProvider {
  const listed = (p.includeRequestHeadersInCheck ?? []).map((n) => n.toLowerCase());
  const patterns = listed.filter((n) => n.length > 1 && (n.startsWith('*') || n.endsWith('*')));
  return {
    config: p,
    timeoutMs,
    includeNames: [...new Set([...ALWAYS_SENT, ...listed.filter((n) => !patterns.includes(n))])],
    includePatterns: patterns.length === 0 ? null : nameTest(patterns),
    toUpstream: p.headersToUpstreamOnAllow === undefined ? null : nameTest(p.headersToUpstreamOnAllow),
    toDownstreamOnDeny: nameTest(p.headersToDownstreamOnDeny),
    toDownstreamOnAllow: p.headersToDownstreamOnAllow === undefined ? null : nameTest(p.headersToDownstreamOnAllow),
  };
}

/** Headers whose lowercase names can be listed (the request path's header list), for `prefix*` patterns. */
type ListedHeaders = HeaderView & HeaderMutator & { readonly lower?: readonly string[] };

/** The check request's headers: those listed and present, the additional ones, Host and an empty body's length. */
function checkHeaders(req: HttpFilterRequest, p: HttpCheckProvider): [string, string][] {
  const out = new Map<string, string>();
  for (const name of p.includeNames) {
    const v = req.headers.get(name);
    if (v !== undefined) out.set(name, v);
  }
  const patterns = p.includePatterns;
  if (patterns !== null) {
    for (const name of (req.headers as ListedHeaders).lower ?? []) {
      const v = patterns(name) ? req.headers.get(name) : undefined;
      if (v !== undefined) out.set(name, v);
    }
  }
  for (const [k, v] of Object.entries(p.config.includeAdditionalHeadersInCheck ?? {})) out.set(k.toLowerCase(), v);
  out.set('host', req.authority);
  out.set('content-length', '0');
  return [...out];
}

/** The filter's reading of the service's answer. */
export function httpCheckOutcome(p: HttpCheckProvider, status: number, headers: readonly (readonly [string, string])[], body: string): CheckOutcome {
  if (status >= 500) return { kind: 'error', reason: `status ${status} from the authorization service` };
  if (status === 200) {
    const upstream: HeaderEdit[] = [];
    const downstream: HeaderEdit[] = [];
    const toUpstream = p.toUpstream;
    const toDownstream = p.toDownstreamOnAllow;
    for (const [k, v] of headers) {
      if (HOP_BY_HOP.has(k)) continue;
      if (toUpstream !== null && toUpstream(k)) upstream.push({ name: k, value: v, action: 'overwrite' });
      if (toDownstream !== null && toDownstream(k)) downstream.push({ name: k, value: v, action: 'add' });
    }
    return { kind: 'allow', upstream, removeUpstream: [], downstream };
  }
  const deny = p.toDownstreamOnDeny;
  return { kind: 'deny', status, body, headers: headers.filter(([k]) => !HOP_BY_HOP.has(k) && (deny === null || deny(k))) };
}

/** Sends the check for `req` to the provider's cluster; `done` hears the outcome once, unless cancelled. */
export function sendHttpCheck(upstreams: ExtAuthzUpstreams, p: HttpCheckProvider, req: HttpFilterRequest, done: (o: CheckOutcome) => void): Cancel {
  const call = { method: req.method, path: `${p.config.pathPrefix ?? ''}${req.path}`, headers: checkHeaders(req, p), timeoutMs: p.timeoutMs };
  return upstreams.http(p.config.cluster, call, (failure, answer) => {
    if (failure !== null || answer === null) return done({ kind: 'error', reason: failure ?? 'no answer' });
    done(httpCheckOutcome(p, answer.status, answer.headers, answer.body.toString('utf8')));
  });
}
