/**
 * Serialises HTTP/1.1 heads into one buffer each (names written lowercase, as Envoy does), and
 * keeps the per-second `date` value cached.
 */
import { STATUS_CODES } from 'node:http';
import type { HeaderList } from '../http/headers.js';

let cachedDate = '';
let cachedDateSecond = -1;

/** The IMF-fixdate for now, recomputed at most once a second. */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedDateSecond) {
    cachedDateSecond = second;
    cachedDate = new Date(now).toUTCString();
  }
  return cachedDate;
}

export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown';
}

/**
 * `HTTP/1.1 <status> <reason>` plus the header block and the blank line, as latin1 text (one
 * byte per character): the writer copies it straight into the buffer that leaves with the body.
 * `extra` is pre-formatted lines.
 */
export function responseHeadText(status: number, headers: HeaderList, extra: string): string {
  let s = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
  const { lower, values } = headers;
  for (let i = 0; i < lower.length; i++) s += `${lower[i]}: ${values[i]}\r\n`;
  return `${s}${extra}\r\n`;
}

/** `responseHeadText` as bytes. */
export function serializeResponseHead(status: number, headers: HeaderList, extra: string): Buffer {
  return Buffer.from(responseHeadText(status, headers, extra), 'latin1');
}

/** A request head for an upstream connection, as latin1 text. */
export function requestHeadText(method: string, path: string, headers: HeaderList, extra: string): string {
  let s = `${method} ${path} HTTP/1.1\r\n`;
  const { lower, values } = headers;
  for (let i = 0; i < lower.length; i++) s += `${lower[i]}: ${values[i]}\r\n`;
  return `${s}${extra}\r\n`;
}
