/**
 * Certificates, keys and CA bundles a snapshot names, read and checked when the snapshot is
 * checked, so a bad one refuses the snapshot with the field that named it instead of failing
 * handshakes later.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { SnapshotError } from '../../snapshot/index.js';
import type { TlsSecret, TlsSecretPart, TlsSource } from '../../snapshot/index.js';

/** The snapshot's named secrets by name. */
export type NamedSecrets = ReadonlyMap<string, TlsSecret>;

const NO_SECRETS: NamedSecrets = new Map();

/**
 * The PEM text of a source: inline, the file's content now, or the `part` of a named secret (the
 * snapshot's validation checked that it is there).
 */
export function readPem(source: TlsSource, at: string, part: TlsSecretPart, secrets: NamedSecrets = NO_SECRETS): string {
  if ('pem' in source) return source.pem;
  if ('secret' in source) {
    const pem = secrets.get(source.secret)?.[part];
    if (pem === undefined) throw new SnapshotError(`${at}.secret`, `no ${part} in a secret named ${JSON.stringify(source.secret)}`);
    return pem;
  }
  try {
    return readFileSync(source.file, 'utf8');
  } catch (err) {
    throw new SnapshotError(`${at}.file`, `cannot read ${source.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Checks that `pem` holds certificates only, each one parseable; returns it. */
export function checkCertificates(pem: string, at: string): string {
  const blocks = pem.match(CERT_BLOCK);
  if (blocks === null) throw new SnapshotError(at, 'holds no PEM certificate');
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new SnapshotError(at, `certificate ${i + 1} cannot be parsed: ${(err as Error).message}`);
    }
  }
  return pem;
}

/** OpenSSL's words for a problem, without its error-stack prefix. */
function opensslReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const parts = message.split('::');
  return parts.length > 1 ? parts[parts.length - 1] : message;
}

/** Where each part of a secure context came from in the snapshot, for errors. */
export interface MaterialPaths {
  cert: string;
  key: string;
  ca: string;
}

/**
 * Builds a secure context from PEM text, each part checked first so an error names the field it
 * came from: a certificate that does not parse, a key that does not, or a key of another
 * certificate.
 */
export function secureContext(opts: { cert?: string; key?: string; ca?: string }, at: MaterialPaths): tls.SecureContext {
  if (opts.ca !== undefined) checkCertificates(opts.ca, at.ca);
  if (opts.cert !== undefined) checkCertificates(opts.cert, at.cert);
  if (opts.key !== undefined) {
    try {
      createPrivateKey(opts.key);
    } catch (err) {
      throw new SnapshotError(at.key, `is not a usable private key: ${opensslReason(err)}`);
    }
  }
  try {
    return tls.createSecureContext(opts);
  } catch (err) {
    const reason = opensslReason(err);
    if (reason === 'key values mismatch') throw new SnapshotError(at.key, 'does not match the certificate');
    throw new SnapshotError(at.cert, reason);
  }
}
