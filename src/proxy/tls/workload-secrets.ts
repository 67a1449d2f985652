/**
 * The proxy's own identity (Istio's SDS secrets `default` and `ROOTCA`): its workload certificate
 * chain, that certificate's key, and the mesh roots. ISTIO_MUTUAL on either side of the proxy uses
 * them. A rotation installs a new version: connections made after it present the new certificate,
 * live connections keep the one they were made with.
 *
 * Until a certificate is installed, ISTIO_MUTUAL connections fail as Envoy's do while SDS has not
 * delivered the secret.
 */
import { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import { secureContext } from './material.js';
import { parseSubjectAltNames } from './san.js';

/** PEM text of one identity. */
export interface WorkloadCertificate {
  /** The workload certificate first, then any intermediates. */
  certChain: string;
  privateKey: string;
  /** The roots peers' certificates must chain to. */
  roots: string;
}

/** Envoy's transport failure reason while the secret is missing. */
export const SECRET_NOT_SUPPLIED = 'Secret is not supplied by SDS';

export class WorkloadSecrets {
  private cert: WorkloadCertificate | null = null;
  private context: tls.SecureContext | null = null;
  /** Bumped on every installed certificate; users holding derived state compare it. */
  version = 0;
  /** The SPIFFE id of the certificate in force (the same across rotations), null before one. */
  spiffeId: string | null = null;

  /** The identity in force, or null before the first one. */
  get current(): WorkloadCertificate | null {
    return this.cert;
  }

  /**
   * Installs a certificate (first issue or rotation). Throws `SnapshotError` naming the bad part
   * (`certChain`, `privateKey`, `roots`) and keeps the one in force.
   */
  install(cert: WorkloadCertificate): void {
    const context = secureContext({ cert: cert.certChain, key: cert.privateKey, ca: cert.roots }, { cert: 'certChain', key: 'privateKey', ca: 'roots' });
    this.cert = { ...cert };
    this.context = context;
    this.spiffeId = certificateSpiffeId(cert.certChain);
    this.version++;
  }

  /** The context presenting the workload certificate and trusting the mesh roots; null before one. */
  secureContext(): tls.SecureContext | null {
    return this.context;
  }
}

/** The first `spiffe://` URI SAN of the first certificate of a PEM chain, or null. */
export function certificateSpiffeId(pemChain: string): string | null {
  try {
    return parseSubjectAltNames(new X509Certificate(pemChain).subjectAltName).uris.find((u) => u.startsWith('spiffe://')) ?? null;
  } catch {
    return null;
  }
}
