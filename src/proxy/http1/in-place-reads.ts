/**
 * HTTP/1.1 connections read "in place": through net's `onread` option into one shared buffer,
 * handed straight to the codec. This skips the Readable stream layer (a buffer allocated, pushed,
 * emitted and a `maybeReadMore` tick per read), which is a good part of what a read costs.
 *
 * The contract that makes one shared buffer safe: a read's bytes are handled completely inside the
 * read callback (the JS thread cannot take another read meanwhile), and whatever must outlive the
 * callback is copied out of it by whoever keeps it — partial heads (`HeadScanner`), held pipelined
 * requests, and body chunks (`Http1Stream.onBodyData`, `Http1ClientConnection.onBodyData`).
 *
 * A connection handed on to code that reads it as a stream (a WebSocket or CONNECT tunnel) goes
 * back to 'data' events, each carrying its own copy of the bytes (`readAsStream`).
 *
 * `net.Server` has no `onread` option, so an accepted socket's handle moves into a new `Socket`
 * made with it (`adoptInPlace`); the server's connection count moves along. Upstream connections,
 * TLS ones included, are opened with it (`inPlaceReads`). An accepted connection the proxy
 * terminates TLS on keeps its `TLSSocket` (its handle is the TLS layer, whose callbacks belong
 * to that socket), which ignores `onread` when it wraps a socket; it is switched to reading in
 * place after the handshake, the way net sets up a socket made with `onread`: the read buffer and
 * callback under net's own symbols, and the TLS handle told to decrypt into that buffer
 * (`useUserBuffer`, which `tls.connect` with `onread` relies on). Where this Node has neither,
 * such a connection keeps reading through 'data' events.
 */
import net from 'node:net';

/** Receives the bytes of one read; they are valid only until it returns. */
export type Reader = (bytes: Buffer) => void;

/** The buffer every in-place read lands in. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

class ReadRoute {
  socket: net.Socket | null = null;

  constructor(public reader: Reader) {}

  /** net's `onread` callback. */
  readonly onRead = (n: number, buf: Uint8Array): boolean => {
    this.reader((buf as Buffer).subarray(0, n));
    return true; // pausing goes through socket.pause()
  };

  readonly emitCopy: Reader = (bytes) => {
    this.socket?.emit('data', Buffer.from(bytes));
  };
}

const routes = new WeakMap<net.Socket, ReadRoute>();

function track(socket: net.Socket, route: ReadRoute): net.Socket {
  route.socket = socket;
  routes.set(socket, route);
  return socket;
}

/**
 * The symbols under which net keeps a socket's `onread` buffer and callback, read off a socket
 * made with `onread`; null when this Node keeps them otherwise.
 */
interface OnreadSymbols {
  readonly buffer: symbol;
  readonly callback: symbol;
}

function findOnreadSymbols(): OnreadSymbols | null {
  const callback = (): boolean => true;
  // net takes `onread` on any socket it makes (the typings list it for connect only).
  const options: net.SocketConstructorOpts & { onread: net.OnReadOpts } = { onread: { buffer: READ_BUFFER, callback } };
  const probe = new net.Socket(options);
  const own = probe as unknown as Record<symbol, unknown>;
  let bufferKey: symbol | null = null;
  let callbackKey: symbol | null = null;
  for (const key of Object.getOwnPropertySymbols(probe)) {
    if (own[key] === READ_BUFFER) bufferKey = key;
    else if (own[key] === callback) callbackKey = key;
  }
  probe.destroy();
  return bufferKey === null || callbackKey === null ? null : { buffer: bufferKey, callback: callbackKey };
}

const onreadSymbols = process.env.SKIFF_TLS_READS === 'stream' ? null : findOnreadSymbols();

/** A TLS handle (Node's TLSWrap) as far as reading in place needs it. */
interface UserBufferHandle {
  useUserBuffer?: (buffer: Uint8Array) => void;
}

/**
 * Switches a TLS socket whose handshake is done to reading in place; false (nothing changed)
 * when this Node does not allow it.
 */
function readTlsInPlace(socket: net.Socket, route: ReadRoute): boolean {
  const handle = (socket as unknown as { _handle: UserBufferHandle | null })._handle;
  if (onreadSymbols === null || handle === null || typeof handle.useUserBuffer !== 'function') return false;
  const own = socket as unknown as Record<symbol, unknown>;
  own[onreadSymbols.buffer] = READ_BUFFER;
  own[onreadSymbols.callback] = route.onRead;
  handle.useUserBuffer(READ_BUFFER);
  track(socket, route);
  return true;
}

/** Socket internals an adoption moves: the libuv handle and the server whose count it is in. */
interface SocketInternals {
  _handle: object | null;
  _server: net.Server | null;
  server: net.Server | null;
}

/** A connection about to be opened to read in place: the `onread` option to open it with, then `track` the socket made. */
export interface InPlaceReads {
  readonly onread: net.OnReadOpts;
  track(socket: net.Socket): net.Socket;
}

/**
 * Reads in place for a connection the caller opens (`net.connect` or `tls.connect`, which both
 * take `onread`); `reader` gets its bytes from the first read.
 */
export function inPlaceReads(reader: Reader): InPlaceReads {
  const route = new ReadRoute(reader);
  return { onread: { buffer: READ_BUFFER, callback: route.onRead }, track: (socket) => track(socket, route) };
}

/**
 * Moves an accepted socket's connection into a socket read in place, before anything else was
 * registered on it or written to it. Returns the socket to use from now on (the same one when the
 * connection is already closed, and for a TLS socket, which is switched to reading in place
 * itself).
 */
export function adoptInPlace(accepted: net.Socket, reader: Reader): net.Socket {
  const old = accepted as unknown as SocketInternals;
  const handle = old._handle;
  // Left as they are: closed or half-closed connections (an end already read cannot be read
  // again) and bytes still buffered in the stream.
  if (handle === null || accepted.destroyed || accepted.readableEnded || accepted.readableLength > 0) return accepted;
  const route = new ReadRoute(reader);
  // A TLS socket's handle is the TLS layer, whose callbacks go to that socket: it stays.
  if ('encrypted' in accepted) {
    readTlsInPlace(accepted, route);
    return accepted;
  }
  const options: net.SocketConstructorOpts & { handle: object; onread: net.OnReadOpts } = {
    handle,
    allowHalfOpen: accepted.allowHalfOpen,
    readable: true,
    writable: true,
    onread: { buffer: READ_BUFFER, callback: route.onRead },
  };
  // The old socket lets go of the connection, and the server counts the new one in its place.
  const server = old._server;
  old._handle = null;
  old._server = null;
  old.server = null;
  const socket = new net.Socket(options);
  const adopted = socket as unknown as SocketInternals;
  adopted._server = server;
  adopted.server = server;
  return track(socket, route);
}

/** Sends a socket's reads to `reader`; false when the socket is not read in place (use 'data'). */
export function setReader(socket: net.Socket, reader: Reader): boolean {
  const route = routes.get(socket);
  if (route === undefined) return false;
  route.reader = reader;
  return true;
}

/** From now on the socket's reads arrive as 'data' events, as on any socket. */
export function readAsStream(socket: net.Socket): void {
  const route = routes.get(socket);
  if (route !== undefined) route.reader = route.emitCopy;
}
