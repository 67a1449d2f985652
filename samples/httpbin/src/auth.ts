/**
 * `/basic-auth/{user}/{passwd}` (401 with a Basic challenge until the credentials match),
 * `/hidden-basic-auth/{user}/{passwd}` (404 instead of 401) and `/bearer` (any bearer token).
 */
import type { Ctx } from './context.js';
import { writeError, writeJson } from './respond.js';

function givenBasic(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (m === null) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function expected(ctx: Ctx): { user: string; password: string } | undefined {
  const parts = ctx.rest.split('/');
  return parts.length === 2 ? { user: decodeURIComponent(parts[0]), password: decodeURIComponent(parts[1]) } : undefined;
}

/** go-httpbin says `authorized`, the Python httpbin `authenticated`. */
function outcome(ctx: Ctx, ok: boolean, user: string): Record<string, unknown> {
  return ctx.config.flavor === 'go' ? { authorized: ok, user } : { authenticated: ok, user };
}

export function basicAuth(ctx: Ctx): void {
  const want = expected(ctx);
  if (want === undefined) return writeError(ctx.res, 404);
  const given = givenBasic(ctx.req.headers.authorization);
  const ok = given !== undefined && given.user === want.user && given.password === want.password;
  if (!ok) ctx.res.setHeader('www-authenticate', 'Basic realm="Fake Realm"');
  writeJson(ctx.res, ok ? 200 : 401, outcome(ctx, ok, given?.user ?? ''));
}

export function hiddenBasicAuth(ctx: Ctx): void {
  const want = expected(ctx);
  const given = givenBasic(ctx.req.headers.authorization);
  if (want === undefined || given === undefined || given.user !== want.user || given.password !== want.password) return writeError(ctx.res, 404);
  writeJson(ctx.res, 200, outcome(ctx, true, given.user));
}

export function bearer(ctx: Ctx): void {
  const fields = (ctx.req.headers.authorization ?? '').trim().split(/\s+/);
  if (fields.length !== 2 || fields[0] !== 'Bearer') {
    ctx.res.setHeader('www-authenticate', 'Bearer');
    return writeError(ctx.res, 401);
  }
  writeJson(ctx.res, 200, { authenticated: true, token: fields[1] });
}
