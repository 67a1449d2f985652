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
 * terminates TLS on reads through 'data' events: a `TLSSocket` wrapping a socket ignores `onread`.
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
 * connection is already closed).
 */
export function adoptInPlace(accepted: net.Socket, reader: Reader): net.Socket {
  const old = accepted as unknown as SocketInternals;
  const handle = old._handle;
  // Left as they are: closed or half-closed connections (an end already read cannot be read
  // again), bytes still buffered in the stream, and TLS sockets (their handle is the TLS layer).
  if (handle === null || accepted.destroyed || accepted.readableEnded || accepted.readableLength > 0 || 'encrypted' in accepted) return accepted;
  const route = new ReadRoute(reader);
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
