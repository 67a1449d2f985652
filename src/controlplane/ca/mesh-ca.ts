/**
 * The mesh's certificate authority in skiffd, as istiod's built-in CA: it signs each workload's
 * certificate signing request with a short-lived certificate whose only subject alternative name
 * is the workload's SPIFFE id, `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`.
 *
 * Its signing key and certificate come either from a self-signed root it creates once and keeps in
 * the state directory (`<state-dir>/ca/`, reused across restarts so proxies keep trusting it), or
 * from files laid out as Istio's `cacerts` secret: `ca-cert.pem` and `ca-key.pem` (the signing
 * certificate and its key), `root-cert.pem` (the root every workload trusts) and `cert-chain.pem`
 * (the signing certificate's chain up to, but not including, the root).
 */
import { X509Certificate as NodeX509, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EC_KEY, EC_SIGNING, x509 } from './x509.js';

/** Who a certificate is for, once the caller was authenticated. */
export interface WorkloadIdentity {
  namespace: string;
  serviceAccount: string;
}

/** A signed workload certificate as the proxy receives it. */
export interface IssuedCertificate {
  /** The leaf first, then the signing certificate's chain (PEM each). */
  certChain: string[];
  /** The root the mesh trusts (PEM). */
  rootCert: string;
  spiffeId: string;
  /** Hexadecimal, as `openssl x509 -serial` prints it (lower case). */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** A certificate signing request or CA file the CA refuses; the text says what and where. */
export class CaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaError';
  }
}

/** The default lifetime of a workload certificate, as Istio's (`DEFAULT_WORKLOAD_CERT_TTL`). */
export const DEFAULT_WORKLOAD_CERT_TTL_MS = 24 * 3600 * 1000;
/** Lifetime of a self-signed root: ten years, as istiod's. */
const ROOT_TTL_MS = 10 * 365 * 24 * 3600 * 1000;
/** Certificates are valid from a little before they are signed, so a peer's clock slightly behind still accepts them. */
const BACKDATE_MS = 60 * 1000;

/** Istio's cacerts file names. */
export const CACERTS_FILES = { cert: 'ca-cert.pem', key: 'ca-key.pem', root: 'root-cert.pem', chain: 'cert-chain.pem' } as const;

export function spiffeId(trustDomain: string, identity: WorkloadIdentity): string {
  return `spiffe://${trustDomain}/ns/${identity.namespace}/sa/${identity.serviceAccount}`;
}

/** Where `MeshCa.selfSigned` keeps its root in a state directory. */
export function caDir(stateDir: string): string {
  return join(stateDir, 'ca');
}

export class MeshCa {
  private constructor(
    private readonly signingCert: x509.X509Certificate,
    private readonly signingKey: webcrypto.CryptoKey,
    private readonly signing: webcrypto.Algorithm | webcrypto.EcdsaParams,
    /** The signing certificate's chain up to the root, excluding it (PEM each, the signing certificate first). */
    private readonly chain: readonly string[],
    /** The root every workload trusts. */
    readonly rootCert: string,
    /** Where the keys came from, for the log: `self-signed root in DIR` or `cacerts in DIR`. */
    readonly source: string,
  ) {}

  /**
   * The self-signed root of `stateDir` (`ca/root-cert.pem`, `ca/root-key.pem` with mode 0600),
   * created on first use and reused afterwards. `trustDomain` names its organisation, as istiod's.
   */
  static async selfSigned(stateDir: string, trustDomain: string): Promise<MeshCa> {
    const dir = caDir(stateDir);
    const certFile = join(dir, 'root-cert.pem');
    const keyFile = join(dir, 'root-key.pem');
    const existing = await readOptional(certFile);
    if (existing !== undefined) {
      const keyPem = await readOptional(keyFile);
      if (keyPem === undefined) throw new CaError(`${certFile} exists but its key ${keyFile} does not; remove ${dir} to start a new root`);
      const ca = await MeshCa.fromPem(existing, keyPem, [], existing, `self-signed root in ${dir}`, { cert: certFile, key: keyFile });
      return ca;
    }
    const root = await MeshCa.newRoot(trustDomain);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(keyFile, root.key, { mode: 0o600 });
    await chmod(keyFile, 0o600);
    await writeFile(certFile, root.cert);
    return MeshCa.fromPem(root.cert, root.key, [], root.cert, `self-signed root in ${dir} (new)`, { cert: certFile, key: keyFile });
  }

