/**
 * The connection context of each downstream connection, made once when the listener accepts it
 * (or when a CONNECT tunnel opens inside one), and how a stop verdict ends a socket.
 */
import type net from 'node:net';
import type { ConnectionContext, PeerCertificateFacts } from '../filters/connection-filter.js';
import type { TlsFacts } from '../../telemetry/request-record.js';

/** The listener a connection arrived on, as its context names it. */
export interface AcceptingListener {
  readonly name: string;
  readonly direction: ConnectionContext['direction'];
  /** The bound port (the configured one, or the one picked for port 0). */
  readonly port: number;
}

/** What the listener's transport step settled about a connection (`listener/transport.ts`). */
export interface AcceptedTransport {
  /** True when the listener terminated TLS on it. */
  readonly secure: boolean;
  /** The ClientHello's server name; null (or undefined, the first bytes unread) without one. */
  readonly sni: string | null | undefined;
  /** The protocol ALPN agreed on a terminated connection, null for none. */
  readonly alpn: string | null;
  /** The verified client certificate's SPIFFE id, null without one. */
  readonly peerIdentity: string | null;
  /** The verified client certificate's hash and subject, null without one. */
  readonly peerCertificate: PeerCertificateFacts | null;
  /** The SPIFFE id of the certificate the listener presented, null without one. */
  readonly localIdentity: string | null;
  /** The TLS version agreed on a terminated connection, null for none. */
  readonly tlsVersion: string | null;
  /** The terminated TLS as the access log reads it (read from the socket on first use), null for none. */
  readonly tlsFacts?: TlsFacts | null;
}

/** Ids of accepted connections, counted per process as Envoy counts its connection ids. */
let nextConnectionId = 1;

/**
 * The context of a connection the listener accepted, with what its transport step settled. A
 * captured connection's local address and port are its original destination, as Envoy's
 * original_dst listener filter restores them.
 */
export function acceptedConnection(socket: net.Socket, listener: AcceptingListener, transport: AcceptedTransport, original: { readonly address: string; readonly port: number } | null = null): ConnectionContext {
  const port = original?.port ?? listener.port;
  return Object.freeze({
    listener: listener.name,
    direction: listener.direction,
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
    localAddress: original?.address ?? socket.localAddress ?? '',
    localPort: port,
    destinationPort: port,
    tunnelTarget: null,
    originalDestination: original,
    tls: transport.secure,
    sni: transport.sni ?? null,
    alpn: transport.alpn,
    peerIdentity: transport.peerIdentity,
    peerCertificate: transport.peerCertificate,
    localIdentity: transport.localIdentity,
    tlsVersion: transport.tlsVersion,
    id: nextConnectionId++,
    tlsFacts: transport.tlsFacts ?? null,
  });
}

/** The context of a CONNECT tunnel to `target` (`host:port`) opened on connection `outer`. */
export function tunnelConnection(outer: ConnectionContext, target: string): ConnectionContext {
  // The tunnel goes where its target says, not where the connection carrying it was captured going.
  return Object.freeze({ ...outer, destinationPort: targetPort(target), tunnelTarget: target, originalDestination: null });
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
