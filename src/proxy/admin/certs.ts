/**
 * `/certs` on the admin port: the proxy's secrets as Istio names them — `default`, the workload
 * certificate chain, and `ROOTCA`, the mesh root — with serial numbers and validity, and their PEM
 * text (certificates only; the private key is never shown), then the snapshot's named secrets
 * (gateway credentials such as `kubernetes://httpbin-credential`), by name, serial and validity
 * only. `skiff proxy-config secret` reads it.
 */
import type { TlsSecret } from '../../snapshot/index.js';
import type { IdentityState } from '../identity/workload-identity.js';
import { summarizeSecret } from './secret-summary.js';

export interface SecretEntry {
  /** `default`, `ROOTCA`, or a named secret of the snapshot (`kubernetes://NAME`): Istio's SDS resource names. */
  name: string;
  /** As istioctl words it: `Cert Chain` or `CA`. */
  type: 'Cert Chain' | 'CA';
  /** Lower-case hexadecimal serial of the entry's first certificate. */
  serialNumber: string;
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  /** The workload's SPIFFE id (on `default`). */
  spiffeId?: string;
  /** PEM: the chain, leaf first (`default`), or the root(s); absent for the snapshot's named secrets. */
  pem?: string;
}

export interface CertsDump {
  /** False for a proxy that runs without a workload identity. */
  identity: boolean;
  /** Empty until the first certificate is installed. */
  secrets: SecretEntry[];
  /** When the next certificate will be requested (ISO 8601), once one is installed. */
  rotateAt?: string;
}

/** The snapshot's named secrets as entries: one per part that holds a certificate. */
function namedEntries(named: readonly TlsSecret[]): SecretEntry[] {
  const out: SecretEntry[] = [];
  for (const secret of named) {
    const summary = summarizeSecret(secret);
    if (summary.certificate !== undefined) out.push({ name: secret.name, type: 'Cert Chain', ...validity(summary.certificate) });
    if (summary.caCertificates !== undefined) out.push({ name: secret.name, type: 'CA', ...validity(summary.caCertificates) });
  }
  return out;
}

function validity(c: { serialNumber: string; notBefore: string; notAfter: string }): Pick<SecretEntry, 'serialNumber' | 'notBefore' | 'notAfter'> {
  return { serialNumber: c.serialNumber, notBefore: c.notBefore, notAfter: c.notAfter };
}

export function certsDump(state: IdentityState | null | undefined, named: readonly TlsSecret[] = []): CertsDump {
  if (state === undefined) return { identity: false, secrets: namedEntries(named) };
  if (state === null) return { identity: true, secrets: namedEntries(named) };
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
      ...namedEntries(named),
    ],
  };
}
