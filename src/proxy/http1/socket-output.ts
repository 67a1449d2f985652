/**
 * The bytes an HTTP/1.1 connection sends: gathered over one turn of the event loop, then handed
 * to each socket's handle directly.
 *
 * Batched per turn: a write on a loopback or LAN socket hands the data to the receiving socket
 * at once and wakes the process waiting on it, and a wake-up on another core is among the dearest
 * parts of a write (an interrupt, and a VM exit under virtualisation). Writes made while the
 * loop dispatches the reads of one poll are held and leave together once every read was handled
 * (a `setImmediate`, which libuv runs right after the poll phase): a peer woken by the first of
 * them is still running when the next arrive, so a busy proxy wakes each peer about once per turn
 * instead of once per message. HAProxy sends in the same way, after a whole batch of events. An
 * idle proxy's turns carry one request, and its writes leave as soon as that request was handled.
 * Large writes (a streamed body) leave at once.
 *
 * Direct to the handle: `socket.write` runs every chunk through the Writable stream machinery (a
 * WriteWrap per write, the stream's buffering state, an after-write callback). Nearly every write
 * here is taken by the kernel at once, so that machinery is pure overhead; a write goes to the
 * handle with one reused request object, and only a write the kernel could not take whole (libuv
 * then queues it and completes it later) keeps its request object and counts as buffered until it
 * completes.
 *
 * Node's handle-level write (its `stream_wrap` binding) is not a public API: it is looked up once,
 * and when it is missing or not shaped as expected — or `SKIFF_SOCKET_WRITES=stream` is set —
 * every write goes through `socket.write` at once. Writes also go through `socket.write` while the
 * stream itself holds anything (still connecting, or data queued there), so the order of bytes on
 * the wire is always the order of the calls.
 *
 * TLS sockets are held per turn too, and what a turn held for one connection leaves as one write
 * to its handle (the TLS layer): one TLS record and one system call instead of a record and a call
 * per write. The pieces are copied into one shared buffer first, as the TLS layer encrypts a write
 * before the call returns (what it cannot encrypt yet it copies) and would otherwise copy several
 * pieces into a buffer of its own. The TLS handle completes every write later (in the next turn's
 * check phase at the earliest, never inside the call) and takes one write at a time: it asserts,
 * aborting the process, on a second while one is in flight. So a TLS connection has at most one
 * handle write in flight; a flush meanwhile, and any write made through the stream, go through the
 * stream, whose own calls into the handle (its `_write`, `_writev` and `_final`, the last of which
 * sends the TLS close and the FIN) wait on this socket until that write completed — bytes leave in
 * the order they were written and the FIN after all of them. `SKIFF_TLS_WRITES=stream` (or no
 * handle binding) sends TLS writes through the stream, corked into one `writev`, as before.
 *
 * Whoever ends or hands over the socket calls `flush()` first (a held write must not follow a FIN
 * or a tunnel's bytes); `destroy()` drops what is held, as it drops what the stream holds.
 */
import type { Socket } from 'node:net';

interface WriteRequest {
  oncomplete: (this: WriteRequest, status: number) => void;
  output: SocketOutput | null;
  bytes: number;
  buffer: Buffer | null;
}

interface StreamHandle {
  writeBuffer(req: WriteRequest, data: Buffer): number;
  writeLatin1String(req: WriteRequest, data: string): number;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteRequest;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
  kBytesWritten: number;
}

function loadBinding(): StreamWrapBinding | null {
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamWrapBinding> }).binding('stream_wrap');
    if (typeof b.WriteWrap !== 'function' || !(b.streamBaseState instanceof Int32Array)) return null;
    if (typeof b.kLastWriteWasAsync !== 'number' || typeof b.kBytesWritten !== 'number') return null;
    return b as StreamWrapBinding;
  } catch {
    return null;
  }
}

