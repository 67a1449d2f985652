/**
 * A TLS connection's facts as access logs print them (`%DOWNSTREAM_TLS_VERSION%`,
 * `%UPSTREAM_PEER_URI_SAN%`, …), read from its socket once per connection and only when first
 * asked for: a format that prints none of them costs one small object per TLS connection, and
 * the certificates are parsed only when a format prints one of their fields.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { DetailedPeerCertificate, PeerCertificate } from 'node:tls';
import type { CertificateFacts, TlsFacts } from '../../telemetry/request-record.js';
import { distinguishedName, parseSubjectAltNames } from './san.js';

/** The facts of a certificate as Node reports it; null for none (`{}` is how Node says none). */
function certificateOf(cert: PeerCertificate | DetailedPeerCertificate | object | null): CertificateFacts | null {
  if (cert === null || !('raw' in cert) || cert.raw === undefined || cert.raw.length === 0) return null;
  const sans = parseSubjectAltNames(cert.subjectaltname);
  return {
    uriSans: sans.uris.join(','),
    dnsSans: sans.dns.join(','),
    subject: distinguishedName(cert.subject),
    issuer: distinguishedName(cert.issuer),
    fingerprint256: createHash('sha256').update(cert.raw).digest('hex'),
    serial: cert.serialNumber.toLowerCase(),
    validFrom: Date.parse(cert.valid_from),
    validTo: Date.parse(cert.valid_to),
  };
}

const UNREAD = Symbol('unread');

/** The facts of a TLS socket; each part read on first use and kept (they cannot change). */
export class SocketTlsFacts implements TlsFacts {
  private versionText: string | null = null;
  private cipherText: string | null = null;
  private peerFacts: CertificateFacts | null | typeof UNREAD = UNREAD;
  private localFacts: CertificateFacts | null | typeof UNREAD = UNREAD;

  constructor(private readonly socket: TLSSocket) {}

  get version(): string {
    this.versionText ??= this.socket.getProtocol() ?? '';
    return this.versionText;
  }

  get cipher(): string {
    this.cipherText ??= this.socket.getCipher()?.name ?? '';
    return this.cipherText;
  }

  get peer(): CertificateFacts | null {
    if (this.peerFacts === UNREAD) this.peerFacts = certificateOf(this.socket.getPeerCertificate());
    return this.peerFacts;
  }

  get local(): CertificateFacts | null {
    if (this.localFacts === UNREAD) this.localFacts = certificateOf(this.socket.getCertificate());
    return this.localFacts;
  }
}

/** The facts of an upstream connection's socket: null unless the proxy originated TLS on it. */
export function socketTlsFacts(socket: Socket): TlsFacts | null {
  return socket instanceof TLSSocket ? new SocketTlsFacts(socket) : null;
}
