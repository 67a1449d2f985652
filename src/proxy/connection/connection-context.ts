/**
 * The connection context of each downstream connection, made once when the listener accepts it
 * (or when a CONNECT tunnel opens inside one), and how a stop verdict ends a socket.
 */
import type net from 'node:net';
import type { ConnectionContext } from '../filters/connection-filter.js';

/** The listener a connection arrived on, as its context names it. */
export interface AcceptingListener {
  readonly name: string;
  readonly direction: ConnectionContext['direction'];
  /** The bound port (the configured one, or the one picked for port 0). */
  readonly port: number;
}

/** The context of a connection the listener accepted; `sni` when the listener read a ClientHello. */
export function acceptedConnection(socket: net.Socket, listener: AcceptingListener, sni: string | null): ConnectionContext {
  return Object.freeze({
    listener: listener.name,
    direction: listener.direction,
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
    localAddress: socket.localAddress ?? '',
    localPort: listener.port,
    destinationPort: listener.port,
    tunnelTarget: null,
    // The listener serves plaintext today; the transport step fills these once it terminates TLS.
    tls: false,
    sni,
    alpn: null,
    peerIdentity: null,
  });
}

/** The context of a CONNECT tunnel to `target` (`host:port`) opened on connection `outer`. */
export function tunnelConnection(outer: ConnectionContext, target: string): ConnectionContext {
  return Object.freeze({ ...outer, destinationPort: targetPort(target), tunnelTarget: target });
}

/** The port of a CONNECT target; 443 when it names none (as clients default for TLS). */
function targetPort(target: string): number {
  const colon = target.lastIndexOf(':');
  const port = colon > target.lastIndexOf(']') ? Number(target.slice(colon + 1)) : NaN;
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : 443;
}

/**
 * Ends a downstream socket as a stop verdict says: `reset` with a TCP RST, `close` with a FIN
 * once what was written is out (what the client still sends is read and dropped meanwhile).
 */
export function endSocket(socket: net.Socket, kind: 'close' | 'reset'): void {
  if (socket.destroyed) return;
  if (kind === 'reset') {
    socket.resetAndDestroy();
    return;
  }
  socket.resume();
  socket.end(() => socket.destroy());
}