const binding = process.env.SKIFF_SOCKET_WRITES === 'stream' ? null : loadBinding();
/** TLS writes go to the handle too (see above), unless turned off. */
const tlsDirect = binding !== null && process.env.SKIFF_TLS_WRITES !== 'stream';

/**
 * Where a TLS connection's held pieces are joined before they are written: the TLS layer has
 * encrypted them when the write call returns, so one buffer serves every connection.
 */
const TLS_JOIN = Buffer.allocUnsafe(64 * 1024);

/** Bytes held or queued in libuv past which a write reports backpressure, as the stream's highWaterMark. */
const HIGH_WATER = 16 * 1024;
/** A write at least this large leaves at once (with what is held before it). */
const HOLD_LIMIT = 16 * 1024;

interface SocketInternals {
  _handle: (StreamHandle & object) | null;
  connecting: boolean;
  destroyed: boolean;
  /** The Writable's own state: what it holds (`length`) and whether `end()` was called. */
  _writableState: { length: number; ending: boolean };
}

/** The stream's calls into the handle, which a TLS socket's own writes make wait (see above). */
interface StreamCalls {
  _write: (chunk: unknown, encoding: string, cb: (err?: Error | null) => void) => void;
  _writev: (chunks: unknown, cb: (err?: Error | null) => void) => void;
  _final: (cb: (err?: Error | null) => void) => void;
}

function onWriteComplete(this: WriteRequest, status: number): void {
  const out = this.output;
  this.output = null;
  this.buffer = null;
  if (out !== null) out.completed(this.bytes, status);
}

function onTlsWriteComplete(this: WriteRequest, status: number): void {
  const out = this.output;
  this.output = null;
  if (out !== null) out.tlsCompleted(status);
}

function writeError(code: number): Error {
  return Object.assign(new Error(`write failed (${code})`), { errno: code, syscall: 'write' });
}

// Outputs holding writes, flushed together once the current turn's reads were all handled.
let holding: SocketOutput[] = [];
let flushScheduled = false;

function flushHeld(): void {
  flushScheduled = false;
  const outputs = holding;
  holding = [];
  for (const out of outputs) out.flush();
}

export class SocketOutput {
  /** Writes held for the end of the turn, in order; null when none. */
  private held: (Buffer | string)[] | null = null;
  private heldBytes = 0;
  /** A request object no write has kept: reused until a write goes asynchronous. */
  private spare: WriteRequest | null = null;
  /** Bytes of asynchronous handle writes not yet completed. */
  private pending = 0;
  private needDrain = false;
  private readonly internals: SocketInternals;
  /**
   * A TLS socket's handle takes one write at a time (it asserts, aborting the process, on a second
   * while one is in flight), so TLS connections write through the stream, which queues them.
   */
  private readonly streamOnly: boolean;
  /** Writes are held for the end of the turn: false only without the handle binding (see above). */
  private readonly holds: boolean;
  /** A TLS connection whose held writes go to its handle, one at a time (see above). */
  private readonly tls: boolean;
  /** A TLS handle write is in flight: the stream's calls into the handle wait for it. */
  private tlsInFlight = false;
  /** Stream calls into the handle made while a TLS handle write was in flight, run once it completed. */
  private waiting: (() => void)[] | null = null;
  /** The stream's calls on this socket are made to wait for TLS handle writes (installed on the first). */
  private streamGated = false;

  constructor(private readonly socket: Socket) {
    this.internals = socket as unknown as SocketInternals;
    this.streamOnly = 'encrypted' in socket;
    this.holds = binding !== null;
    this.tls = this.streamOnly && tlsDirect;
  }

  /** Bytes written but not yet taken by the kernel (held here, the stream's and the handle's). */
  get bufferedBytes(): number {
    return this.heldBytes + this.socket.writableLength + this.pending;
  }

