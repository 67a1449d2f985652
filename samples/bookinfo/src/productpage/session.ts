/**
 * The productpage login session: a signed `session` cookie carrying the user name, so that
 * productpage can tell downstream services who is browsing (`end-user`). There is no password
 * check; the demo only needs a name.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Signing key. A fixed default keeps sessions valid across restarts and replicas, which a
 * demo needs more than secrecy; set SESSION_SECRET to change it.
 */
const SECRET = process.env.SESSION_SECRET || 'bookinfo-sample-session-key';

function sign(payload: string): string {
  return createHmac('sha256', SECRET).update(payload).digest('base64url');
}

/** Cookie value for a session holding `user`. */
export function encodeSession(user: string): string {
  const payload = Buffer.from(JSON.stringify({ user })).toString('base64url');
  return `${payload}.${sign(payload)}`;
}

/** The user of a session cookie value, or undefined when absent, tampered with or malformed. */
export function decodeSession(value: string): string | undefined {
  const dot = value.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const payload = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1));
  const expected = Buffer.from(sign(payload));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { user?: unknown };
    return typeof parsed.user === 'string' && parsed.user !== '' ? parsed.user : undefined;
  } catch {
    return undefined;
  }
}

/** The logged-in user of a request, from its `session` cookie. */
export function sessionUser(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === 'session') return decodeSession(part.slice(eq + 1).trim());
  }
  return undefined;
}

export function sessionCookie(user: string): string {
  return `session=${encodeSession(user)}; HttpOnly; Path=/`;
}

export const CLEARED_SESSION_COOKIE = 'session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/';
