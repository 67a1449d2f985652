/**
 * The contract between the connection phase and its filters: what a connection filter knows of a
 * downstream connection (a TCP-proxied connection, a CONNECT tunnel, and the connection every
 * HTTP request arrives on) and what it may decide — go on, close, or reset. The phase itself is
 * run by `src/proxy/connection/connection-phase.ts`; peer authentication, TCP authorization and
 * connection limits plug in here.
 */
import type { Continue, Wait } from './verdict.js';
import type { TlsFacts } from '../../telemetry/request-record.js';

/** One downstream connection, as the listener accepted it (or as a CONNECT tunnel opens it). */
export interface ConnectionContext {
  /** The listener that accepted it. */
  readonly listener: string;
  readonly direction: 'inbound' | 'outbound' | 'gateway';
  /** The downstream peer (Istio's `source.ip`, `remote.ip`). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The address and port the connection arrived on (the listener's port). */
  readonly localAddress: string;
  readonly localPort: number;
  /**
   * Where the connection is going (`destination.port`): the listener's port, or the target of a
   * CONNECT tunnel.
   */
  readonly destinationPort: number;
  /** The target a CONNECT tunnel asked for (`host:port`), null for an accepted connection. */
  readonly tunnelTarget: string | null;
  /**
   * Where a captured connection was going (SO_ORIGINAL_DST), which an original-destination cluster
   * (PassthroughCluster, a ServiceEntry with `resolution: NONE`) connects to whatever the Host
   * says; null for a connection the app addressed to the proxy itself.
   */
  readonly originalDestination: { readonly address: string; readonly port: number } | null;
  /** True when the connection is TLS, terminated by the proxy. */
  readonly tls: boolean;
  /** TLS server name the client sent (`connection.sni`), null when none was seen. */
  readonly sni: string | null;
  /** The application protocol agreed in the TLS handshake, null without one. */
  readonly alpn: string | null;
  /**
   * The peer's verified identity (`source.principal`, a SPIFFE id such as
   * `spiffe://cluster.local/ns/foo/sa/curl`), null for a peer without a verified certificate.
   */
  readonly peerIdentity: string | null;
  /**
   * The verified client certificate as `X-Forwarded-Client-Cert` describes it, null without one:
   * its SHA-256 over the DER (hex) and its subject (RFC 2253, '' when empty, as in workload
   * certificates).
   */
  readonly peerCertificate: PeerCertificateFacts | null;
  /** The SPIFFE id of the certificate this proxy presented on the connection, null without one. */
  readonly localIdentity: string | null;
  /** The TLS version agreed (`TLSv1.3`), null for plaintext. */
  readonly tlsVersion: string | null;
  /** The connection's id within the proxy process (Envoy's %CONNECTION_ID%); absent on contexts made by hand. */
  readonly id?: number;
  /** The terminated TLS as the access log reads it (cipher, certificates), read on first use; null for plaintext. */
  readonly tlsFacts?: TlsFacts | null;
}

/** A verified client certificate, as XFCC and the access log name it. */
export interface PeerCertificateFacts {
  /** SHA-256 of the certificate's DER, lowercase hex (XFCC `Hash`). */
  readonly hash: string;
  /** Subject in RFC 2253 form, '' when the certificate has none (XFCC `Subject`). */
  readonly subject: string;
}

/** The connection ends: `close` with a FIN, `reset` with a TCP RST (`curl` then exits with 56, not 52). */
export interface ConnectionStop {
  readonly kind: 'close' | 'reset';
  /** `%RESPONSE_CODE_DETAILS%` / connection termination details of the access log. */
  readonly details: string;
  /** Envoy response flags saying why, 0 for none. */
  readonly flags: number;
}

/** A stop verdict; build it once at compile time when nothing in it depends on the connection. */
export function stopConnection(kind: ConnectionStop['kind'], details: string, flags = 0): ConnectionStop {
  return Object.freeze({ kind, details, flags });
}

/** What a connection filter decides. */
export type ConnectionVerdict = Continue | ConnectionStop | Wait<ConnectionVerdict>;

/** A filter of the connection phase, compiled once per snapshot for a listener. */
export interface ConnectionFilter {
  /** The filter's name, as it appears in the termination details when it fails. */
  readonly name: string;
  /** Returns `CONTINUE` synchronously in the common case. */
  decide(conn: ConnectionContext): ConnectionVerdict;
}
