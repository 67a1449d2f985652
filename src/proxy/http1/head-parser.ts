/**
 * HTTP/1.x message heads: finds the end of a head in incoming bytes (across packets, with a size
 * limit) and parses request and status lines and header fields per RFC 9112, strictly enough that
 * nothing ambiguous is forwarded.
 */
import { HeaderList } from '../http/headers.js';

/** A protocol error with the status Envoy answers it with. */
export class Http1ParseError extends Error {
  constructor(
    readonly status: 400 | 408 | 413 | 426 | 431 | 500 | 501 | 505,
    /** Envoy-style response code details, e.g. `http1.codec_error`. */
    readonly details: string,
    message: string,
  ) {
    super(message);
    this.name = 'Http1ParseError';
  }
}

const LF = 10;
const CR = 13;

/**
 * Accumulates bytes until the blank line that ends a head. Scans only from line feeds, keeping
 * its state across chunks, so a head trickling in byte by byte costs O(n), not O(n²).
 */
export class HeadScanner {
  private chunks: Buffer[] = [];
  private size = 0;
  /** 0: inside a line; 1: just after LF; 2: after LF then CR. */
  private state = 1;

  constructor(private readonly limit: number) {}

  get buffered(): number {
    return this.size;
  }

  /**
   * Feeds a chunk. Returns the index in `chunk` just past the head's end, or -1 when more bytes
   * are needed. Throws 431 once the head outgrows the limit.
   */
  scan(chunk: Buffer): number {
    let st = this.state;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (st === 0) {
        const lf = chunk.indexOf(LF, i);
        if (lf < 0) break;
        st = 1;
        i = lf + 1;
        continue;
      }
      const b = chunk[i];
      if (b === LF) return this.finish(chunk, i + 1);
      if (st === 1 && b === CR) {
        st = 2;
        i++;
        continue;
      }
      st = 0;
    }
    this.state = st;
    if (this.size + n > this.limit) throw tooLarge();
    // A copy: the caller's buffer may be reused for its next read.
    this.chunks.push(Buffer.from(chunk));
    this.size += n;
    return -1;
  }

  private finish(chunk: Buffer, end: number): number {
    if (this.size + end > this.limit) throw tooLarge();
    return end;
  }

  /** The complete head (call after `scan` returned `end` for `chunk`), and resets the scanner. */
  take(chunk: Buffer, end: number): Buffer {
    let head: Buffer;
    if (this.chunks.length === 0) head = chunk.subarray(0, end);
    else {
      this.chunks.push(chunk.subarray(0, end));
      head = Buffer.concat(this.chunks, this.size + end);
    }
    this.reset();
    return head;
  }

  reset(): void {
    if (this.chunks.length > 0) this.chunks = [];
    this.size = 0;
    this.state = 1;
  }
}

function tooLarge(): Http1ParseError {
  return new Http1ParseError(431, 'http1.headers_too_large', 'headers size exceeds limit');
}

/** RFC 9110 token characters (method names, header names). */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TOKEN[c] = 1;
for (let c = 65; c <= 90; c++) TOKEN[c] = 1;
for (let c = 97; c <= 122; c++) TOKEN[c] = 1;

/**
 * Header-name characters: 1 for a token character, 3 for an uppercase letter (a token character
 * whose name needs lowercasing). A name OR-ed together tells both at once.
 */
const NAME_CHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) NAME_CHAR[c] = TOKEN[c] === 0 ? 0 : c >= 65 && c <= 90 ? 3 : 1;

const enum Line {
  Leading,
  Method,
  Target,
  Version,
  Done,
}

const HTTP_SLASH = 'HTTP/';

/**
 * Follows a request line while its bytes trickle in, so that bytes which cannot begin an HTTP/1.x
 * request (a TLS ClientHello on a plaintext port, another protocol, noise) are answered 400 at once
 * rather than after the headers timeout. Only incomplete heads are fed through it: a head that
 * arrives whole is checked by `parseRequestHead`.
 */
export class RequestLineCheck {
  private state = Line.Leading;
  private versionAt = 0;

