/**
 * go-httpbin's redirect endpoints: `/redirect/{n}` (relative unless `?absolute=true`),
 * `/relative-redirect/{n}`, `/absolute-redirect/{n}` — each answering 302 towards the next hop
 * and finally `/get` — and `/redirect-to?url=...&status_code=...`.
 */
import type { Ctx } from './context.js';
import { requestUrl } from './echo.js';
import { writeError } from './respond.js';

function redirect(ctx: Ctx, location: string, status: number): void {
  ctx.res.setHeader('location', location);
  ctx.res.setHeader('content-length', 0);
  ctx.res.statusCode = status;
  ctx.res.end();
}

function hops(ctx: Ctx, relative: boolean): void {
  if (!/^-?\d+$/.test(ctx.rest)) return writeError(ctx.res, 400, `invalid redirect count: strconv.Atoi: parsing "${ctx.rest}": invalid syntax`);
  const n = Number(ctx.rest);
  if (n < 1) return writeError(ctx.res, 400, 'redirect count must be > 0');
  const next = n - 1;
  const path = next < 1 ? '/get' : relative ? `/relative-redirect/${next}` : `/absolute-redirect/${next}`;
  if (relative) return redirect(ctx, path, 302);
  const absolute = new URL(requestUrl(ctx.req));
  redirect(ctx, `${absolute.protocol}//${absolute.host}${path}`, 302);
}

export function redirectN(ctx: Ctx): void {
  hops(ctx, ctx.url.searchParams.get('absolute')?.toLowerCase() !== 'true');
}

export function relativeRedirect(ctx: Ctx): void {
  hops(ctx, true);
}

export function absoluteRedirect(ctx: Ctx): void {
  hops(ctx, false);
}

export function redirectTo(ctx: Ctx): void {
  const target = ctx.url.searchParams.get('url');
  if (target === null || target === '') return writeError(ctx.res, 400, 'missing required query parameter: url');
  let status = 302;
  const raw = ctx.url.searchParams.get('status_code');
  if (raw !== null && raw !== '') {
    status = Number(raw);
    if (!/^\d+$/.test(raw) || status < 300 || status > 399) return writeError(ctx.res, 400, `invalid status code: ${raw} not in range [300, 399]`);
  }
  redirect(ctx, target, status);
}