  /** Writes `data`; false when the caller should wait for the socket's 'drain'. */
  write(data: Buffer): boolean {
    if (data.length >= HOLD_LIMIT) {
      this.flush();
      const handle = this.directHandle();
      if (handle === null) return this.socket.write(data);
      const req = this.request();
      return this.after(req, handle.writeBuffer(req, data), data);
    }
    return this.hold(data, data.length);
  }

  /** Writes latin1 text (an HTTP head); false when the caller should wait for 'drain'. */
  writeLatin1(text: string): boolean {
    return this.hold(text, text.length);
  }

  /** Sends what is held now (before the socket is ended or handed over). */
  flush(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    this.heldBytes = 0;
    if (this.internals.destroyed) return;
    if (this.streamOnly) {
      if (!this.tls || !this.flushToTlsHandle(held)) this.flushToStream(held);
      return;
    }
    for (let i = 0; i < held.length; i++) {
      const item = held[i];
      const handle = this.directHandle();
      const text = typeof item === 'string';
      if (handle === null) {
        if (text) this.socket.write(item, 'latin1');
        else this.socket.write(item);
        continue;
      }
      const req = this.request();
      // A string the kernel did not take whole is copied by Node itself: nothing to keep alive.
      const err = text ? handle.writeLatin1String(req, item) : handle.writeBuffer(req, item);
      if (!this.after(req, err, text ? null : item) && this.internals.destroyed) return;
    }
    if (this.needDrain && this.bufferedBytes === 0) {
      this.needDrain = false;
      this.socket.emit('drain');
    }
  }

  /**
   * A TLS connection's held writes as one write to its handle; false, having written nothing, when
   * they must go through the stream: a handle write is still in flight, the stream holds or writes
   * something, or it was ended.
   */
  private flushToTlsHandle(held: (Buffer | string)[]): boolean {
    const s = this.internals;
    const handle = s._handle;
    const w = s._writableState;
    if (this.tlsInFlight || handle === null || w.length !== 0 || w.ending) return false;
    this.gateStream();
    let data: Buffer;
    const first = held[0];
    if (held.length === 1 && typeof first !== 'string') data = first;
    else {
      let bytes = 0;
      for (let i = 0; i < held.length; i++) bytes += held[i].length;
      // Held pieces stay below HOLD_LIMIT each and HIGH_WATER together, so they nearly always fit.
      const join = bytes <= TLS_JOIN.length ? TLS_JOIN : Buffer.allocUnsafe(bytes);
      let at = 0;
      for (let i = 0; i < held.length; i++) {
        const item = held[i];
        at += typeof item === 'string' ? join.write(item, at, 'latin1') : item.copy(join, at);
      }
      data = join.subarray(0, at);
    }
    const req = new binding!.WriteWrap();
    req.oncomplete = onTlsWriteComplete;
    req.output = null;
    req.bytes = 0;
    req.buffer = null;
    const err = handle.writeBuffer(req, data);
    if (err !== 0) {
      this.socket.destroy(writeError(err));
      return true;
    }
    if (binding!.streamBaseState[binding!.kLastWriteWasAsync] !== 0) {
      req.output = this;
      this.tlsInFlight = true;
      this.pending = data.length;
    }
    return true;
  }

  /**
   * Makes the stream's own calls into the handle (writes, and `_final`, which sends the TLS close
   * and the FIN) wait while a TLS handle write is in flight, so that they follow it.
   */
  private gateStream(): void {
    if (this.streamGated) return;
    this.streamGated = true;
    const socket = this.socket as unknown as StreamCalls;
    const { _write: write, _writev: writev, _final: final } = socket;
    socket._write = (chunk, encoding, cb) => this.afterTlsWrite(() => write.call(socket, chunk, encoding, cb));
    socket._writev = (chunks, cb) => this.afterTlsWrite(() => writev.call(socket, chunks, cb));
    socket._final = (cb) => this.afterTlsWrite(() => final.call(socket, cb));
  }

