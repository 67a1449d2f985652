/**
 * Serialises snapshots for the wire once per distinct snapshot object, with the content hash that
 * tells an unchanged snapshot from a changed one.
 */
import { createHash } from 'node:crypto';
import type { ProxySnapshot } from '../../proxy/snapshot.js';

export interface EncodedSnapshot {
  /** Hex prefix of the SHA-256 of the content, the snapshot's own `version` left out. */
  hash: string;
  /** The snapshot as JSON without `version`; the version is spliced in per send. */
  body: string;
}

/**
 * Keyed by identity: a snapshot handed to several proxies, or handed again unchanged, is
 * serialised and hashed once. Snapshots must not be mutated once returned by `snapshotFor`.
 */
const cache = new WeakMap<ProxySnapshot, EncodedSnapshot>();

export function encodeSnapshot(snapshot: ProxySnapshot): EncodedSnapshot {
  let encoded = cache.get(snapshot);
  if (encoded === undefined) {
    const { version: _ignored, ...content } = snapshot;
    const body = JSON.stringify(content);
    encoded = { hash: createHash('sha256').update(body).digest('hex').slice(0, 12), body };
    cache.set(snapshot, encoded);
  }
  return encoded;
}

/** The `snapshot` message as one line, the version set both on the message and in the snapshot. */
export function snapshotLine(encoded: EncodedSnapshot, version: string, nonce: string): string {
  const v = JSON.stringify(version);
  const rest = encoded.body.length > 2 ? `,${encoded.body.slice(1)}` : '}';
  return `{"type":"snapshot","version":${v},"nonce":${JSON.stringify(nonce)},"snapshot":{"version":${v}${rest}}\n`;
}
