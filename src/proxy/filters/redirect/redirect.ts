/**
 * The redirect answer of a route (Istio `HTTPRoute.redirect`): the `location` built the way
 * Envoy's RedirectAction builds it — scheme, host, port and path each replaced or carried over from
 * the request, default ports dropped — answered with the redirect code and no body.
 */
import { RouteConfigError } from '../../../snapshot/index.js';
import type { RedirectAction } from '../../../snapshot/index.js';
import type { HttpFilterRequest, LocalReply } from '../http-filter.js';
import { DIRECT_RESPONSE } from './direct-response.js';

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

/** What a redirect reads of the request. */
export type RedirectRequest = Pick<HttpFilterRequest, 'scheme' | 'authority' | 'path' | 'port'>;

/** A route's redirect, compiled. */
export interface RedirectFilter {
  readonly name: 'redirect';
  readonly code: number;
  location(req: RedirectRequest): string;
  /** The redirect answer for `req`. */
  decide(req: RedirectRequest): LocalReply;
}

/** Compiles a redirect action; throws `RouteConfigError` naming the field. */
export function compileRedirect(a: RedirectAction, where: string): RedirectFilter {
  const code = a.redirectCode === undefined || a.redirectCode === 0 ? 301 : a.redirectCode;
  if (!REDIRECT_CODES.has(code)) {
    throw new RouteConfigError(`${where}.redirectCode`, `${code} is not a redirect code (301, 302, 303, 307, 308)`);
  }
  if (a.port !== undefined && (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535)) {
    throw new RouteConfigError(`${where}.port`, `${a.port} is not a port number`);
  }
  if (a.port !== undefined && a.derivePort !== undefined) {
    throw new RouteConfigError(where, 'port and derivePort are mutually exclusive');
  }
  if (a.derivePort !== undefined && a.derivePort !== 'FROM_PROTOCOL_DEFAULT' && a.derivePort !== 'FROM_REQUEST_PORT') {
    throw new RouteConfigError(`${where}.derivePort`, `must be FROM_PROTOCOL_DEFAULT or FROM_REQUEST_PORT, not ${String(a.derivePort)}`);
  }
  const uri = a.uri === undefined || a.uri === '' ? undefined : a.uri;
  const uriHasQuery = uri !== undefined && uri.includes('?');
  const authority = a.authority === undefined || a.authority === '' ? undefined : a.authority;
  const scheme = a.scheme === undefined || a.scheme === '' ? undefined : a.scheme.toLowerCase();
  const explicitPort = a.port;
  const fromRequestPort = a.derivePort === 'FROM_REQUEST_PORT';

  const filter: RedirectFilter = {
    name: 'redirect',
    code,
    location(req) {
      const finalScheme = scheme ?? req.scheme;
      let port = explicitPort ?? (fromRequestPort ? req.port : 0);
      // Istio never writes an explicit default port for the scheme it redirects to.
      if ((port === 80 && finalScheme === 'http') || (port === 443 && finalScheme === 'https')) port = 0;
      const portPart = port > 0 ? `:${port}` : '';
      const host = authority ?? requestHost(req.authority, req.scheme, finalScheme, portPart !== '');
      let path: string;
      if (uri === undefined) {
        path = req.path;
      } else if (uriHasQuery) {
        path = uri;
      } else {
        const q = req.path.indexOf('?');
        path = q < 0 ? uri : uri + req.path.slice(q);
      }
      return `${finalScheme}://${host}${portPart}${path}`;
    },
    decide(req) {
      return { kind: 'reply', status: code, body: '', headers: [['location', filter.location(req)]], flags: 0, details: DIRECT_RESPONSE };
    },
  };
  return filter;
}

/**
 * The request's host for the redirect: its port is dropped when a new port is given, or when the
 * scheme changes and the port was the old scheme's default (`http://a:80` → `https://a`).
 */
function requestHost(host: string, fromScheme: string, toScheme: string, newPort: boolean): string {
  let end: number;
  if (host.startsWith('[')) {
    end = host.lastIndexOf(']:');
    if (end >= 0) end += 1;
  } else {
    end = host.lastIndexOf(':');
  }
  if (end < 0) return host;
  const port = host.slice(end);
  let remove = newPort;
  if (toScheme !== fromScheme) {
    remove ||= (fromScheme === 'https' && port === ':443') || (fromScheme === 'http' && port === ':80');
  }
  return remove ? host.slice(0, end) : host;
}
