/**
 * The webhooks' serving certificate and its trust: skiffd serves the admission webhooks over
 * HTTPS under `<service>.<namespace>.svc` with a self-signed certificate, which every replica
 * shares through one Secret (the first to start creates it; the others read it), and which it
 * writes as the CA bundle into its two webhook configurations — the validating one then switches
 * its failure policy to Fail, as istiod does once it serves.
 */
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { KubeApiError } from './client.js';
import type { KubeClient } from './client.js';
import { INJECTOR_WEBHOOK, VALIDATOR_WEBHOOK } from './manifest.js';

x509.cryptoProvider.set(webcrypto);

export const WEBHOOK_CERT_SECRET = 'skiffd-webhook-cert';

export interface ServingCert {
  cert: string;
  key: string;
}

/** A self-signed ECDSA P-256 certificate for `dnsNames`, valid for ten years. */
export async function makeServingCert(dnsNames: readonly string[]): Promise<ServingCert> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${dnsNames[0]}`,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + 10 * 365 * 24 * 3600_000),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value }))),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  return { cert: `${cert.toString('pem')}\n`, key };
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/** The serving certificate of every replica: read from the Secret, or made and stored there by the first. */
export async function sharedServingCert(client: KubeClient, namespace: string, service: string): Promise<ServingCert> {
  const path = `/api/v1/namespaces/${namespace}/secrets`;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const s = await client.request<{ data?: Record<string, string> }>('GET', `${path}/${WEBHOOK_CERT_SECRET}`);
      const cert = s.data?.['tls.crt'];
      const key = s.data?.['tls.key'];
      if (cert === undefined || key === undefined) throw new Error(`Secret ${namespace}/${WEBHOOK_CERT_SECRET} has no tls.crt and tls.key`);
      return { cert: unb64(cert), key: unb64(key) };
    } catch (err) {
      if (!(err instanceof KubeApiError) || err.code !== 404) throw err;
    }
    const made = await makeServingCert([`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`]);
    try {
      await client.request('POST', path, { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: WEBHOOK_CERT_SECRET, namespace }, data: { 'tls.crt': b64(made.cert), 'tls.key': b64(made.key) } });
      return made;
    } catch (err) {
      // Another replica created it first: use theirs.
      if (!(err instanceof KubeApiError) || err.code !== 409) throw err;
    }
  }
  throw new Error(`could not read or create Secret ${namespace}/${WEBHOOK_CERT_SECRET}`);
}

interface WebhookConfiguration {
  metadata: { resourceVersion?: string };
  webhooks?: Array<{ clientConfig: { caBundle?: string }; failurePolicy?: string }>;
}

/**
 * Writes `caPem` into both webhook configurations (retrying on a conflicting update); a
 * configuration that is not installed is reported and skipped. Returns the names updated.
 */
export async function publishCaBundle(client: KubeClient, caPem: string, log: (line: string) => void = () => undefined): Promise<string[]> {
  const done: string[] = [];
  for (const [resource, name] of [
    ['mutatingwebhookconfigurations', INJECTOR_WEBHOOK],
    ['validatingwebhookconfigurations', VALIDATOR_WEBHOOK],
  ] as const) {
    const path = `/apis/admissionregistration.k8s.io/v1/${resource}/${name}`;
    for (let attempt = 0; ; attempt++) {
      let cfg: WebhookConfiguration;
      try {
        cfg = await client.request<WebhookConfiguration>('GET', path);
      } catch (err) {
        if (err instanceof KubeApiError && err.code === 404) {
          log(`skiffd: ${resource} ${name} is not installed; its webhooks are not called`);
          break;
        }
        throw err;
      }
      for (const w of cfg.webhooks ?? []) {
        w.clientConfig.caBundle = b64(caPem);
        if (resource === 'validatingwebhookconfigurations') w.failurePolicy = 'Fail';
      }
      try {
        await client.request('PUT', path, cfg);
        done.push(name);
        break;
      } catch (err) {
        if (!(err instanceof KubeApiError) || err.code !== 409 || attempt >= 4) throw err;
      }
    }
  }
  return done;
}
