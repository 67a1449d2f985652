/**
 * An HTTP/1.1 message reader for wire tests, independent of the proxy's codec: it splits bytes
 * into messages (head, then a body by its framing) and keeps every header field as it arrived,
 * names in their original case, order and repetition kept. It is strict where a test needs to
 * see a mistake (a bad chunk size is an error here, not something to skip over).
 */

/** One header field as it appeared on the wire. */
export type Field = [name: string, value: string];

export interface Head {
  /** The request or status line, without CRLF. */
  startLine: string;
  fields: Field[];
  /** Bytes of the head including the blank line. */
  size: number;
}

/** Parses the head at the start of `buf`; null while the blank line has not arrived. */
export function readHead(buf: Buffer): Head | null {
  const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
  if (end < 0) return null;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const fields: Field[] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not a header field: ${JSON.stringify(line)}`);
    fields.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { startLine: lines[0], fields, size: end + 4 };
}

/** Every value of a field (case-insensitive name). */
export function values(fields: readonly Field[], name: string): string[] {
  const n = name.toLowerCase();
  return fields.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
}

export type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

/** A request's body framing (RFC 9112 §6.3): chunked, Content-Length, or none. */
export function requestFraming(fields: readonly Field[]): Framing {
  if (values(fields, 'transfer-encoding').length > 0) return { kind: 'chunked' };
  const cl = values(fields, 'content-length');
  if (cl.length === 0) return { kind: 'none' };
  if (cl.length > 1) throw new Error(`request with ${cl.length} Content-Length fields: ${cl.join(' | ')}`);
  return { kind: 'length', length: lengthValue(cl[0]) };
}

/** A response's body framing, given the request method. */
export function responseFraming(method: string, status: number, fields: readonly Field[]): Framing {
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return { kind: 'none' };
  if (values(fields, 'transfer-encoding').length > 0) return { kind: 'chunked' };
  const cl = values(fields, 'content-length');
  if (cl.length === 0) return { kind: 'close' };
  if (cl.length > 1) throw new Error(`response with ${cl.length} Content-Length fields: ${cl.join(' | ')}`);
  return { kind: 'length', length: lengthValue(cl[0]) };
}

function lengthValue(v: string): number {
  if (!/^\d{1,15}$/.test(v)) throw new Error(`Content-Length is not a length: ${JSON.stringify(v)}`);
  return Number(v);
}

export interface Body {
  /** The body bytes as they were framed on the wire (chunk sizes and trailers included). */
  raw: Buffer;
  /** The content, framing removed. */
  data: Buffer;
  /** Chunked trailer fields, as they arrived. */
  trailers: Field[];
  /** Sizes of the chunks, in order (the last chunk's 0 included); empty unless chunked. */
  chunkSizes: number[];
}

/**
 * Reads a body starting at `start`. Returns the body and the offset just past it, or null while
 * it is incomplete. A close-delimited body is complete only when `ended` (the peer closed).
 */
export function readBody(buf: Buffer, start: number, framing: Framing, ended: boolean): { body: Body; end: number } | null {
  switch (framing.kind) {
    case 'none':
      return { body: { raw: Buffer.alloc(0), data: Buffer.alloc(0), trailers: [], chunkSizes: [] }, end: start };
    case 'length': {
      if (buf.length - start < framing.length) return null;
      const data = buf.subarray(start, start + framing.length);
      return { body: { raw: data, data, trailers: [], chunkSizes: [] }, end: start + framing.length };
    }
    case 'close':
      if (!ended) return null;
      return { body: { raw: buf.subarray(start), data: buf.subarray(start), trailers: [], chunkSizes: [] }, end: buf.length };
    case 'chunked':
      return readChunked(buf, start);
  }
}

function readChunked(buf: Buffer, start: number): { body: Body; end: number } | null {
  const parts: Buffer[] = [];
  const chunkSizes: number[] = [];
  let pos = start;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', pos, 'latin1');
    if (lineEnd < 0) return null;
    const sizeText = buf.toString('latin1', pos, lineEnd).split(';')[0].trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`bad chunk size line ${JSON.stringify(buf.toString('latin1', pos, lineEnd))}`);
    const size = parseInt(sizeText, 16);
    chunkSizes.push(size);
    pos = lineEnd + 2;
    if (size === 0) break;
    if (buf.length < pos + size + 2) return null;
    parts.push(buf.subarray(pos, pos + size));
    if (buf.toString('latin1', pos + size, pos + size + 2) !== '\r\n') throw new Error('chunk data not followed by CRLF');
    pos += size + 2;
  }
  // Trailer fields, then the blank line.
  const trailers: Field[] = [];
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', pos, 'latin1');
    if (lineEnd < 0) return null;
    const line = buf.toString('latin1', pos, lineEnd);
    pos = lineEnd + 2;
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not a trailer field: ${JSON.stringify(line)}`);
    trailers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { body: { raw: buf.subarray(start, pos), data: Buffer.concat(parts), trailers, chunkSizes }, end: pos };
}

/** One complete message as read off the wire. */
export interface Message extends Head {
  body: Body;
  /** Every byte of the message, head and framed body. */
  bytes: Buffer;
}

/** `chunked` framing of `data` in chunks of the given sizes, with trailer fields. */
export function chunked(pieces: readonly string[], trailers: readonly Field[] = []): string {
  let s = '';
  for (const p of pieces) s += `${Buffer.byteLength(p, 'latin1').toString(16)}\r\n${p}\r\n`;
  s += '0\r\n';
  for (const [n, v] of trailers) s += `${n}: ${v}\r\n`;
  return `${s}\r\n`;
}

/** A head as text: start line, fields, blank line. */
export function headText(startLine: string, fields: readonly Field[]): string {
  return `${startLine}\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
}
