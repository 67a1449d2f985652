/**
 * Decodes HTTP/1.1 message bodies as they arrive: Content-Length, chunked (validated: sizes,
 * extensions, CRLFs, trailers) and read-until-close framing. Emits body slices without copying.
 */
import type { HeaderList } from '../http/headers.js';
import { HeadScanner, Http1ParseError, parseFields } from './head-parser.js';

/** Where decoded data goes; implemented by the connection objects (no per-chunk closures). */
export interface DecoderOutput {
  onBodyData(chunk: Buffer): void;
  onBodyEnd(trailers: HeaderList | null): void;
}

/** Body framing of one message; `UntilClose` is a response body delimited by the connection closing. */
export const Framing = { None: 0, Length: 1, Chunked: 2, UntilClose: 3 } as const;
export type Framing = (typeof Framing)[keyof typeof Framing];

const enum Chunk {
  Size,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  Trailers,
  Done,
}

const MAX_SIZE_DIGITS = 15; // 16^15 > 2^53: larger sizes are not representable anyway
const MAX_EXTENSION_BYTES = 4096;

function chunkError(message: string): Http1ParseError {
  return new Http1ParseError(400, 'http1.invalid_chunk_size', message);
}

/** A body decoder for one message. */
export class BodyDecoder {
  private remaining: number;
  private state = Chunk.Size;
  private digits = 0;
  private extBytes = 0;
  private trailers: HeadScanner | null = null;
  done = false;
  /** Body bytes delivered so far. */
  received = 0;

  constructor(
    readonly framing: Framing,
    length: number,
    private readonly trailerLimit: number,
  ) {
    this.remaining = framing === Framing.Length ? length : 0;
  }

  /**
   * Consumes body bytes from `buf` starting at `start`. Returns how many bytes belong to this
   * body; the rest (pipelined data) is the caller's. Throws `Http1ParseError` on bad framing.
   */
  feed(buf: Buffer, start: number, out: DecoderOutput): number {
    switch (this.framing) {
      case Framing.Length:
        return this.feedLength(buf, start, out);
      case Framing.Chunked:
        return this.feedChunked(buf, start, out);
      case Framing.UntilClose:
        if (buf.length > start) {
          this.received += buf.length - start;
          out.onBodyData(start === 0 ? buf : buf.subarray(start));
        }
        return buf.length - start;
      default:
        this.finish(out, null);
        return 0;
    }
  }

  /** The peer closed the connection; true when that legitimately ends the body. */
  endOfInput(out: DecoderOutput): boolean {
    if (this.done) return true;
    if (this.framing === Framing.UntilClose) {
      this.finish(out, null);
      return true;
    }
    return false;
  }

  private finish(out: DecoderOutput, trailers: HeaderList | null): void {
    this.done = true;
    out.onBodyEnd(trailers);
  }

  private feedLength(buf: Buffer, start: number, out: DecoderOutput): number {
    const avail = buf.length - start;
    const take = avail < this.remaining ? avail : this.remaining;
    if (take > 0) {
      this.remaining -= take;
      this.received += take;
      out.onBodyData(start === 0 && take === buf.length ? buf : buf.subarray(start, start + take));
    }
    if (this.remaining === 0) this.finish(out, null);
    return take;
  }

  private feedChunked(buf: Buffer, start: number, out: DecoderOutput): number {
    let i = start;
    const n = buf.length;
    while (i < n && !this.done) {
      switch (this.state) {
        case Chunk.Size: {
          const b = buf[i];
          const v = hexValue(b);
          if (v >= 0) {
            if (++this.digits > MAX_SIZE_DIGITS) throw chunkError('chunk size too large');
            this.remaining = this.remaining * 16 + v;
            i++;
          } else if (this.digits === 0) {
            throw chunkError('invalid chunk size');
          } else if (b === 13) {
            this.state = Chunk.SizeLf;
            i++;
          } else if (b === 59 || b === 32 || b === 9) {
            this.state = Chunk.Ext;
            i++;
          } else {
            throw chunkError('invalid chunk size');
          }
          break;
        }
        case Chunk.Ext: {
          // Extensions are ignored, as RFC 9112 allows, but bounded and free of control bytes.
          const b = buf[i];
          if (b === 13) this.state = Chunk.SizeLf;
          else if ((b < 32 && b !== 9) || b === 127) throw chunkError('invalid chunk extension');
          else if (++this.extBytes > MAX_EXTENSION_BYTES) throw chunkError('chunk extension too long');
          i++;
          break;
        }
        case Chunk.SizeLf:
          if (buf[i] !== 10) throw chunkError('missing LF after chunk size');
          i++;
          this.digits = 0;
          this.extBytes = 0;
          if (this.remaining === 0) {
            this.state = Chunk.Trailers;
            this.trailers = new HeadScanner(this.trailerLimit);
          } else this.state = Chunk.Data;
          break;
        case Chunk.Data: {
          const avail = n - i;
          const take = avail < this.remaining ? avail : this.remaining;
          this.remaining -= take;
          this.received += take;
          out.onBodyData(buf.subarray(i, i + take));
          i += take;
          if (this.remaining === 0) this.state = Chunk.DataCr;
          break;
        }
        case Chunk.DataCr:
          if (buf[i] !== 13) throw chunkError('missing CRLF after chunk data');
          this.state = Chunk.DataLf;
          i++;
          break;
        case Chunk.DataLf:
          if (buf[i] !== 10) throw chunkError('missing CRLF after chunk data');
          this.state = Chunk.Size;
          i++;
          break;
        case Chunk.Trailers: {
          const scanner = this.trailers!;
          const part = i === 0 ? buf : buf.subarray(i);
          const end = scanner.scan(part);
          if (end < 0) return n - start;
          const block = scanner.take(part, end);
          i += end;
          this.trailers = null;
          this.state = Chunk.Done;
          const fields = parseFields(block, 0);
          this.finish(out, fields.length > 0 ? fields : null);
          break;
        }
        default:
          return i - start;
      }
    }
    return i - start;
  }
}

function hexValue(b: number): number {
  if (b >= 48 && b <= 57) return b - 48;
  if (b >= 97 && b <= 102) return b - 87;
  if (b >= 65 && b <= 70) return b - 55;
  return -1;
}

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/** The framing bytes around one chunk of `size` bytes. */
export function chunkHeader(size: number): Buffer {
  return Buffer.from(`${size.toString(16)}\r\n`, 'latin1');
}

export { CRLF, LAST_CHUNK };

/** The last chunk followed by a trailer section. */
export function lastChunkWithTrailers(trailers: HeaderList): Buffer {
  let s = '0\r\n';
  for (let i = 0; i < trailers.length; i++) s += `${trailers.lower[i]}: ${trailers.values[i]}\r\n`;
  return Buffer.from(`${s}\r\n`, 'latin1');
}
