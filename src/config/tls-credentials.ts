/**
 * TLS credentials from Kubernetes Secrets, read as istiod reads them for `credentialName`
 * (security/pkg/credentialfetcher and its Secret controller):
 *
 * - certificate and key: a generic Secret's `cert` and `key`, else `tls.crt` and `tls.key` (the
 *   keys of type `kubernetes.io/tls`);
 * - CA certificates (client verification on MUTUAL gateways, server verification on
 *   DestinationRules): the Secret `<name>-cacert` when it exists, else `<name>` itself, under
 *   `cacert`, else `ca.crt`.
 *
 * Every part is checked here — PEM that parses, a key that is the certificate's — so a bad Secret
 * is reported with its name and key (by translation, which leaves its server out instead of
 * refusing the proxy's whole snapshot, and by `skiff analyze`). The proxy gets the credential as
 * named secrets, as Istio's SDS names them: `kubernetes://<name>` (certificate and key) and
 * `kubernetes://<name>-cacert` (CA).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Resource } from '../api/types.js';

/** The suffix of the Secret (and SDS resource) holding a credential's CA certificates. */
export const CA_SUFFIX = '-cacert';

/** The SDS name a credential's part goes by in the snapshot. */
export function sdsName(credentialName: string, ca: boolean): string {
  return `kubernetes://${credentialName}${ca ? CA_SUFFIX : ''}`;
}

/** A Secret's keys as text: `data` decoded from base64, `stringData` over it (as the API server merges them). */
function secretData(secret: Resource): Map<string, string> {
  const out = new Map<string, string>();
  const data = secret.data as Record<string, string> | undefined;
  const stringData = secret.stringData as Record<string, string> | undefined;
  for (const [k, v] of Object.entries(data ?? {})) out.set(k, Buffer.from(v, 'base64').toString('utf8'));
  for (const [k, v] of Object.entries(stringData ?? {})) out.set(k, v);
  return out;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

function parseCertificates(pem: string, where: string): X509Certificate[] {
  const blocks = pem.match(CERT_BLOCK);
  if (blocks === null) throw new Error(`${where} holds no PEM certificate`);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new Error(`${where}: certificate ${i + 1} cannot be parsed (${(err as Error).message})`);
    }
  });
}

/** Certificate and key of a Secret, checked; throws an Error naming the Secret's key at fault. */
function keyAndCert(name: string, data: Map<string, string>): { certificate: string; privateKey: string } {
  const [certKey, keyKey] = data.has('cert') && data.has('key') ? ['cert', 'key'] : data.has('tls.crt') && data.has('tls.key') ? ['tls.crt', 'tls.key'] : [undefined, undefined];
  if (certKey === undefined || keyKey === undefined) {
    throw new Error(`Secret ${name} has neither (cert and key) nor (tls.crt and tls.key); it has: ${[...data.keys()].join(', ') || 'no keys'}`);
  }
  const certificate = data.get(certKey)!;
  const privateKey = data.get(keyKey)!;
  const [leaf] = parseCertificates(certificate, `Secret ${name} key ${certKey}`);
  let key;
  try {
    key = createPrivateKey(privateKey);
  } catch (err) {
    throw new Error(`Secret ${name} key ${keyKey} is not a usable private key (${(err as Error).message})`, { cause: err });
  }
  if (!leaf.checkPrivateKey(key)) throw new Error(`Secret ${name} key ${keyKey} is not the key of the certificate in ${certKey}`);
  return { certificate, privateKey };
}

function caOf(name: string, data: Map<string, string>): string | undefined {
  const key = data.has('cacert') ? 'cacert' : data.has('ca.crt') ? 'ca.crt' : undefined;
  if (key === undefined) return undefined;
  const pem = data.get(key)!;
  parseCertificates(pem, `Secret ${name} key ${key}`);
  return pem;
}

/** What translation reads Secrets through: one namespace's Secret by name. */
export type SecretLookup = (namespace: string, name: string) => Resource | undefined;

/** A named secret: an SDS name with PEM parts (the snapshot's `TlsSecret`). */
export interface NamedCredential {
  name: string;
  certificate?: string;
  privateKey?: string;
  caCertificates?: string;
}

/**
 * A credential resolved: the named secrets to hand the proxy, or why it cannot be used (`missing`:
 * no Secret of that name).
 */
export type CredentialResult = { ok: true; certificate?: NamedCredential; ca?: NamedCredential } | { ok: false; error: string; missing: boolean };

/** Parsed Secrets, kept while the Secret object is (one config generation shares them). */
const parsed = new WeakMap<Resource, Map<string, string>>();

function dataOf(secret: Resource): Map<string, string> {
  let out = parsed.get(secret);
  if (out === undefined) {
    out = secretData(secret);
    parsed.set(secret, out);
  }
  return out;
}

/**
 * Resolves `credentialName` in `namespace`: its certificate and key when `wantCert`, its CA
 * certificates when `wantCa` (required then). Never throws: a missing or malformed Secret comes
 * back as `{ok: false, error}` naming it.
 */
export function resolveCredential(lookup: SecretLookup, namespace: string, credentialName: string, want: { cert: boolean; ca: boolean }): CredentialResult {
  const where = `${namespace}/${credentialName}`;
  const secret = lookup(namespace, credentialName);
  try {
    const out: CredentialResult = { ok: true };
    if (want.cert) {
      if (secret === undefined) return { ok: false, error: `Secret ${where} not found`, missing: true };
      out.certificate = { name: sdsName(credentialName, false), ...keyAndCert(where, dataOf(secret)) };
    }
    if (want.ca) {
      const caSecret = lookup(namespace, `${credentialName}${CA_SUFFIX}`);
      const from = caSecret ?? secret;
      if (from === undefined) return { ok: false, error: `Secret ${where} not found`, missing: true };
      const fromName = caSecret === undefined ? where : `${where}${CA_SUFFIX}`;
      const ca = caOf(fromName, dataOf(from));
      if (ca === undefined) return { ok: false, missing: false, error: `Secret ${fromName} has no CA certificate (cacert or ca.crt)${caSecret === undefined ? `, and there is no Secret ${where}${CA_SUFFIX}` : ''}` };
      out.ca = { name: sdsName(credentialName, true), caCertificates: ca };
    }
    return out;
  } catch (err) {
    return { ok: false, error: (err as Error).message, missing: false };
  }
}
