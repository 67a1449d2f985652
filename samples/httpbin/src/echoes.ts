/**
 * The endpoints that describe the request back: `/get`, `/anything`, `/post` and its siblings,
 * `/headers`, `/ip`, `/user-agent`, `/delay/{d}`, `/response-headers`, `/uuid`, `/hostname`,
 * `/status/{codes}`.
 */
import { randomUUID } from 'node:crypto';
import { readBody } from '../../lib/app-server.js';
import { parseDuration } from '../../lib/duration.js';
import type { Ctx } from './context.js';
import { clientIp, describe, parseBody, requestHeaders, valuesOf } from './echo.js';
import { JSON_TYPE, send, writeError, writeJson } from './respond.js';
import { chooseStatus, statusReply } from './status.js';

export function get(ctx: Ctx): void {
  writeJson(ctx.res, 200, describe(ctx.req, ctx.url, ctx.config.flavor));
}

/** The request with its body: `data`, `files`, `form`, `json` after the description. */
export async function withBody(ctx: Ctx): Promise<void> {
  const base = describe(ctx.req, ctx.url, ctx.config.flavor);
  let fields;
  try {
    fields = parseBody(await readBody(ctx.req, ctx.config.maxBodySize), ctx.req.headers['content-type'], ctx.config.flavor);
  } catch (err) {
    return writeError(ctx.res, 400, err instanceof Error ? err.message : String(err));
  }
  writeJson(ctx.res, 200, { ...base, ...fields });
}

export function anything(ctx: Ctx): Promise<void> | void {
  return ctx.req.method === 'HEAD' ? get(ctx) : withBody(ctx);
}

export function headers(ctx: Ctx): void {
  writeJson(ctx.res, 200, { headers: requestHeaders(ctx.req, ctx.config.flavor) });
}

export function ip(ctx: Ctx): void {
  writeJson(ctx.res, 200, { origin: clientIp(ctx.req) });
}

export function userAgent(ctx: Ctx): void {
  writeJson(ctx.res, 200, { 'user-agent': ctx.req.headers['user-agent'] ?? '' });
}

export function uuid(ctx: Ctx): void {
  writeJson(ctx.res, 200, { uuid: randomUUID() });
}

/** `go-httpbin`, or the pod's name with `-use-real-hostname`; the Python httpbin has no such page. */
export function hostname(ctx: Ctx): void {
  if (ctx.config.flavor !== 'go') return writeError(ctx.res, 404);
  writeJson(ctx.res, 200, { hostname: ctx.config.hostname });
}

/** Query parameters become response headers (they may replace the JSON content type) and the body. */
export function responseHeaders(ctx: Ctx): void {
  const extra: Record<string, string[]> = {};
  for (const [k, v] of ctx.url.searchParams) (extra[k] ??= []).push(v);
  send(ctx.res, 200, { 'content-type': JSON_TYPE, ...extra }, `${JSON.stringify(valuesOf(ctx.url.searchParams, ctx.config.flavor), null, 2)}\n`);
}

export function status(ctx: Ctx): void {
  if (ctx.rest.includes('/')) return writeError(ctx.res, 404);
  let code: number;
  try {
    code = chooseStatus(decodeURIComponent(ctx.rest));
  } catch (err) {
    return writeError(ctx.res, 400, err instanceof Error ? err.message : String(err));
  }
  const reply = statusReply(code);
  send(ctx.res, reply.status, reply.headers, reply.body);
}

/** Waits, then answers as /anything; a client that gives up first gets nothing (go-httpbin logs 499). */
export async function delay(ctx: Ctx): Promise<void> {
  if (ctx.rest.includes('/')) return writeError(ctx.res, 404);
  const ms = parseDuration(ctx.rest);
  if (ms === undefined) return writeError(ctx.res, 400, `invalid duration: "${ctx.rest}"`);
  if (ms > ctx.config.maxDurationMs) return writeError(ctx.res, 400, `invalid duration: ${ctx.rest} longer than ${ctx.config.maxDurationMs / 1000}s`);
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    ctx.res.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (closed) return;
  return withBody(ctx);
}
