/**
 * The connection context of each downstream connection, made once when the listener accepts it.
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
