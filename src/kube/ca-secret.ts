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
 * Both are read once at start, as istiod reads them.
 */
import { CACERTS_FILES, MeshCa } from '../controlplane/ca/index.js';
import { KubeApiError } from './client.js';
import type { KubeClient } from './client.js';

/** The operator's plugged-in CA, as Istio's. */
export const PLUGGED_CA_SECRET = 'cacerts';
/** istiod's self-signed root, created by the first replica. */
export const SELF_SIGNED_CA_SECRET = 'istio-ca-secret';
/** The Secret type istiod gives `istio-ca-secret`. */
const CA_SECRET_TYPE = 'istio.io/ca-root';

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
    if (required) throw new Error(`Secret ${where} has no ${key} (expected ${Object.values(CACERTS_FILES).join(', ')})`);
    return undefined;
  }
  return unb64(value);
}

function fromPlugged(secret: SecretObject, where: string): Promise<MeshCa> {
  const chain = field(secret, where, CACERTS_FILES.chain, false);
  return MeshCa.fromCaCertsData(
    { cert: field(secret, where, CACERTS_FILES.cert, true), key: field(secret, where, CACERTS_FILES.key, true), root: field(secret, where, CACERTS_FILES.root, true), ...(chain !== undefined ? { chain } : {}) },
    (file) => `Secret ${where} key ${file}`,
    `plugged-in CA from Secret ${where}`,
  );
}

function fromSelfSigned(secret: SecretObject, where: string, created: boolean): Promise<MeshCa> {
  const cert = field(secret, where, CACERTS_FILES.cert, true);
  // The self-signed root signs workload certificates itself: it is its own root and chain.
  return MeshCa.fromCaCertsData({ cert, key: field(secret, where, CACERTS_FILES.key, true), root: cert }, (file) => `Secret ${where} key ${file}`, `self-signed root in Secret ${where}${created ? ' (new)' : ''}`);
}

/**
 * The CA of every replica: `cacerts` when present, else `istio-ca-secret`, created here with a new
 * root (organisation `trustDomain`) when no replica has yet.
 */
export async function sharedMeshCa(client: KubeClient, namespace: string, trustDomain: string): Promise<MeshCa> {
  const plugged = await readSecret(client, namespace, PLUGGED_CA_SECRET);
  if (plugged !== undefined) return fromPlugged(plugged, `${namespace}/${PLUGGED_CA_SECRET}`);
  const where = `${namespace}/${SELF_SIGNED_CA_SECRET}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing = await readSecret(client, namespace, SELF_SIGNED_CA_SECRET);
    if (existing !== undefined) return fromSelfSigned(existing, where, false);
    const root = await MeshCa.newRoot(trustDomain);
    const data = { [CACERTS_FILES.cert]: b64(root.cert), [CACERTS_FILES.key]: b64(root.key), [CACERTS_FILES.chain]: '', [CACERTS_FILES.root]: '' };
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