  /** Follows `chunk`, the next bytes of the head; throws 400 as soon as they cannot be a request line. */
  feed(chunk: Buffer): void {
    let st = this.state;
    for (let i = 0; i < chunk.length && st !== Line.Done; i++) {
      const b = chunk[i];
      switch (st) {
        case Line.Leading:
          if (b === CR || b === LF) break;
          if (TOKEN[b] !== 1) throw badRequest('http1.codec_error', 'invalid request method');
          st = Line.Method;
          break;
        case Line.Method:
          if (b === 32) st = Line.Target;
          else if (TOKEN[b] !== 1) throw badRequest('http1.codec_error', 'invalid request method');
          break;
        case Line.Target:
          if (b === 32) st = Line.Version;
          else if (b < 32 || b === 127) throw badRequest('http1.codec_error', 'invalid character in request target');
          break;
        default: {
          // `HTTP/` digit `.` digit, then the line's end; the full parse tells 400 from 505.
          const at = this.versionAt++;
          const ok = at < 5 ? b === HTTP_SLASH.charCodeAt(at) : at === 6 ? b === 46 : at === 8 ? b === CR || b === LF : b >= 48 && b <= 57;
          if (!ok) throw badRequest('http1.codec_error', 'invalid HTTP version');
          if (at === 8) st = Line.Done;
        }
      }
    }
    this.state = st;
  }

  reset(): void {
    this.state = Line.Leading;
    this.versionAt = 0;
  }
}

export interface ParsedRequestLine {
  method: string;
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
}

export interface ParsedStatusLine {
  status: number;
  reason: string;
  minor: number;
}

function badRequest(details: string, message: string): Http1ParseError {
  return new Http1ParseError(400, details, message);
}

/** Byte offset of the end of the line starting at `from` (excluding CR LF), and of the next line. */
function lineEnd(buf: Buffer, from: number): [end: number, next: number] {
  const lf = buf.indexOf(LF, from);
  const stop = lf < 0 ? buf.length : lf;
  const end = stop > from && buf[stop - 1] === CR ? stop - 1 : stop;
  return [end, lf < 0 ? buf.length : lf + 1];
}

/** `HTTP/1.` as bytes, compared in place rather than through a string per message. */
const HTTP_1_PREFIX = Buffer.from('HTTP/1.', 'latin1');

function parseVersion(buf: Buffer, at: number, end: number): number {
  // Exactly `HTTP/1.0` or `HTTP/1.1`; anything else is answered by the caller.
  if (end - at !== 8) return -1;
  for (let i = 0; i < 7; i++) if (buf[at + i] !== HTTP_1_PREFIX[i]) return -1;
  const d = buf[at + 7];
  return d === 48 ? 0 : d === 49 ? 1 : -1;
}

/** Envoy's default `max_headers_count`: a request with more header fields gets 431. */
export const DEFAULT_MAX_REQUEST_HEADERS = 100;

/** Parses a complete request head (as returned by `HeadScanner.take`); more than `maxFields` fields get 431. */
export function parseRequestHead(buf: Buffer, maxFields = DEFAULT_MAX_REQUEST_HEADERS): { line: ParsedRequestLine; headers: HeaderList } {
  let pos = 0;
  // RFC 9112 §2.2: ignore at least one empty line before the request line.
  while (pos < buf.length && (buf[pos] === CR || buf[pos] === LF)) pos++;
  const [end, next] = lineEnd(buf, pos);
  let sp1 = pos;
  while (sp1 < end && TOKEN[buf[sp1]] === 1) sp1++;
  if (sp1 === pos || sp1 >= end || buf[sp1] !== 32) throw badRequest('http1.codec_error', 'invalid request method');
  const sp2 = buf.indexOf(32, sp1 + 1);
  if (sp2 < 0 || sp2 >= end || sp2 === sp1 + 1) throw badRequest('http1.codec_error', 'invalid request line');
  for (let i = sp1 + 1; i < sp2; i++) {
    const b = buf[i];
    if (b <= 32 || b === 127) throw badRequest('http1.codec_error', 'invalid character in request target');
  }
  const minor = parseVersion(buf, sp2 + 1, end);
  if (minor < 0) {
    const v = buf.toString('latin1', sp2 + 1, end);
    if (/^HTTP\/\d\.\d$/.test(v)) throw new Http1ParseError(505, 'http1.codec_error', `unsupported HTTP version ${v}`);
    throw badRequest('http1.codec_error', 'invalid HTTP version');
  }
  // One string for the whole head: substrings of it are far cheaper than a Buffer decode per field.
  const text = buf.toString('latin1');
  const line: ParsedRequestLine = {
    method: text.slice(pos, sp1),
    target: text.slice(sp1 + 1, sp2),
    minor,
  };
  return { line, headers: parseFields(buf, next, text, maxFields) };
}

