/**
 * httpbin: an HTTP request-and-response service answering as go-httpbin v2.15 (the image of
 * Istio's httpbin sample) does, on the endpoints Istio's tasks and everyday debugging use.
 * Settings as go-httpbin takes them (config.ts); one access-log line per request in the combined
 * format (`"GET /headers HTTP/1.1" 200 ...`), which the mirroring task looks for. Every answer
 * carries go-httpbin's permissive CORS headers, and OPTIONS is answered as a preflight.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runHttpApp } from '../../lib/app-server.js';
import { accessLogLine } from './access-log.js';
import { basicAuth, bearer, hiddenBasicAuth } from './auth.js';
import { ConfigError, readConfig, type HttpbinConfig } from './config.js';
import type { Ctx, Endpoint } from './context.js';
import { cookies, deleteCookies, setCookies } from './cookies.js';
import { anything, delay, get, headers, hostname, ip, responseHeaders, status, userAgent, uuid, withBody } from './echoes.js';
import { base64, bytes, cache, cacheFor, deflate, deny, drip, gzip, robots, stream, streamBytes, unstable } from './payloads.js';
import { absoluteRedirect, redirectN, redirectTo, relativeRedirect } from './redirects.js';
import { send, TEXT_TYPE, writeError } from './respond.js';

interface Route {
  endpoint: Endpoint;
  /** The one method allowed (HEAD too where it is GET); any method when absent. */
  method?: string;
}

const only = (method: string, endpoint: Endpoint): Route => ({ method, endpoint });
const any = (endpoint: Endpoint): Route => ({ endpoint });

const index: Endpoint = (ctx) =>
  send(ctx.res, 200, { 'content-type': TEXT_TYPE }, 'httpbin: HTTP request & response service. Try /get, /headers, /ip, /hostname, /status/418, /delay/1, /anything.\n');

/** Paths answered as they are. */
const EXACT: Readonly<Record<string, Route>> = {
  '/': only('GET', index),
  '/get': only('GET', get),
  '/head': only('HEAD', get),
  '/post': only('POST', withBody),
  '/put': only('PUT', withBody),
  '/patch': only('PATCH', withBody),
  '/delete': only('DELETE', withBody),
  '/anything': any(anything),
  '/headers': any(headers),
  '/ip': any(ip),
  '/user-agent': any(userAgent),
  '/uuid': any(uuid),
  '/hostname': any(hostname),
  '/response-headers': any(responseHeaders),
  '/redirect-to': any(redirectTo),
  '/cookies': any(cookies),
  '/cookies/set': any(setCookies),
  '/cookies/delete': any(deleteCookies),
  '/bearer': any(bearer),
  '/gzip': any(gzip),
  '/deflate': any(deflate),
  '/drip': any(drip),
  '/unstable': any(unstable),
  '/cache': any(cache),
  '/robots.txt': any(robots),
  '/deny': any(deny),
};

/** Paths with parameters after a prefix; the prefix alone (`/status`, `/status/`) is a 404. */
const PREFIXED: readonly (readonly [string, Route])[] = [
  ['/anything/', any(anything)],
  ['/status/', any(status)],
  ['/delay/', any(delay)],
  ['/redirect/', any(redirectN)],
  ['/relative-redirect/', any(relativeRedirect)],
  ['/absolute-redirect/', any(absoluteRedirect)],
  ['/basic-auth/', any(basicAuth)],
  ['/hidden-basic-auth/', any(hiddenBasicAuth)],
  ['/bytes/', any(bytes)],
  ['/stream-bytes/', any(streamBytes)],
  ['/stream/', any(stream)],
  ['/cache/', any(cacheFor)],
  ['/base64/', any(base64)],
];

function route(path: string): { route: Route; rest: string } | undefined {
  const exact = EXACT[path];
  if (exact !== undefined) return { route: exact, rest: '' };
  for (const [prefix, r] of PREFIXED) {
    // /anything/ matches any depth; the others need a non-empty parameter.
    if (path.startsWith(prefix) && (path.length > prefix.length || prefix === '/anything/')) return { route: r, rest: path.slice(prefix.length) };
  }
  return undefined;
}

/** go-httpbin's CORS middleware: every answer allows the caller's origin; OPTIONS is a preflight. */
function cors(req: IncomingMessage, res: ServerResponse): boolean {
  const origin = req.headers.origin;
  res.setHeader('access-control-allow-origin', typeof origin === 'string' && origin !== '' ? origin : '*');
  res.setHeader('access-control-allow-credentials', 'true');
  if (req.method !== 'OPTIONS') return false;
  res.setHeader('access-control-allow-methods', 'GET, POST, HEAD, PUT, DELETE, PATCH, OPTIONS');
  res.setHeader('access-control-max-age', '3600');
  const asked = req.headers['access-control-request-headers'];
  if (typeof asked === 'string' && asked !== '') res.setHeader('access-control-allow-headers', asked);
  send(res, 200, {}, '');
  return true;
}

function handler(config: HttpbinConfig): (req: IncomingMessage, res: ServerResponse) => void | Promise<void> {
  return (req, res) => {
    if (cors(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://httpbin');
    const found = route(url.pathname);
    if (found === undefined) return writeError(res, 404);
    const method = req.method ?? 'GET';
    const allowed = found.route.method;
    if (allowed !== undefined && method !== allowed && !(allowed === 'GET' && method === 'HEAD')) return writeError(res, 405);
    const ctx: Ctx = { req, res, url, rest: found.rest, config };
    return found.route.endpoint(ctx);
  };
}

let config: HttpbinConfig;
try {
  config = readConfig(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`httpbin: ${err.message}\n`);
  process.exit(2);
}
runHttpApp({ name: 'httpbin', port: config.port, host: config.host, handler: handler(config), accessLog: accessLogLine });
