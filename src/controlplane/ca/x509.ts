/**
 * The X.509 library as the CA uses it: @peculiar/x509 on Node's own WebCrypto. It needs the
 * Reflect metadata polyfill loaded before it (its dependency injection reads it at import).
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };

/** ECDSA P-256 with SHA-256: what Istio's CA and proxies use for workload keys by default. */
export const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
export const EC_SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
