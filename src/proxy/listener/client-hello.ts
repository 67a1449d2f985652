/**
 * The TLS ClientHello at the start of a connection, read as Envoy's tls_inspector reads it: is
 * the connection TLS at all, and if so the server name (SNI) and the ALPN protocols it offers.
 * Filter-chain matching decides on these before any TLS is terminated.
 */

/** What the first bytes say about TLS. */
export interface ClientHello {
  /** The SNI host name, lower-cased; null when the ClientHello carries none. */
  sni: string | null;
  /** ALPN protocols offered, in the client's order; empty when none. */
  alpn: readonly string[];
}

/** The largest TLS record (2^14 plus the expansion TLS allows); beyond it the bytes are not a ClientHello. */
const MAX_RECORD = 16384 + 2048;
const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

const NONE: ClientHello = Object.freeze({ sni: null, alpn: Object.freeze([]) });

/**
 * Reads a ClientHello at the start of `buf`: the hello, `'more'` while its record is incomplete,
 * or null when the bytes are not TLS. A hello too malformed to read is TLS with no SNI or ALPN.
 */
export function readClientHello(buf: Buffer): ClientHello | 'more' | null {
  if (buf.length === 0) return 'more';
  if (buf[0] !== HANDSHAKE) return null;
  if (buf.length < 3) return 'more';
  if (buf[1] !== 3) return null; // record version 3.x (SSL 3.0 to TLS 1.3 all say 3.x here)
  if (buf.length < 5) return 'more';
  const recLen = buf.readUInt16BE(3);
  if (recLen > MAX_RECORD) return null;
  if (buf.length < 5 + recLen) return 'more';
  return parseHello(buf.subarray(5, 5 + recLen));
}

/** The handshake message in one record: type, length, version, random, session, suites, compression, extensions. */
function parseHello(rec: Buffer): ClientHello {
  if (rec.length < 4 || rec[0] !== CLIENT_HELLO) return NONE;
  let p = 4 + 2 + 32; // handshake header, client version, random
  if (p >= rec.length) return NONE;
  p += 1 + rec[p]; // session id
  if (p + 2 > rec.length) return NONE;
  p += 2 + rec.readUInt16BE(p); // cipher suites
  if (p >= rec.length) return NONE;
  p += 1 + rec[p]; // compression methods
  if (p + 2 > rec.length) return NONE;
  const end = Math.min(rec.length, p + 2 + rec.readUInt16BE(p));
  p += 2;
  let sni: string | null = null;
  let alpn: string[] = [];
  while (p + 4 <= end) {
    const type = rec.readUInt16BE(p);
    const len = rec.readUInt16BE(p + 2);
    p += 4;
    const extEnd = Math.min(end, p + len);
    if (type === EXT_SERVER_NAME) sni = serverName(rec, p, extEnd);
    else if (type === EXT_ALPN) alpn = protocols(rec, p, extEnd);
    p = extEnd;
  }
  return sni === null && alpn.length === 0 ? NONE : { sni, alpn };
}

/** server_name list: list length, then entries of name type (0 = host_name), length, name. */
function serverName(rec: Buffer, p: number, end: number): string | null {
  if (p + 2 > end) return null;
  const listEnd = Math.min(end, p + 2 + rec.readUInt16BE(p));
  p += 2;
  while (p + 3 <= listEnd) {
    const kind = rec[p];
    const len = rec.readUInt16BE(p + 1);
    p += 3;
    if (p + len > listEnd) return null;
    if (kind === 0) return rec.toString('latin1', p, p + len).toLowerCase();
    p += len;
  }
  return null;
}

/** protocol_name_list: list length, then length-prefixed names. */
function protocols(rec: Buffer, p: number, end: number): string[] {
  if (p + 2 > end) return [];
  const listEnd = Math.min(end, p + 2 + rec.readUInt16BE(p));
  p += 2;
  const out: string[] = [];
  while (p < listEnd) {
    const len = rec[p];
    p += 1;
    if (len === 0 || p + len > listEnd) break;
    out.push(rec.toString('latin1', p, p + len));
    p += len;
  }
  return out;
}
