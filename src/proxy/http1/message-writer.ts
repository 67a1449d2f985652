/**
 * Writes HTTP/1.1 message bodies to a socket with as few writes as possible: the head is held
 * until the first body bytes (or the end of the tick) and leaves in the same buffer as small
 * bodies, and chunked framing is built around the data in one buffer. One writer per
 * connection, reused for every message on it.
 *
 * Heads are latin1 text (one byte per character): a head written alone goes to the socket as a
 * string (no intermediate Buffer), a head with a small body is encoded straight into the one
 * buffer that carries both. What leaves goes through the connection's `SocketOutput`, which
 * holds it until the end of the event-loop turn (socket-output.ts).
 */
import type { Socket } from 'node:net';
import type { HeaderList } from '../http/headers.js';
import { CRLF, LAST_CHUNK, chunkHeader, lastChunkWithTrailers } from './body-decoder.js';
import { SocketOutput } from './socket-output.js';

/** Body pieces up to this size are copied together with their framing into one buffer. */
const COALESCE_LIMIT = 16 * 1024;

export class MessageWriter {
  private head: string | null = null;
  private scheduled = false;
  /** Frame the body of the current message as chunked. */
  chunked = false;

  private readonly out: SocketOutput;

  constructor(private readonly socket: Socket) {
    this.out = new SocketOutput(socket);
  }

  /** Bytes written but not yet taken by the kernel. */
  get bufferedBytes(): number {
    return this.out.bufferedBytes;
  }

  /**
   * Sends the head with the first body bytes, or, if none come, at the end of the write batch
   * this runs in (`beginWriteBatch`), else at the end of this tick.
   */
  holdHead(head: string, chunked: boolean): void {
    this.head = head;
    this.chunked = chunked;
    if (this.scheduled) return;
    this.scheduled = true;
    if (batchDepth > 0) held.push(this);
    else process.nextTick(flushWriter, this);
  }

  /** Sends a head at once (a message without body). */
  writeHead(head: Buffer | string): void {
    this.flush();
    this.chunked = false;
    if (typeof head === 'string') this.out.writeLatin1(head);
    else this.out.write(head);
  }

  /** Sends everything written so far now: before the socket is ended or handed to a tunnel. */
  sendNow(): void {
    this.flush();
    this.out.flush();
  }

  flush(): void {
    this.scheduled = false;
    const h = this.head;
    if (h !== null) {
      this.head = null;
      this.out.writeLatin1(h);
    }
  }

  /**
   * Writes body bytes; the socket's verdict on buffering (false = wait for 'drain'). A
   * `transient` chunk is valid only during the call (it may lie in a read buffer,
   * in-place-reads.ts): what the socket keeps of it is a copy, made while framing or coalescing
   * where that happens anyway.
   */
  data(chunk: Buffer, transient: boolean): boolean {
    const head = this.head;
    this.head = null;
    const out = this.out;
    if (!this.chunked) {
      if (head === null) return out.write(kept(chunk, transient));
      if (chunk.length <= COALESCE_LIMIT) return out.write(withHead(head, chunk));
      out.writeLatin1(head);
      return out.write(kept(chunk, transient));
    }
    const size = chunkHeader(chunk.length);
    if (chunk.length <= COALESCE_LIMIT) {
      return out.write(head === null ? Buffer.concat([size, chunk, CRLF]) : Buffer.concat([Buffer.from(head, 'latin1'), size, chunk, CRLF]));
    }
    const socket = this.socket;
    out.flush();
    socket.cork();
    if (head !== null) socket.write(head, 'latin1');
    socket.write(size);
    socket.write(kept(chunk, transient));
    const ok = socket.write(CRLF);
    socket.uncork();
    return ok;
  }

  /** Ends the body (the last chunk and trailers when chunked). */
  end(trailers: HeaderList | null): void {
    const head = this.head;
    this.head = null;
    if (!this.chunked) {
      if (head !== null) this.out.writeLatin1(head);
      return;
    }
    const tail = trailers !== null && trailers.length > 0 ? lastChunkWithTrailers(trailers) : LAST_CHUNK;
    this.out.write(head === null ? tail : withHead(head, tail));
  }
}

/** One buffer holding the latin1 head followed by `body`. */
function withHead(head: string, body: Buffer): Buffer {
  const n = head.length;
  const out = Buffer.allocUnsafe(n + body.length);
  out.write(head, 0, n, 'latin1');
  body.copy(out, n);
  return out;
}

/** What a socket may keep of `chunk`: a copy when the caller's buffer is reused after the call. */
function kept(chunk: Buffer, transient: boolean): Buffer {
  return transient ? Buffer.from(chunk) : chunk;
}

function flushWriter(w: MessageWriter): void {
  w.flush();
}

// Write batches: a socket's 'data' handler runs inside one, so a head held while handling it
// (a response head whose body is in the same packet, most of the time) is flushed when the
// handler returns, without a process.nextTick per message.
let batchDepth = 0;
let held: MessageWriter[] = [];

/** Starts a batch; every call must be paired with `endWriteBatch` (in a finally). */
export function beginWriteBatch(): void {
  batchDepth++;
}

/** Ends a batch: heads still held go out now. */
export function endWriteBatch(): void {
  if (--batchDepth > 0 || held.length === 0) return;
  const writers = held;
  held = [];
  for (const w of writers) w.flush();
}