  private afterTlsWrite(call: () => void): void {
    if (!this.tlsInFlight) {
      call();
      return;
    }
    if (this.waiting === null) this.waiting = [];
    this.waiting.push(call);
  }

  /** The TLS handle write in flight completed. */
  tlsCompleted(status: number): void {
    this.tlsInFlight = false;
    this.pending = 0;
    if (this.internals.destroyed) return;
    if (status < 0) {
      this.socket.destroy(writeError(status));
      return;
    }
    const waiting = this.waiting;
    if (waiting !== null) {
      this.waiting = null;
      for (const call of waiting) call();
    }
    if (this.needDrain && this.bufferedBytes === 0) {
      this.needDrain = false;
      this.socket.emit('drain');
    }
  }

  /** A TLS connection's held writes, through the stream as one `writev` (see above). */
  private flushToStream(held: (Buffer | string)[]): void {
    const socket = this.socket;
    const several = held.length > 1;
    if (several) socket.cork();
    for (let i = 0; i < held.length; i++) {
      const item = held[i];
      if (typeof item === 'string') socket.write(item, 'latin1');
      else socket.write(item);
    }
    // Backpressure is the stream's own here: it emits 'drain' when a write of it said to wait.
    if (several) socket.uncork();
  }

  private hold(item: Buffer | string, bytes: number): boolean {
    let held = this.held;
    if (held === null) {
      if (!this.streamOnly ? this.directHandle() === null : !this.holds) {
        return typeof item === 'string' ? this.socket.write(item, 'latin1') : this.socket.write(item);
      }
      this.held = held = [];
      holding.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushHeld);
      }
    }
    held.push(item);
    this.heldBytes += bytes;
    if (this.streamOnly) {
      if (this.heldBytes < HIGH_WATER) return !this.socket.writableNeedDrain;
      // Enough to judge: written to the handle, it waits for that write; through the stream, the
      // stream says when to wait and emits 'drain' itself.
      this.flush();
      if (this.tlsInFlight && this.pending >= HIGH_WATER) {
        this.needDrain = true;
        return false;
      }
      return !this.socket.writableNeedDrain;
    }
    if (this.heldBytes + this.pending < HIGH_WATER) return true;
    this.needDrain = true;
    return false;
  }

  private directHandle(): StreamHandle | null {
    if (binding === null || this.streamOnly) return null;
    const s = this.internals;
    const handle = s._handle;
    if (handle === null || s.connecting) return null;
    const w = s._writableState;
    return w.length === 0 && !w.ending ? handle : null;
  }

  private request(): WriteRequest {
    let req = this.spare;
    if (req === null) {
      req = new binding!.WriteWrap();
      req.oncomplete = onWriteComplete;
      req.output = null;
      req.bytes = 0;
      req.buffer = null;
      this.spare = req;
    }
    return req;
  }

  /** After a handle write: errors destroy the socket; an asynchronous write keeps its request. */
  private after(req: WriteRequest, err: number, data: Buffer | null): boolean {
    const state = binding!.streamBaseState;
    if (err !== 0) {
      this.socket.destroy(writeError(err));
      return false;
    }
    if (state[binding!.kLastWriteWasAsync] === 0) return true;
    // libuv queued (part of) it: this request object now belongs to that write.
    this.spare = null;
    const bytes = state[binding!.kBytesWritten];
    req.output = this;
    req.bytes = bytes;
    req.buffer = data;
    this.pending += bytes;
    if (this.heldBytes + this.pending < HIGH_WATER) return true;
    this.needDrain = true;
    return false;
  }

  /** An asynchronous handle write finished. */
  completed(bytes: number, status: number): void {
    this.pending -= bytes;
    if (this.internals.destroyed) return;
    if (status < 0) {
      this.socket.destroy(writeError(status));
      return;
    }
    if (this.needDrain && this.bufferedBytes === 0) {
      this.needDrain = false;
      this.socket.emit('drain');
    }
  }
}
