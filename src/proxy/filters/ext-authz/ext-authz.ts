/**
 * CUSTOM authorization (Envoy's `envoy.filters.http.ext_authz`): a request an enforced CUSTOM
 * policy matches is checked with the policy's provider, an external service, before DENY and
 * ALLOW policies are evaluated. The HTTP service (`envoyExtAuthzHttp`) gets a request with the
 * client's method and path (after `pathPrefix`), the headers `includeRequestHeadersInCheck` names
 * (Envoy always sends Host, Method, Path, Content-Length and Authorization) and
 * `includeAdditionalHeadersInCheck`; a 200 allows — `headersToUpstreamOnAllow` copied onto the
 * forwarded request, `headersToDownstreamOnAllow` onto the client's response —, any other answer
 * denies with the service's status, body and the headers `headersToDownstreamOnDeny` names (all of
 * them when unset), flag UAEX. A service that cannot be reached, times out or answers 5xx is an
 * error: `statusOnError` (default 403) unless `failOpen` lets the request through.
 *
 * The filter waits for the service (a `Wait`), and lets go of the check when the client leaves.
 * It reaches the service through `ExtAuthzUpstreams`, which the proxy implements over its clusters.
 */
import http from 'node:http';
import type { ExtAuthzProviderConfig } from '../../../snapshot/index.js';
import { ResponseFlag } from '../../../telemetry/response-flags.js';
import type { AuthzEngine } from '../authz/engine.js';
import { requestAttributes } from '../authz/authz-filters.js';
import { localReply, type HeaderMutator, type HeaderView, type HttpFilter, type HttpFilterRequest, type HttpVerdict, type LocalReply } from '../http-filter.js';
import { CONTINUE, waitFor, type Resume } from '../verdict.js';
import { valueTest } from '../authz/rules.js';

/** Where a provider's cluster is: one host its balancer picks, or null when it has none. */
export interface ExtAuthzUpstreams {
  host(cluster: string): { address: string; port: number } | null;
}

/** Envoy's default: 600 s in Istio's mesh config. */
const DEFAULT_TIMEOUT_MS = 600_000;
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

/** A provider compiled once per snapshot. */
interface CompiledProvider {
  readonly config: ExtAuthzProviderConfig;
  readonly timeoutMs: number;
  /** Request headers sent by name, and the `prefix*` / `*suffix` patterns (null: none). */
  readonly includeNames: readonly string[];
  readonly includePatterns: NameTest | null;
  readonly toUpstream: NameTest | null;
  readonly toDownstreamOnDeny: NameTest | null;
  readonly toDownstreamOnAllow: NameTest | null;
  readonly errorReply: LocalReply;
}

function compileProvider(p: ExtAuthzProviderConfig): CompiledProvider {
  const listed = (p.includeRequestHeadersInCheck ?? []).map((n) => n.toLowerCase());
  const patterns = listed.filter((n) => n.length > 1 && (n.startsWith('*') || n.endsWith('*')));
  return {
    config: p,
    timeoutMs: p.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    includeNames: [...new Set([...ALWAYS_SENT, ...listed.filter((n) => !patterns.includes(n))])],
    includePatterns: patterns.length === 0 ? null : nameTest(patterns),
    toUpstream: p.headersToUpstreamOnAllow === undefined ? null : nameTest(p.headersToUpstreamOnAllow),
    toDownstreamOnDeny: nameTest(p.headersToDownstreamOnDeny),
    toDownstreamOnAllow: p.headersToDownstreamOnAllow === undefined ? null : nameTest(p.headersToDownstreamOnAllow),
    errorReply: localReply(p.statusOnError ?? 403, '', ResponseFlag.UAEX, 'ext_authz_error'),
  };
}

/** The service's answer as the filter reads it. */
interface CheckAnswer {
  status: number;
  headers: [string, string][];
  body: string;
}

