/**
 * go-httpbin's generated payloads: `/bytes/{n}` and `/stream-bytes/{n}` (random bytes, repeatable
 * with `?seed=`), `/stream/{n}` (n JSON lines), `/drip` (bytes paced over a duration),
 * `/gzip`, `/deflate`, `/base64/...`, `/unstable`, `/cache`, `/robots.txt`, `/deny`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { parseDuration } from '../../lib/duration.js';
import type { Ctx } from './context.js';
import { describe } from './echo.js';
import { JSON_TYPE, send, TEXT_TYPE, writeError, writeJson } from './respond.js';

/** A small seeded generator (mulberry32): the same seed gives the same bytes, as `?seed=` promises. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomPayload(n: number, seed: string | null): Buffer | string {
  if (seed === null || seed === '') return randomBytes(n);
  if (!/^-?\d+$/.test(seed)) return `invalid seed: strconv.ParseInt: parsing "${seed}": invalid syntax`;
  const next = seeded(Number(seed));
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
  return out;
}

function byteCount(ctx: Ctx): number | string {
  if (!/^-?\d+$/.test(ctx.rest)) return `invalid byte count: strconv.Atoi: parsing "${ctx.rest}": invalid syntax`;
  const n = Number(ctx.rest);
  if (n < 0) return `invalid byte count: ${n} must be greater than 0`;
  if (n > ctx.config.maxBodySize) return `invalid byte count: ${n} not in range [1, ${ctx.config.maxBodySize}]`;
  return n;
}

export function bytes(ctx: Ctx): void {
  const n = byteCount(ctx);
  if (typeof n === 'string') return writeError(ctx.res, 400, n);
  const payload = randomPayload(n, ctx.url.searchParams.get('seed'));
  if (typeof payload === 'string') return writeError(ctx.res, 400, payload);
  send(ctx.res, 200, n === 0 ? {} : { 'content-type': 'application/octet-stream' }, payload);
}

/** Like /bytes, sent chunked in `chunk_size` pieces (10 KiB by default). */
export function streamBytes(ctx: Ctx): void {
  const n = byteCount(ctx);
  if (typeof n === 'string') return writeError(ctx.res, 400, n);
  const rawChunk = ctx.url.searchParams.get('chunk_size');
  const chunkSize = rawChunk === null || rawChunk === '' ? 10 * 1024 : Number(rawChunk);
  if (!Number.isInteger(chunkSize) || chunkSize <= 0) return writeError(ctx.res, 400, `invalid chunk_size: ${rawChunk}`);
  const payload = randomPayload(n, ctx.url.searchParams.get('seed'));
  if (typeof payload === 'string') return writeError(ctx.res, 400, payload);
  if (n === 0) return send(ctx.res, 200, {}, '');
  ctx.res.writeHead(200, { 'content-type': 'application/octet-stream' });
  for (let at = 0; at < n; at += chunkSize) ctx.res.write(payload.subarray(at, at + chunkSize));
  ctx.res.end();
}

/** n (clamped to 1..100) compact JSON lines describing the request, each with its `id`. */
export function stream(ctx: Ctx): void {
  if (!/^-?\d+$/.test(ctx.rest)) return writeError(ctx.res, 400, `invalid count: strconv.Atoi: parsing "${ctx.rest}": invalid syntax`);
  const n = Math.min(100, Math.max(1, Number(ctx.rest)));
  const { args, headers, origin, url } = describe(ctx.req, ctx.url, ctx.config.flavor);
  // Go sniffs the content type of an unlabelled body: JSON text is text/plain to it.
  ctx.res.writeHead(200, { 'content-type': TEXT_TYPE });
  for (let id = 0; id < n; id++) ctx.res.write(`${JSON.stringify({ id, args, headers, origin, url })}\n`);
  ctx.res.end();
}

function boundedDuration(ctx: Ctx, raw: string | null, fallbackMs: number, what: string): number | string {
  if (raw === null || raw === '') return fallbackMs;
  const ms = parseDuration(raw);
  if (ms === undefined) return `invalid ${what}: time: invalid duration "${raw}"`;
  if (ms > ctx.config.maxDurationMs) return `invalid ${what}: duration ${raw} longer than ${ctx.config.maxDurationMs / 1000}s`;
  return ms;
}

