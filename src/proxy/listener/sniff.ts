/**
 * Protocol detection for `auto` listeners, as Envoy's http_inspector: the first bytes of a
 * connection are an HTTP/1.x request line, the HTTP/2 connection preface, or anything else (TCP).
 * TLS ClientHello SNI extraction for TCP routes that match on SNI lives here too.
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

/**
 * The server name of a TLS ClientHello at the start of `buf`: a string, null when the bytes are
 * not a ClientHello or carry no SNI, undefined when the record is still incomplete.
 */
export function sniffSni(buf: Buffer): string | null | undefined {
  if (buf.length < 5) return buf.length === 0 || buf[0] === 22 ? undefined : null;
  if (buf[0] !== 22 || buf[1] !== 3) return null; // handshake record, TLS 1.x
  const recLen = buf.readUInt16BE(3);
  if (buf.length < 5 + recLen) return recLen > 16384 + 2048 ? null : undefined;
  let p = 5;
  if (buf[p] !== 1) return null; // ClientHello
  p += 4 + 2 + 32; // handshake header, client version, random
  if (p >= buf.length) return null;
  p += 1 + buf[p]; // session id
  if (p + 2 > buf.length) return null;
  p += 2 + buf.readUInt16BE(p); // cipher suites
  if (p >= buf.length) return null;
  p += 1 + buf[p]; // compression methods
  if (p + 2 > buf.length) return null;
  const extEnd = Math.min(buf.length, p + 2 + buf.readUInt16BE(p));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = buf.readUInt16BE(p);
    const len = buf.readUInt16BE(p + 2);
    p += 4;
    if (type === 0 && p + 5 <= extEnd) {
      // server_name list: list length, name type (0 = host_name), name length, name.
      const nameLen = buf.readUInt16BE(p + 3);
      if (buf[p + 2] === 0 && p + 5 + nameLen <= extEnd) return buf.toString('latin1', p + 5, p + 5 + nameLen).toLowerCase();
      return null;
    }
    p += len;
  }
  return null;
}
