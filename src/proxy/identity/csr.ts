/**
 * A fresh workload key and the certificate signing request for it. The key is made here and never
 * leaves the proxy: only the request (the public key, signed with the private one) goes to the CA.
 * Loaded only by proxies that have an identity, so the others do not pay for the X.509 library.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

/** ECDSA P-256 with SHA-256, as Istio's proxies use by default. */
const KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

export interface KeyAndCsr {
  /** PKCS #8 PEM, for node:tls. */
  privateKey: string;
  /** PKCS #10 PEM. */
  csr: string;
}

/** A new key pair and a request naming `spiffeId` (the CA decides the name it signs for; this one is informative). */
export async function newKeyAndCsr(spiffeId: string | undefined): Promise<KeyAndCsr> {
  const keys = (await webcrypto.subtle.generateKey(KEY, true, ['sign', 'verify']));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: SIGNING,
    ...(spiffeId !== undefined ? { extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }])] } : {}),
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const privateKey = `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  return { privateKey, csr: csr.toString('pem') };
}
