/**
 * The snapshot's named secrets as the admin endpoints show them: by name, with the serial number
 * and validity of each certificate part, and never their key (Envoy's config dump shows SDS
 * secrets' keys as `[redacted]`). `/config_dump` and `/certs` show nothing else of them.
 */
import { X509Certificate } from 'node:crypto';
import type { ProxySnapshot, TlsSecret } from '../../snapshot/index.js';

/** One certificate part of a secret: its first certificate's serial and validity. */
export interface CertificateSummary {
  /** Lower-case hexadecimal. */
  serialNumber: string;
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  subject: string;
}

export interface SecretSummary {
  name: string;
  certificate?: CertificateSummary;
  /** Always `[redacted]` when the secret holds a key. */
  privateKey?: '[redacted]';
  caCertificates?: CertificateSummary;
}

const FIRST_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/;

/** The first certificate of PEM text summarised; undefined when it does not parse (the proxy refused such a snapshot anyway). */
export function summarizeCertificate(pem: string): CertificateSummary | undefined {
  const block = FIRST_CERT.exec(pem);
  if (block === null) return undefined;
  try {
    const cert = new X509Certificate(block[0]);
    return {
      serialNumber: cert.serialNumber.toLowerCase(),
      notBefore: new Date(cert.validFrom).toISOString(),
      notAfter: new Date(cert.validTo).toISOString(),
      subject: cert.subject.replaceAll('\n', ', '),
    };
  } catch {
    return undefined;
  }
}

export function summarizeSecret(secret: TlsSecret): SecretSummary {
  const out: SecretSummary = { name: secret.name };
  const cert = secret.certificate === undefined ? undefined : summarizeCertificate(secret.certificate);
  if (cert !== undefined) out.certificate = cert;
  if (secret.privateKey !== undefined) out.privateKey = '[redacted]';
  const ca = secret.caCertificates === undefined ? undefined : summarizeCertificate(secret.caCertificates);
  if (ca !== undefined) out.caCertificates = ca;
  return out;
}

/** The snapshot as `/config_dump` shows it: everything but the secrets' PEM text, which becomes its summary. */
export function configDump(snapshot: ProxySnapshot | null): unknown {
  if (snapshot === null) return {};
  if (snapshot.secrets === undefined) return snapshot;
  return { ...snapshot, secrets: snapshot.secrets.map(summarizeSecret) };
}