/** `numbytes` asterisks written one by one over `duration`, after `delay`, with status `code`. */
export async function drip(ctx: Ctx): Promise<void> {
  const q = ctx.url.searchParams;
  const duration = boundedDuration(ctx, q.get('duration'), 2000, 'duration');
  if (typeof duration === 'string') return writeError(ctx.res, 400, duration);
  const delay = boundedDuration(ctx, q.get('delay'), 2000, 'delay');
  if (typeof delay === 'string') return writeError(ctx.res, 400, delay);
  const rawBytes = q.get('numbytes');
  const numBytes = rawBytes === null || rawBytes === '' ? 10 : Number(rawBytes);
  if (!Number.isInteger(numBytes) || numBytes < 1 || numBytes > ctx.config.maxBodySize) return writeError(ctx.res, 400, `invalid numbytes: ${rawBytes} not in range [1, ${ctx.config.maxBodySize}]`);
  const rawCode = q.get('code');
  const code = rawCode === null || rawCode === '' ? 200 : Number(rawCode);
  if (!Number.isInteger(code) || code < 100 || code > 599) return writeError(ctx.res, 400, `invalid status code: ${rawCode} not in range [100, 599]`);
  if (duration + delay > ctx.config.maxDurationMs) return writeError(ctx.res, 400, `too much time: ${duration}ms+${delay}ms > ${ctx.config.maxDurationMs}ms`);

  let gone = false;
  ctx.res.once('close', () => (gone = true));
  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  if (delay > 0) await pause(delay);
  if (gone) return;
  ctx.res.writeHead(code, { 'content-type': TEXT_TYPE, 'content-length': numBytes });
  const each = numBytes > 1 ? duration / (numBytes - 1) : duration;
  for (let i = 0; i < numBytes && !gone; i++) {
    ctx.res.write('*');
    if (i < numBytes - 1 && each > 0) await pause(each);
  }
  ctx.res.end();
}

function compressed(ctx: Ctx, encoding: 'gzip' | 'deflate'): void {
  const { args, headers, method, origin } = describe(ctx.req, ctx.url, ctx.config.flavor);
  const body = `${JSON.stringify({ args, headers, method, origin, url: '', [encoding === 'gzip' ? 'gzipped' : 'deflated']: true }, null, 2)}\n`;
  const packed = encoding === 'gzip' ? gzipSync(body) : deflateSync(body);
  send(ctx.res, 200, { 'content-encoding': encoding, 'content-type': JSON_TYPE }, packed);
}

export const gzip = (ctx: Ctx): void => compressed(ctx, 'gzip');
export const deflate = (ctx: Ctx): void => compressed(ctx, 'deflate');

/** `/base64/{data}` and `/base64/decode/{data}` decode (URL-safe or standard alphabet), `/base64/encode/{data}` encodes. */
export function base64(ctx: Ctx): void {
  const parts = ctx.rest.split('/');
  const [operation, data] = parts.length === 1 ? ['decode', parts[0]] : parts.length === 2 ? parts : ['', ''];
  if (data === '') return writeError(ctx.res, 400, 'no input data');
  if (data.length > ctx.config.maxBodySize) return writeError(ctx.res, 400, `input data exceeds max length of ${ctx.config.maxBodySize}`);
  let result: string;
  if (operation === 'encode') {
    // Go's URL-safe alphabet keeps its padding; Node's base64url drops it.
    const encoded = Buffer.from(data).toString('base64url');
    result = encoded + '='.repeat((4 - (encoded.length % 4)) % 4);
  }
  else if (operation === 'decode') {
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(data)) return writeError(ctx.res, 400, 'base64 decode failed: illegal base64 data');
    result = Buffer.from(data, 'base64').toString('latin1');
  } else return writeError(ctx.res, 400, `invalid operation: ${operation}`);
  const contentType = ctx.url.searchParams.get('content-type') ?? TEXT_TYPE;
  send(ctx.res, 200, { 'content-type': contentType }, Buffer.from(result, 'latin1'));
}

/** 500 with probability `failure_rate` (0.5 by default), else 200. */
export function unstable(ctx: Ctx): void {
  const raw = ctx.url.searchParams.get('failure_rate');
  const rate = raw === null || raw === '' ? 0.5 : Number(raw);
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) return writeError(ctx.res, 400, `invalid failure rate: ${raw} not in range [0, 1]`);
  const seed = ctx.url.searchParams.get('seed');
  const roll = seed !== null && /^-?\d+$/.test(seed) ? seeded(Number(seed))() : Math.random();
  send(ctx.res, roll < rate ? 500 : 200, { 'content-type': TEXT_TYPE }, '');
}

/** 304 to a conditional request, else /get's answer with Last-Modified and ETag. */
export function cache(ctx: Ctx): void {
  if (ctx.req.headers['if-modified-since'] !== undefined || ctx.req.headers['if-none-match'] !== undefined) {
    ctx.res.statusCode = 304;
    ctx.res.end();
    return;
  }
  const lastModified = new Date().toUTCString();
  ctx.res.setHeader('last-modified', lastModified);
  ctx.res.setHeader('etag', createHash('sha1').update(lastModified).digest('hex'));
  writeJson(ctx.res, 200, describe(ctx.req, ctx.url, ctx.config.flavor));
}

/** /get's answer with `Cache-Control: public, max-age=N`. */
export function cacheFor(ctx: Ctx): void {
  if (!/^\d+$/.test(ctx.rest)) return writeError(ctx.res, 400, `invalid seconds: strconv.ParseInt: parsing "${ctx.rest}": invalid syntax`);
  ctx.res.setHeader('cache-control', `public, max-age=${ctx.rest}`);
  writeJson(ctx.res, 200, describe(ctx.req, ctx.url, ctx.config.flavor));
}

export function robots(ctx: Ctx): void {
  send(ctx.res, 200, { 'content-type': TEXT_TYPE }, 'User-agent: *\nDisallow: /deny\n');
}

export function deny(ctx: Ctx): void {
  send(ctx.res, 200, { 'content-type': TEXT_TYPE }, "YOU SHOULDN'T BE HERE");
}