  /**
   * A new self-signed root (ECDSA P-256, ten years, organisation `trustDomain` as istiod's) as
   * PEM, for a caller that keeps it elsewhere than a state directory (a Kubernetes Secret).
   */
  static async newRoot(trustDomain: string): Promise<{ cert: string; key: string }> {
    const keys = await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
    const now = Date.now();
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serialNumber(),
      name: `O=${trustDomain}`,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + ROOT_TTL_MS),
      keys,
      signingAlgorithm: EC_SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return { cert: root.toString('pem') + '\n', key: await pkcs8Pem(keys.privateKey) };
  }

  /**
   * A CA from PEM texts laid out as Istio's `cacerts` (the signing certificate and its key, the
   * root, and optionally the chain from the signing certificate up to the root), read from
   * a directory or a Secret: `part` names where each of Istio's file names was read, for errors.
   */
  static fromCaCertsData(data: { cert: string; key: string; root: string; chain?: string }, part: (file: string) => string, source: string): Promise<MeshCa> {
    const chain = data.chain === undefined || data.chain.trim() === '' ? [data.cert] : splitPem(data.chain, part(CACERTS_FILES.chain));
    const signingPem = splitPem(data.cert, part(CACERTS_FILES.cert))[0];
    // cert-chain.pem starts with the signing certificate in Istio's layout; when it does not, the signing certificate leads.
    if (chain.length === 0 || normalisePem(chain[0]) !== normalisePem(signingPem)) chain.unshift(signingPem);
    // The root's own certificate is the trust anchor, never sent in the chain.
    const rootPems = splitPem(data.root, part(CACERTS_FILES.root)).map(normalisePem);
    const sent = chain.filter((pem) => !rootPems.includes(normalisePem(pem)));
    return MeshCa.fromPem(signingPem, data.key, sent, data.root, source, { cert: part(CACERTS_FILES.cert), key: part(CACERTS_FILES.key) });
  }

  /** A plugged-in CA from a directory laid out as Istio's `cacerts` secret (see the module comment). */
  static async fromCaCerts(dir: string): Promise<MeshCa> {
    const file = (name: string): string => join(dir, name);
    const read = async (name: string, required: boolean): Promise<string | undefined> => {
      const text = await readOptional(file(name));
      if (text === undefined && required) throw new CaError(`the CA directory ${dir} has no ${name} (Istio's cacerts: ${Object.values(CACERTS_FILES).join(', ')})`);
      return text;
    };
    const cert = (await read(CACERTS_FILES.cert, true))!;
    const key = (await read(CACERTS_FILES.key, true))!;
    const root = (await read(CACERTS_FILES.root, true))!;
    const chain = await read(CACERTS_FILES.chain, false);
    return MeshCa.fromCaCertsData({ cert, key, root, ...(chain !== undefined ? { chain } : {}) }, file, `cacerts in ${dir}`);
  }

  private static async fromPem(certPem: string, keyPem: string, chain: string[], rootPem: string, source: string, files: { cert: string; key: string }): Promise<MeshCa> {
    let cert: x509.X509Certificate;
    try {
      cert = new x509.X509Certificate(certPem);
    } catch (err) {
      throw new CaError(`${files.cert} is not a PEM certificate: ${err instanceof Error ? err.message : String(err)}`);
    }
    let keyObject: KeyObject;
    try {
      keyObject = createPrivateKey(keyPem);
    } catch (err) {
      throw new CaError(`${files.key} is not a PEM private key: ${err instanceof Error ? err.message : String(err)}`);
    }
    const { importAlg, signing } = algorithmsOf(keyObject, files.key);
    const der = keyObject.export({ type: 'pkcs8', format: 'der' });
    const signingKey = await webcrypto.subtle.importKey('pkcs8', der, importAlg, false, ['sign']);
    // The key must be the certificate's: a mismatch would sign certificates no peer can verify.
    const nodeCert = new NodeX509(certPem);
    if (!nodeCert.checkPrivateKey(keyObject)) throw new CaError(`${files.key} is not the key of ${files.cert}`);
    if (!nodeCert.ca) throw new CaError(`${files.cert} is not a CA certificate (basicConstraints CA:TRUE is missing)`);
    try {
      new NodeX509(rootPem);
    } catch (err) {
      throw new CaError(`the root certificate for ${files.cert} is not a PEM certificate: ${err instanceof Error ? err.message : String(err)}`);
    }
    return new MeshCa(cert, signingKey, signing, chain.map(normalisePem), normalisePem(rootPem), source);
  }

  /**
   * A serving certificate for the control plane itself (istiod's DNS certificate): a new ECDSA
   * P-256 key and a certificate for `dnsNames`, signed by this CA, so proxies that trust the mesh
   * root trust it. Returns the chain (leaf first) and the key, as PEM.
   */
  async issueServing(dnsNames: readonly string[], ttlMs: number, now = Date.now()): Promise<{ cert: string; key: string; notAfter: Date }> {
    if (dnsNames.length === 0) throw new CaError('a serving certificate needs at least one DNS name');
    const keys = await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: '',
      issuer: this.signingCert.subject,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + ttlMs),
      publicKey: keys.publicKey,
      signingKey: this.signingKey,
      signingAlgorithm: this.signing,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.BasicConstraintsExtension(false, undefined, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.signingCert, false),
        new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value })), true),
      ],
    });
    return { cert: [leaf.toString('pem') + '\n', ...this.chain].join(''), key: await pkcs8Pem(keys.privateKey), notAfter: leaf.notAfter };
  }

  /**
   * Signs `csrPem` for `identity`: the CSR's signature is checked (the requester holds the key),
   * its names are ignored, and the certificate carries `identity`'s SPIFFE id as its only SAN.
   */
  async sign(csrPem: string, identity: WorkloadIdentity, trustDomain: string, ttlMs: number, now = Date.now()): Promise<IssuedCertificate> {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (err) {
      throw new CaError(`the certificate signing request is not a PEM PKCS #10 request: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!(await csr.verify())) throw new CaError('the certificate signing request is not signed by the key it carries');
    const id = spiffeId(trustDomain, identity);
    const notBefore = new Date(now - BACKDATE_MS);
    const notAfter = new Date(now + ttlMs);
    const serial = serialNumber();
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      // Istio's workload certificates have an empty subject; the SAN, then critical, names them.
      subject: '',
      issuer: this.signingCert.subject,
      notBefore,
      notAfter,
      publicKey: csr.publicKey,
      signingKey: this.signingKey,
      signingAlgorithm: this.signing,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.BasicConstraintsExtension(false, undefined, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.signingCert, false),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: id }], true),
      ],
    });
    return {
      certChain: [leaf.toString('pem') + '\n', ...this.chain],
      rootCert: this.rootCert,
      spiffeId: id,
      serial: leaf.serialNumber.toLowerCase(),
      notBefore: leaf.notBefore,
      notAfter: leaf.notAfter,
    };
  }
}

/** The WebCrypto import and signing algorithms for a CA key (RSA or EC P-256/P-384). */
function algorithmsOf(key: KeyObject, file: string): { importAlg: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams; signing: webcrypto.Algorithm | webcrypto.EcdsaParams } {
  if (key.asymmetricKeyType === 'rsa') {
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { importAlg: alg, signing: alg };
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : undefined;
    if (namedCurve === undefined) throw new CaError(`${file}: EC curve ${curve ?? 'unknown'} is not supported (use P-256 or P-384)`);
    return { importAlg: { name: 'ECDSA', namedCurve }, signing: { name: 'ECDSA', hash: namedCurve === 'P-256' ? 'SHA-256' : 'SHA-384' } };
  }
  throw new CaError(`${file}: a ${key.asymmetricKeyType ?? 'unknown'} key cannot sign certificates here (use RSA or ECDSA)`);
}

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

/** A random positive 128-bit serial number, hexadecimal. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x10;
  return bytes.toString('hex');
}

function splitPem(text: string, file: string): string[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (blocks === null) throw new CaError(`${file} holds no PEM certificate`);
  return blocks.map(normalisePem);
}

function normalisePem(pem: string): string {
  return `${pem.trim()}\n`;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CaError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
