/**
 * Bookinfo `productpage`: the web front end. It renders the book page from details and
 * reviews, keeps a login session whose user it sends downstream as `end-user`, propagates
 * trace headers, and offers the same JSON API and /metrics as Istio's original.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, runHttpApp, sendText } from '../../../lib/app-server.js';
import { forwardHeaders, serviceUrl } from '../common.js';
import { getDetails, getRatings, getReviews, renderMetrics, type Fetched } from './backends.js';
import { PRODUCTS, renderIndexPage, renderProductPage } from './page.js';
import { CLEARED_SESSION_COOKIE, sessionCookie, sessionUser } from './session.js';
import { STATIC_FILES } from './static.js';

/** Extra concurrent reviews calls per page view, to demonstrate rate limiting (FLOOD_FACTOR). */
const FLOOD_FACTOR = Math.max(0, Number.parseInt(process.env.FLOOD_FACTOR ?? '0', 10) || 0);

/** JSON laid out as Python's json.dumps does (`{"id": 0, "a": 1}`), as the original's API returns it. */
function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function sendApi(res: ServerResponse, fetched: Fetched): void {
  const body = pythonJson(fetched.body);
  res.writeHead(fetched.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendHtml(res: ServerResponse, status: number, html: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), ...extra });
  res.end(html);
}

/** 302 back to the page the form was posted from; without a Referer there is nowhere to go, so no Location. */
function redirectBack(req: IncomingMessage, res: ServerResponse, cookie: string): void {
  const headers: Record<string, string> = { 'set-cookie': cookie };
  const referer = req.headers.referer;
  if (referer !== undefined) headers.location = referer;
  sendHtml(res, 302, '<!doctype html>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n', headers);
}

/** Headers for calls made on behalf of `req`: propagated context plus `end-user` from the session only. */
function downstreamHeaders(req: IncomingMessage): Record<string, string> {
  const headers = forwardHeaders(req.headers, false);
  const user = sessionUser(req);
  if (user !== undefined) headers['end-user'] = user;
  return headers;
}

async function login(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const type = req.headers['content-type'] ?? '';
  const form = type.startsWith('application/x-www-form-urlencoded') ? new URLSearchParams((await readBody(req)).toString('utf8')) : new URLSearchParams();
  const user = form.get('username') ?? query.get('username') ?? '';
  redirectBack(req, res, user === '' ? CLEARED_SESSION_COOKIE : sessionCookie(user));
}

async function productPage(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const headers = downstreamHeaders(req);
  const details = await getDetails('0', headers);
  if (FLOOD_FACTOR > 0) await Promise.allSettled(Array.from({ length: FLOOD_FACTOR }, () => getReviews('0', headers)));
  const reviews = await getReviews('0', headers);
  sendHtml(res, 200, renderProductPage(PRODUCTS[0], sessionUser(req), details, reviews));
}

async function api(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (path === '/api/v1/products') return sendApi(res, { status: 200, body: PRODUCTS });
  const match = /^\/api\/v1\/products\/([^/]+)(?:\/(reviews|ratings))?$/.exec(path);
  if (!match) return sendText(res, 404, 'Not Found\n');
  const id = match[1];
  const headers = downstreamHeaders(req);
  const fetch = match[2] === 'reviews' ? getReviews : match[2] === 'ratings' ? getRatings : getDetails;
  sendApi(res, await fetch(id, headers));
}

const GET_ROUTES = new Set(['/', '/index.html', '/health', '/logout', '/productpage', '/metrics']);

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://productpage');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const isGet = method === 'GET' || method === 'HEAD';

  if (path === '/login') return method === 'POST' ? login(req, res, url.searchParams) : sendText(res, 405, 'Method Not Allowed\n');
  if ((GET_ROUTES.has(path) || path.startsWith('/api/v1/products') || path.startsWith('/static/')) && !isGet) {
    return sendText(res, 405, 'Method Not Allowed\n');
  }
  if (path === '/' || path === '/index.html') {
    return sendHtml(res, 200, renderIndexPage({ details: serviceUrl('details'), reviews: serviceUrl('reviews'), ratings: serviceUrl('ratings') }));
  }
  if (path === '/health') return sendHtml(res, 200, 'Product page is healthy');
  if (path === '/logout') return redirectBack(req, res, CLEARED_SESSION_COOKIE);
  if (path === '/productpage') return productPage(req, res);
  if (path === '/metrics') return sendText(res, 200, renderMetrics(), 'text/plain; version=0.0.4; charset=utf-8');
  if (path.startsWith('/api/v1/products')) return api(req, res, path);
  const file = STATIC_FILES[path];
  if (file !== undefined) return sendText(res, 200, file.body, file.type);
  sendText(res, 404, 'Not Found\n');
}

runHttpApp({ name: 'productpage', defaultPort: 9080, handler: handle });
