/**
 * Who may use skiffd's HTTP API. Checked before any endpoint runs, in this order:
 *
 *   1. `Host` is one of the API's loopback names with its port (or a name the deployment added):
 *      403 otherwise, so a page whose DNS name was rebound to 127.0.0.1 cannot reach it;
 *   2. an `Origin`, when sent, is the API itself: 403 otherwise (a cross-site fetch or form post);
 *   3. `Authorization: Bearer <token>` carries the API token (`api-token.ts`): 401 otherwise;
 *   4. a POST body is `application/json`: 415 otherwise (an HTML form can only send
 *      `text/plain`, `multipart/form-data` or `application/x-www-form-urlencoded`).
 *
 * The span collector (`POST /api/v2/spans`, where proxies send Zipkin spans as any Zipkin client
 * may) takes no token but passes the other three checks.
 */
import type { IncomingMessage } from 'node:http';
import { loopbackHosts, loopbackRefusal } from '../dashboard/loopback.js';
import { tokenMatches } from './api-token.js';

export interface ApiAccess {
  /** The bearer token every request but the span collector's must carry. */
  token: string;
  /** Where clients read the token, for the 401's message. */
  tokenFile: string;
  /**
   * `Host` values accepted besides the loopback names with the API's port (`host:port`, e.g. the
   * name a port-forward or a Kubernetes Service gives it).
   */
  extraHosts?: readonly string[];
  /** Paths served without the token (the span collector). */
  open: ReadonlySet<string>;
}

export interface Refusal {
  status: 401 | 403 | 415;
  error: string;
  headers?: Record<string, string>;
}

/** Why `req` may not be served, or undefined when it may. */
export function apiRefusal(req: IncomingMessage, path: string, access: ApiAccess): Refusal | undefined {
  const hosts = [...loopbackHosts(req.socket.localPort ?? 0), ...(access.extraHosts ?? [])];
  const local = loopbackRefusal(req, hosts, "skiffd's API");
  if (local !== undefined) return local;
  if (!access.open.has(path)) {
    const presented = bearerToken(req.headers.authorization);
    if (presented === undefined || !tokenMatches(presented, access.token)) {
      const why = presented === undefined ? 'needs its token' : 'refuses this token';
      return {
        status: 401,
        error: `skiffd's API ${why}: send "Authorization: Bearer <token>" with the token in ${access.tokenFile} (the skiff CLI does)`,
        headers: { 'www-authenticate': 'Bearer realm="skiffd"' },
      };
    }
  }
  if (req.method === 'POST' && !isJson(req.headers['content-type'])) {
    return { status: 415, error: `${path} takes an application/json body (got ${req.headers['content-type'] === undefined ? 'no content-type' : `"${req.headers['content-type']}"`})` };
  }
  return undefined;
}

function bearerToken(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** `application/json`, with or without parameters (`; charset=utf-8`). */
function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';')[0].trim().toLowerCase() === 'application/json';
}