function checkHeaders(req: HttpFilterRequest, p: CompiledProvider): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const name of p.includeNames) {
    const v = req.headers.get(name);
    if (v !== undefined) out[name] = v;
  }
  const patterns = p.includePatterns;
  if (patterns !== null) {
    for (const name of (req.headers as ListedHeaders).lower ?? []) {
      const v = patterns(name) ? req.headers.get(name) : undefined;
      if (v !== undefined) out[name] = v;
    }
  }
  for (const [k, v] of Object.entries(p.config.includeAdditionalHeadersInCheck ?? {})) out[k.toLowerCase()] = v;
  out.host = req.authority;
  out['content-length'] = '0';
  return out;
}

/** Sends one check; `done` hears the answer, or null when the service failed (unreachable, timeout). */
function check(upstreams: ExtAuthzUpstreams, p: CompiledProvider, req: HttpFilterRequest, done: (a: CheckAnswer | null) => void): () => void {
  const host = upstreams.host(p.config.cluster);
  if (host === null) {
    done(null);
    return () => undefined;
  }
  let settled = false;
  const finish = (a: CheckAnswer | null): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    done(a);
  };
  const creq = http.request({ host: host.address, port: host.port, method: req.method, path: `${p.config.pathPrefix ?? ''}${req.path}`, headers: checkHeaders(req, p), agent: AGENT });
  const timer = setTimeout(() => {
    finish(null);
    creq.destroy();
  }, p.timeoutMs);
  creq.on('error', () => finish(null));
  creq.on('response', (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', () => finish(null));
    res.on('end', () => {
      const headers: [string, string][] = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) headers.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]]);
      finish({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
    });
  });
  creq.end();
  return () => {
    settled = true;
    clearTimeout(timer);
    creq.destroy();
  };
}

const AGENT = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** Headers whose lowercase names can be listed (the request path's header list), for `prefix*` patterns. */
type ListedHeaders = HeaderView & HeaderMutator & { readonly lower?: readonly string[] };

/**
 * The ext_authz filter of a listener: runs the CUSTOM policies of `engine` (the listener's HTTP
 * authorization engine) and calls the matched policy's provider.
 */
export function extAuthzHttpFilter(engine: AuthzEngine, providers: readonly ExtAuthzProviderConfig[], port: number | null, upstreams: ExtAuthzUpstreams): HttpFilter {
  const compiled = new Map(providers.map((p) => [p.name, compileProvider(p)]));
  // Headers of an allowing answer, kept per request for the response side.
  const onAllow = new WeakMap<HttpFilterRequest, [string, string][]>();
  return {
    name: 'envoy.filters.http.ext_authz',
    decide(req: HttpFilterRequest): HttpVerdict {
      const match = engine.custom(requestAttributes(req, port ?? req.port));
      if (match === null) return CONTINUE;
      const p = compiled.get(match.provider);
      if (p === undefined) return CONTINUE;
      if (p.config.kind !== 'http') return p.errorReply;
      return waitFor<HttpVerdict>((resume: Resume<HttpVerdict>) =>
        check(upstreams, p, req, (answer) => {
          if (answer === null || answer.status >= 500) {
            resume(p.config.failOpen === true ? CONTINUE : p.errorReply);
            return;
          }
          if (answer.status === 200) {
            const toUpstream = p.toUpstream;
            if (toUpstream !== null) for (const [k, v] of answer.headers) if (!HOP_BY_HOP.has(k) && toUpstream(k)) req.headers.set(k, v);
            const toDownstream = p.toDownstreamOnAllow;
            if (toDownstream !== null) onAllow.set(req, answer.headers.filter(([k]) => !HOP_BY_HOP.has(k) && toDownstream(k)));
            resume(CONTINUE);
            return;
          }
          const deny = p.toDownstreamOnDeny;
          const headers = answer.headers.filter(([k]) => !HOP_BY_HOP.has(k) && (deny === null || deny(k)));
          resume(localReply(answer.status, answer.body, ResponseFlag.UAEX, 'ext_authz_denied', headers));
        }),
      );
    },
    respond(req, _status, headers): void {
      const add = onAllow.get(req);
      if (add !== undefined) for (const [k, v] of add) headers.append(k, v);
    },
  };
}
