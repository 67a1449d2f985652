/**
 * httpbin: an HTTP request-and-response service compatible with the go-httpbin endpoints
 * Istio's tasks use (/get, /headers, /ip, /status, /delay, /anything, /response-headers, ...).
 * Listens on PORT (default 8080) and writes an access-log line per request, in the combined
 * format (`"GET /headers HTTP/1.1" 200 ...`), which the mirroring task looks for.
 * HTTPBIN_COMPAT=kennethreitz renders header and argument values as plain strings.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, runHttpApp } from '../../lib/app-server.js';
import { clientIp, parseBody, queryArgs, requestHeaders, requestUrl, valuesOf, type Flavor } from './echo.js';
import { chooseStatus, statusReply } from './status.js';
import { parseDuration } from '../../lib/duration.js';
import { accessLogLine } from './access-log.js';

const flavor: Flavor = process.env.HTTPBIN_COMPAT === 'kennethreitz' ? 'kennethreitz' : 'go';
const MAX_DELAY_MS = 10_000;
const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed' };

/** Sends a complete response; headers go through setHeader so the access log can read the length. */
function send(res: ServerResponse, status: number, headers: Record<string, string | string[]>, body: string): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.statusCode = status;
  res.end(body);
}

/** JSON the way Go's encoder with two-space indent writes it. */
function writeJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, { 'content-type': 'application/json; charset=utf-8' }, `${JSON.stringify(value, null, 2)}\n`);
}

function writeError(res: ServerResponse, status: number, detail?: string): void {
  writeJson(res, status, { status_code: status, error: STATUS_TEXT[status] ?? 'Error', ...(detail ? { detail } : {}) });
}

function describe(req: IncomingMessage, url: URL): Record<string, unknown> {
  return { args: queryArgs(url, flavor), headers: requestHeaders(req, flavor), method: req.method, origin: clientIp(req), url: requestUrl(req) };
}

async function describeWithBody(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const base = describe(req, url);
  let fields;
  try {
    fields = parseBody(await readBody(req), req.headers['content-type'], flavor);
  } catch (err) {
    return writeError(res, 400, err instanceof Error ? err.message : String(err));
  }
  writeJson(res, 200, { args: base.args, headers: base.headers, method: base.method, origin: base.origin, url: base.url, ...fields });
}

/** Endpoints restricted to one method (HEAD is allowed wherever GET is). */
const METHOD_OF: Record<string, string> = {
  '/get': 'GET',
  '/headers': 'GET',
  '/ip': 'GET',
  '/user-agent': 'GET',
  '/uuid': 'GET',
  '/post': 'POST',
  '/put': 'PUT',
  '/patch': 'PATCH',
  '/delete': 'DELETE',
};

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://httpbin');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const required = METHOD_OF[path];
  if (required !== undefined && method !== required && !(required === 'GET' && method === 'HEAD')) return writeError(res, 405);

  switch (path) {
    case '/':
      return send(res, 200, { 'content-type': 'text/plain; charset=utf-8' }, 'httpbin: HTTP request & response service. Try /get, /headers, /ip, /status/418, /delay/1, /anything.\n');
    case '/get':
      return writeJson(res, 200, describe(req, url));
    case '/headers':
      return writeJson(res, 200, { headers: requestHeaders(req, flavor) });
    case '/ip':
      return writeJson(res, 200, { origin: clientIp(req) });
    case '/user-agent':
      return writeJson(res, 200, { 'user-agent': req.headers['user-agent'] ?? '' });
    case '/uuid':
      return writeJson(res, 200, { uuid: randomUUID() });
    case '/post':
    case '/put':
    case '/patch':
    case '/delete':
      return describeWithBody(req, res, url);
    case '/response-headers': {
      if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') return writeError(res, 405);
      const extra: Record<string, string[]> = {};
      for (const [k, v] of url.searchParams) (extra[k] ??= []).push(v);
      // Query parameters become response headers; they may override the JSON content type.
      return send(res, 200, { 'content-type': 'application/json; charset=utf-8', ...extra }, `${JSON.stringify(valuesOf(url.searchParams, flavor), null, 2)}\n`);
    }
  }
  if (path === '/anything' || path.startsWith('/anything/')) {
    return method === 'HEAD' ? writeJson(res, 200, describe(req, url)) : describeWithBody(req, res, url);
  }
  const segments = path.split('/');
  if (segments[1] === 'status') {
    if (segments.length !== 3) return writeError(res, 404);
    let code: number;
    try {
      code = chooseStatus(decodeURIComponent(segments[2]));
    } catch (err) {
      return writeError(res, 400, err instanceof Error ? err.message : String(err));
    }
    const reply = statusReply(code);
    return send(res, reply.status, reply.headers, reply.body);
  }
  if (segments[1] === 'delay') {
    if (segments.length !== 3) return writeError(res, 404);
    const delayMs = parseDuration(segments[2]);
    if (delayMs === undefined) return writeError(res, 400, `invalid duration: "${segments[2]}"`);
    if (delayMs > MAX_DELAY_MS) return writeError(res, 400, `invalid duration: ${segments[2]} longer than ${MAX_DELAY_MS / 1000}s`);
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), delayMs);
      res.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    // The client gave up: nothing to answer (go-httpbin records this as 499).
    if (closed) return;
    return describeWithBody(req, res, url);
  }
  writeError(res, 404);
}

runHttpApp({ name: 'httpbin', defaultPort: 8080, handler: handle, accessLog: accessLogLine });
