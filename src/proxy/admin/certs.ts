/**
 * `/certs` on the admin port: the proxy's secrets as Istio names them — `default`, the workload
 * certificate chain, and `ROOTCA`, the mesh root — with serial numbers and validity, and their PEM
 * text (certificates only; the private key is never shown). `skiff proxy-config secret` reads it.
 */
import type { IdentityState } from '../identity/workload-identity.js';

export interface SecretEntry {
  /** `default` or `ROOTCA`, Istio's SDS resource names. */
  name: 'default' | 'ROOTCA';
  /** As istioctl words it: `Cert Chain` or `CA`. */
  type: 'Cert Chain' | 'CA';
  /** Lower-case hexadecimal serial of the entry's first certificate. */
  serialNumber: string;
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  /** The workload's SPIFFE id (on `default`). */
  spiffeId?: string;
  /** PEM: the chain, leaf first (`default`), or the root(s). */
  pem: string;
}

export interface CertsDump {
  /** False for a proxy that runs without a workload identity. */
  identity: boolean;
  /** Empty until the first certificate is installed. */
  secrets: SecretEntry[];
  /** When the next certificate will be requested (ISO 8601), once one is installed. */
  rotateAt?: string;
}

export function certsDump(state: IdentityState | null | undefined): CertsDump {
  if (state === undefined) return { identity: false, secrets: [] };
  if (state === null) return { identity: true, secrets: [] };
  return {
    identity: true,
    rotateAt: state.rotateAt.toISOString(),
    secrets: [
      {
        name: 'default',
        type: 'Cert Chain',
        serialNumber: state.serial,
        notBefore: state.notBefore.toISOString(),
        notAfter: state.notAfter.toISOString(),
        spiffeId: state.spiffeId,
        pem: state.certChain.join(''),
      },
      { name: 'ROOTCA', type: 'CA', serialNumber: state.rootSerial, notBefore: state.rootNotBefore.toISOString(), notAfter: state.rootNotAfter.toISOString(), pem: state.rootCert },
    ],
  };
}
