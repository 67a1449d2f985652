/**
 * Protocol detection for `auto` chains, as Envoy's http_inspector: the first bytes of a
 * connection are an HTTP/1.x request line, the HTTP/2 connection preface, or anything else (TCP).
 * The TLS ClientHello is read by `client-hello.ts`.
 */

export type Sniffed = 'http1' | 'h2' | 'tcp' | 'more';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Longest request line inspected before giving up on HTTP. */
const MAX_INSPECT = 8192;

/** Classifies the bytes received so far; `more` when they are a prefix of something HTTP-like. */
export function sniffProtocol(buf: Buffer): Sniffed {
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) return n === H2_PREFACE.length ? 'h2' : 'more';
  // Method: 1..20 token characters (upper-case letters in practice), then a space.
  let i = 0;
  while (i < buf.length && i <= 20 && buf[i] >= 65 && buf[i] <= 90) i++;
  if (i === buf.length) return i <= 20 ? 'more' : 'tcp';
  if (i === 0 || buf[i] !== 32) return 'tcp';
  const lf = buf.indexOf(10, i);
  if (lf < 0) return buf.length >= MAX_INSPECT ? 'tcp' : 'more';
  const end = lf > 0 && buf[lf - 1] === 13 ? lf - 1 : lf;
  const version = buf.toString('latin1', Math.max(i, end - 9), end);
  return version === ' HTTP/1.1' || version === ' HTTP/1.0' ? 'http1' : 'tcp';
}
