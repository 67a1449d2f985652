/**
 * The mesh CA every skiffd replica signs with, kept in a Secret of skiffd's namespace as istiod
 * keeps it, so that certificates any replica signs chain to the one root every proxy trusts:
 *
 * - `cacerts` (a plugged-in CA: `ca-cert.pem`, `ca-key.pem`, `root-cert.pem`, and optionally
 *   `cert-chain.pem`), when an operator created it: read, never written;
 * - otherwise `istio-ca-secret` (istiod's self-signed mode: `ca-cert.pem` and `ca-key.pem`, the
 *   root signing directly), created by the first replica to start with a new root; a replica that
 *   loses the race to create it (409 Conflict) reads the winner's, so all sign with the same root.
 *
 * Both are read once at start, as istiod reads them. This module reads and writes the Secrets;
 * the CA is made from what it returns by the caller (`MeshCa.fromCaCertsData`).
 */
import { KubeApiError } from './client.js';
import type { KubeClient } from './client.js';

/** The operator's plugged-in CA, as Istio's. */
export const PLUGGED_CA_SECRET = 'cacerts';
/** istiod's self-signed root, created by the first replica. */
export const SELF_SIGNED_CA_SECRET = 'istio-ca-secret';
/** The Secret type istiod gives `istio-ca-secret`. */
const CA_SECRET_TYPE = 'istio.io/ca-root';
/** The keys of both Secrets, as Istio names them. */
export const CA_SECRET_KEYS = { cert: 'ca-cert.pem', key: 'ca-key.pem', root: 'root-cert.pem', chain: 'cert-chain.pem' } as const;

/** The CA's PEM texts as Istio's cacerts lays them out, and where they came from. */
export interface SharedCaMaterial {
  data: { cert: string; key: string; root: string; chain?: string };
  /** Names a key of the Secret, for the CA's errors: `Secret istio-system/cacerts key ca-key.pem`. */
  part: (key: string) => string;
  /** `plugged-in CA from Secret …` or `self-signed root in Secret … (new)`, for the log. */
  source: string;
}

interface SecretObject {
  data?: Record<string, string>;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

/** The Secret, or undefined when it does not exist. */
async function readSecret(client: KubeClient, namespace: string, name: string): Promise<SecretObject | undefined> {
  try {
    return await client.request<SecretObject>('GET', `/api/v1/namespaces/${namespace}/secrets/${name}`);
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 404) return undefined;
    throw err;
  }
}

/** A key of a CA Secret, decoded; a missing required key is an error naming the Secret. */
function field(secret: SecretObject, where: string, key: string, required: true): string;
function field(secret: SecretObject, where: string, key: string, required: false): string | undefined;
function field(secret: SecretObject, where: string, key: string, required: boolean): string | undefined {
  const value = secret.data?.[key];
  if (value === undefined || value === '') {
    if (required) throw new Error(`Secret ${where} has no ${key} (expected ${Object.values(CA_SECRET_KEYS).join(', ')})`);
    return undefined;
  }
  return unb64(value);
}

function fromPlugged(secret: SecretObject, where: string): SharedCaMaterial {
  const chain = field(secret, where, CA_SECRET_KEYS.chain, false);
  return {
    data: { cert: field(secret, where, CA_SECRET_KEYS.cert, true), key: field(secret, where, CA_SECRET_KEYS.key, true), root: field(secret, where, CA_SECRET_KEYS.root, true), ...(chain !== undefined ? { chain } : {}) },
    part: (file) => `Secret ${where} key ${file}`,
    source: `plugged-in CA from Secret ${where}`,
  };
}

function fromSelfSigned(secret: SecretObject, where: string, created: boolean): SharedCaMaterial {
  const cert = field(secret, where, CA_SECRET_KEYS.cert, true);
  // The self-signed root signs workload certificates itself: it is its own root and chain.
  return { data: { cert, key: field(secret, where, CA_SECRET_KEYS.key, true), root: cert }, part: (file) => `Secret ${where} key ${file}`, source: `self-signed root in Secret ${where}${created ? ' (new)' : ''}` };
}

/**
 * The CA of every replica: `cacerts` when present, else `istio-ca-secret`, created here with the
 * root `newRoot` makes (the mesh CA's, PEM) when no replica has yet.
 */
export async function sharedCaMaterial(client: KubeClient, namespace: string, newRoot: () => Promise<{ cert: string; key: string }>): Promise<SharedCaMaterial> {
  const plugged = await readSecret(client, namespace, PLUGGED_CA_SECRET);
  if (plugged !== undefined) return fromPlugged(plugged, `${namespace}/${PLUGGED_CA_SECRET}`);
  const where = `${namespace}/${SELF_SIGNED_CA_SECRET}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing = await readSecret(client, namespace, SELF_SIGNED_CA_SECRET);
    if (existing !== undefined) return fromSelfSigned(existing, where, false);
    const root = await newRoot();
    const data = { [CA_SECRET_KEYS.cert]: b64(root.cert), [CA_SECRET_KEYS.key]: b64(root.key), [CA_SECRET_KEYS.chain]: '', [CA_SECRET_KEYS.root]: '' };
    try {
      await client.request('POST', `/api/v1/namespaces/${namespace}/secrets`, { apiVersion: 'v1', kind: 'Secret', type: CA_SECRET_TYPE, metadata: { name: SELF_SIGNED_CA_SECRET, namespace }, data });
      return fromSelfSigned({ data }, where, true);
    } catch (err) {
      // Another replica created it first: read theirs on the next turn.
      if (!(err instanceof KubeApiError) || err.code !== 409) throw err;
    }
  }
  throw new Error(`could not read or create Secret ${where}`);
}
