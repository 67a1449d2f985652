/**
 * The CORS filter: Istio `corsPolicy` with the behaviour of Envoy's CORS filter. Preflights with
 * an allowed origin are answered locally, other requests get allow-origin / credentials / expose
 * headers on the response; unmatched preflights are forwarded or answered bare (IGNORE).
 * Compiled per route (`HTTPRoute.corsPolicy`); the preflight is answered right after the route is
 * chosen, before any other route action, as Envoy's CORS filter runs before the router.
 */
import { RouteConfigError } from '../../../snapshot/index.js';
import { compileStringTest, type StringTest } from '../../match/string-match.js';
import type { CorsPolicy } from '../../../snapshot/index.js';
import type { HeaderMutator, HeaderView, HttpFilterRequest, HttpVerdict } from '../http-filter.js';
import { CONTINUE } from '../verdict.js';

/** Header fields as name/value pairs. */
export type CorsHeaders = [name: string, value: string][];

/** The answer to a preflight. */
export interface LocalResponse {
  status: number;
  headers: CorsHeaders;
  body?: string;
}

/** What CORS reads of a request. */
export interface CorsRequest {
  readonly method: string;
  readonly headers: HeaderView;
}

/** A route's CORS policy, compiled. */
export interface CorsFilter {
  readonly name: 'cors';
  /** The local answer to a CORS preflight, or null to go on (not a preflight, or forwarded). */
  preflight(req: CorsRequest): LocalResponse | null;
  /** CORS headers for the response to `req`, or null. */
  responseHeaders(req: CorsRequest): CorsHeaders | null;
  /** Request side: the preflight's answer, or go on. */
  decide(req: HttpFilterRequest): HttpVerdict;
  /** Response side: the CORS headers set on a forwarded response. */
  respond(req: CorsRequest, headers: HeaderMutator): void;
}

/** Compiles `HTTPRoute.corsPolicy`; null without one. Throws `RouteConfigError` naming the field. */
export function compileCors(c: CorsPolicy | undefined, where: string): CorsFilter | null {
  if (c === undefined) return null;
  const origins: StringTest[] = (c.allowOrigins ?? []).map((m, i) => compileStringTest(m, `${where}.allowOrigins[${i}]`));
  if (c.unmatchedPreflights !== undefined && c.unmatchedPreflights !== 'FORWARD' && c.unmatchedPreflights !== 'IGNORE') {
    throw new RouteConfigError(`${where}.unmatchedPreflights`, `must be FORWARD or IGNORE, not ${String(c.unmatchedPreflights)}`);
  }
  if (c.maxAgeSeconds !== undefined && (!Number.isInteger(c.maxAgeSeconds) || c.maxAgeSeconds < 0)) {
    throw new RouteConfigError(`${where}.maxAgeSeconds`, `must be a non-negative whole number of seconds, got ${String(c.maxAgeSeconds)}`);
  }
  const forwardUnmatched = c.unmatchedPreflights !== 'IGNORE';
  // Istio joins the lists with ',' and no space.
  const allowMethods = (c.allowMethods ?? []).join(',');
  const allowHeaders = (c.allowHeaders ?? []).join(',');
  const exposeHeaders = (c.exposeHeaders ?? []).join(',');
  const maxAge = c.maxAgeSeconds === undefined ? '' : String(c.maxAgeSeconds);
  const credentials = c.allowCredentials === true;

  const allowed = (origin: string): boolean => {
    for (const test of origins) if (test('*') || test(origin)) return true;
    return false;
  };

  const filter: CorsFilter = {
    name: 'cors',
    preflight(req) {
      if (req.method !== 'OPTIONS') return null;
      const origin = req.headers.get('origin');
      if (origin === undefined || origin === '') return null;
      const requestMethod = req.headers.get('access-control-request-method');
      if (requestMethod === undefined || requestMethod === '') return null;
      const ok = allowed(origin);
      if (!ok && forwardUnmatched) return null;
      const headers: CorsHeaders = [];
      if (ok) headers.push(['access-control-allow-origin', origin]);
      if (credentials) headers.push(['access-control-allow-credentials', 'true']);
      if (allowMethods !== '') {
        headers.push(['access-control-allow-methods', allowMethods === '*' ? requestMethod : allowMethods]);
      }
      if (allowHeaders !== '') {
        const value = allowHeaders === '*' ? (req.headers.get('access-control-request-headers') ?? '') : allowHeaders;
        if (value !== '') headers.push(['access-control-allow-headers', value]);
      }
      if (maxAge !== '') headers.push(['access-control-max-age', maxAge]);
      return { status: 200, headers };
    },
    responseHeaders(req) {
      const origin = req.headers.get('origin');
      if (origin === undefined || origin === '' || !allowed(origin)) return null;
      const headers: CorsHeaders = [['access-control-allow-origin', origin]];
      if (credentials) headers.push(['access-control-allow-credentials', 'true']);
      if (exposeHeaders !== '') headers.push(['access-control-expose-headers', exposeHeaders]);
      return headers;
    },
    decide(req) {
      const answer = filter.preflight(req);
      if (answer === null) return CONTINUE;
      return { kind: 'reply', status: answer.status, body: answer.body ?? '', headers: answer.headers, flags: 0, details: CORS_RESPONSE };
    },
    respond(req, headers) {
      const cors = filter.responseHeaders(req);
      if (cors !== null) for (const [n, v] of cors) headers.set(n.toLowerCase(), v);
    },
  };
  return filter;
}

/** The details of a preflight's answer; gRPC requests get it as it is, not as a gRPC status. */
export const CORS_RESPONSE = 'cors_response';
