/**
 * `/cookies` (the request's cookies as a JSON object; the Python httpbin wraps them in
 * `{"cookies": ...}`), `/cookies/set?name=value` and `/cookies/delete?name`, both answering 302
 * to `/cookies` with the Set-Cookie headers Go's net/http writes.
 */
import type { Ctx } from './context.js';
import { writeJson } from './respond.js';

function requestCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name !== '') out[name] = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return out;
}

export function cookies(ctx: Ctx): void {
  const found = requestCookies(ctx.req.headers.cookie);
  const sorted = Object.fromEntries(Object.entries(found).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  writeJson(ctx.res, 200, ctx.config.flavor === 'go' ? sorted : { cookies: sorted });
}

function toCookies(ctx: Ctx, setCookies: string[]): void {
  ctx.res.setHeader('set-cookie', setCookies);
  ctx.res.setHeader('location', '/cookies');
  ctx.res.setHeader('content-length', 0);
  ctx.res.statusCode = 302;
  ctx.res.end();
}

/** Each query parameter's first value. */
function params(url: URL): [string, string][] {
  const seen = new Map<string, string>();
  for (const [k, v] of url.searchParams) if (!seen.has(k)) seen.set(k, v);
  return [...seen];
}

export function setCookies(ctx: Ctx): void {
  toCookies(
    ctx,
    params(ctx.url).map(([k, v]) => `${k}=${v}; HttpOnly`),
  );
}

export function deleteCookies(ctx: Ctx): void {
  const past = new Date(Date.now() - 365 * 24 * 3600 * 1000).toUTCString();
  toCookies(
    ctx,
    params(ctx.url).map(([k, v]) => `${k}=${v}; Expires=${past}; Max-Age=0; HttpOnly`),
  );
}