/** Parses a complete response head. */
export function parseResponseHead(buf: Buffer): { line: ParsedStatusLine; headers: HeaderList } {
  const [end, next] = lineEnd(buf, 0);
  const minor = end >= 8 ? parseVersion(buf, 0, 8) : -1;
  if (minor < 0 || buf[8] !== 32) throw badRequest('upstream.protocol_error', 'invalid status line');
  const d0 = buf[9] - 48;
  const d1 = buf[10] - 48;
  const d2 = buf[11] - 48;
  if (!(d0 >= 1 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9) || (end > 12 && buf[12] !== 32)) {
    throw badRequest('upstream.protocol_error', 'invalid status code');
  }
  const text = buf.toString('latin1');
  const line: ParsedStatusLine = {
    status: d0 * 100 + d1 * 10 + d2,
    reason: end > 13 ? text.slice(13, end) : '',
    minor,
  };
  return { line, headers: parseFields(buf, next, text) };
}

/**
 * Parses header field lines from `pos` up to the blank line (also used for chunked trailers).
 * `text` is `buf` decoded as latin1, when the caller has it; more than `maxFields` fields get 431.
 */
export function parseFields(buf: Buffer, pos: number, text: string = buf.toString('latin1'), maxFields = Infinity): HeaderList {
  const headers = new HeaderList();
  const n = buf.length;
  while (pos < n) {
    const [end, next] = lineEnd(buf, pos);
    if (end === pos) break; // the blank line
    if (headers.length >= maxFields) throw new Http1ParseError(431, 'http1.too_many_headers', `more than ${maxFields} header fields`);
    const first = buf[pos];
    if (first === 32 || first === 9) throw badRequest('http1.codec_error', 'obsolete line folding in header');
    let colon = pos;
    let kinds = 0;
    for (; colon < end; colon++) {
      const k = NAME_CHAR[buf[colon]];
      if (k === 0) break;
      kinds |= k;
    }
    // No whitespace allowed between name and colon (RFC 9112 §5.1), and the name must not be empty.
    if (colon === pos || colon >= end || buf[colon] !== 58) throw badRequest('http1.codec_error', 'invalid header name');
    let vs = colon + 1;
    let ve = end;
    while (vs < ve && (buf[vs] === 32 || buf[vs] === 9)) vs++;
    while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--;
    if (!validValue(buf, vs, ve)) throw badRequest('http1.codec_error', 'invalid character in header value');
    const name = text.slice(pos, colon);
    // Names arriving in lowercase (HTTP/2 style, as sidecars send them) are their own lowercase form.
    headers.push(name, kinds === 1 ? name : name.toLowerCase(), text.slice(vs, ve));
    pos = next;
  }
  return headers;
}

/** Values at least this long are checked four bytes at a time. */
const WORD_CHECK_MIN = 16;
/** A 32-bit view of the last buffer memory checked by words (heads mostly share one read buffer). */
let wordMemory: ArrayBufferLike | null = null;
let words: Int32Array<ArrayBufferLike> = new Int32Array(0);

function wordsOf(memory: ArrayBufferLike): Int32Array<ArrayBufferLike> {
  if (memory !== wordMemory) {
    wordMemory = memory;
    words = new Int32Array(memory, 0, memory.byteLength >>> 2);
  }
  return words;
}

function validByte(b: number): boolean {
  return (b >= 32 || b === 9) && b !== 127;
}

/**
 * True when `buf[from, to)` holds no control character but horizontal tab (RFC 9110 §5.5: field
 * values are VCHAR, SP, HTAB and obs-text). A long value is read as 32-bit words: one test per word
 * finds whether any byte in it is below 0x20 or is 0x7f (the classic "has a byte less than n" and
 * "has a zero byte" bit tricks; a flagged word may be a false alarm only next to a byte that is
 * really flagged, and a tab is flagged too), and only a flagged word is looked at byte by byte.
 * A header value is a few hundred bytes at most here (the peer-metadata exchange's), and this is
 * most of what parsing a head costs.
 */
function validValue(buf: Buffer, from: number, to: number): boolean {
  let i = from;
  if (to - from >= WORD_CHECK_MIN) {
    const view = wordsOf(buf.buffer);
    const base = buf.byteOffset;
    // Bytes up to the first 4-byte boundary of the underlying memory, one at a time.
    for (; ((base + i) & 3) !== 0; i++) if (!validByte(buf[i])) return false;
    const last = (base + to) >>> 2;
    for (let w = (base + i) >>> 2; w < last; w++) {
      const x = view[w];
      const y = x ^ 0x7f7f7f7f;
      if ((((x - 0x20202020) & ~x) | ((y - 0x01010101) & ~y)) & 0x80808080) {
        const at = (w << 2) - base;
        for (let k = at; k < at + 4; k++) if (!validByte(buf[k])) return false;
      }
    }
    i = (last << 2) - base;
  }
  for (; i < to; i++) if (!validByte(buf[i])) return false;
  return true;
}
