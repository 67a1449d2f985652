/**
 * Workload identities as Istio's telemetry labels them (workload, namespace, app, version,
 * canonical service and revision, cluster) and the peer-metadata headers through which two
 * sidecars tell each other who they are.
 *
 * Wire format (Istio's header names, Skiff's payload): `x-envoy-peer-metadata-id` carries the
 * sender's node id; `x-envoy-peer-metadata` carries base64 of a JSON object with Istio's node
 * metadata keys: `{"WORKLOAD_NAME", "NAMESPACE", "CLUSTER_ID", "SERVICE_ACCOUNT", "LABELS": {"app",
 * "version", "service.istio.io/canonical-name", "service.istio.io/canonical-revision"}}`. The
 * outbound sidecar (or gateway) sets both on requests it forwards and the inbound sidecar reads and
 * removes them; the inbound sidecar sets its own on responses and the outbound one reads and
 * removes them. A header that does not decode is ignored (the peer is then unknown).
 */
import type { WorkloadIdentity, EndpointConfig } from '../snapshot/index.js';

export const PEER_METADATA = 'x-envoy-peer-metadata';
export const PEER_METADATA_ID = 'x-envoy-peer-metadata-id';

/** Istio's `cluster` label value for a single-cluster mesh. */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';
const UNKNOWN = 'unknown';

/** One side of a request as the standard labels describe it. */
export interface PeerIdentity {
  readonly workload: string;
  readonly namespace: string;
  readonly app: string;
  readonly version: string;
  readonly canonicalService: string;
  readonly canonicalRevision: string;
  readonly cluster: string;
  /** Kubernetes service account name ('' when unknown); principals come from mTLS, not from here. */
  readonly serviceAccount: string;
}

/** The peer nobody told us about: Istio's `unknown` labels (`latest` for the canonical revision). */
export const UNKNOWN_PEER: PeerIdentity = Object.freeze({
  workload: UNKNOWN,
  namespace: UNKNOWN,
  app: UNKNOWN,
  version: UNKNOWN,
  canonicalService: UNKNOWN,
  canonicalRevision: 'latest',
  cluster: UNKNOWN,
  serviceAccount: '',
});

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/**
 * The workload a pod belongs to, as Istio names it from the pod's owner: a Deployment's pod
 * (`<deployment>-<pod-template-hash>-<suffix>`, with the `pod-template-hash` label) belongs to the
 * Deployment; any other pod is its own workload.
 */
export function workloadNameOf(pod: string | undefined, labels: Readonly<Record<string, string>>): string | undefined {
  const hash = labels['pod-template-hash'];
  if (pod === undefined || hash === undefined || hash === '') return pod;
  const marker = `-${hash}-`;
  const at = pod.lastIndexOf(marker);
  return at > 0 && !pod.slice(at + marker.length).includes('-') ? pod.slice(0, at) : pod;
}

/** Identity from pod-style labels, the way Istio derives canonical service and revision. */
export function identityFromLabels(workload: string | undefined, namespace: string | undefined, labels: Readonly<Record<string, string>>, cluster: string, serviceAccount = ''): PeerIdentity {
  const app = nonEmpty(labels.app) ?? nonEmpty(labels['app.kubernetes.io/name']);
  const version = nonEmpty(labels.version) ?? nonEmpty(labels['app.kubernetes.io/version']);
  return Object.freeze({
    workload: nonEmpty(workload) ?? UNKNOWN,
    namespace: nonEmpty(namespace) ?? UNKNOWN,
    app: app ?? UNKNOWN,
    version: version ?? UNKNOWN,
    canonicalService: nonEmpty(labels['service.istio.io/canonical-name']) ?? app ?? nonEmpty(workload) ?? UNKNOWN,
    canonicalRevision: nonEmpty(labels['service.istio.io/canonical-revision']) ?? version ?? 'latest',
    cluster,
    serviceAccount,
  });
}

/** The proxy's own workload, from the snapshot's `node.workload`. */
export function identityOfWorkload(w: WorkloadIdentity | undefined): PeerIdentity {
  if (w === undefined) return UNKNOWN_PEER;
  return identityFromLabels(workloadNameOf(w.name, w.labels), w.namespace, w.labels, DEFAULT_CLUSTER_ID, w.serviceAccount);
}

/**
 * An upstream endpoint's identity from the snapshot (Istio's client-side fallback when the
 * response carries no peer metadata), or undefined when the snapshot says nothing about it.
 */
export function identityOfEndpoint(e: EndpointConfig): PeerIdentity | undefined {
  if (e.workload === undefined && e.labels === undefined) return undefined;
  const sa = e.serviceAccount === undefined ? '' : (/\/sa\/([^/]+)$/.exec(e.serviceAccount)?.[1] ?? '');
  return identityFromLabels(workloadNameOf(e.workload?.name, e.labels ?? {}), e.workload?.namespace, e.labels ?? {}, DEFAULT_CLUSTER_ID, sa);
}

/** The SPIFFE principal of a workload identity (what mTLS will present). */
export function spiffePrincipal(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** The `x-envoy-peer-metadata` value announcing `id`. */
export function encodePeerMetadata(id: PeerIdentity): string {
  const labels: Record<string, string> = {
    'service.istio.io/canonical-name': id.canonicalService,
    'service.istio.io/canonical-revision': id.canonicalRevision,
  };
  if (id.app !== UNKNOWN) labels.app = id.app;
  if (id.version !== UNKNOWN) labels.version = id.version;
  const payload = { WORKLOAD_NAME: id.workload, NAMESPACE: id.namespace, CLUSTER_ID: id.cluster, SERVICE_ACCOUNT: id.serviceAccount, LABELS: labels };
  return Buffer.from(JSON.stringify(payload)).toString('base64');
}

function str(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

/** Decodes an `x-envoy-peer-metadata` value; null when it is not one. Never throws. */
export function decodePeerMetadata(value: string): PeerIdentity | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const o = parsed as Record<string, unknown>;
  const rawLabels = o.LABELS;
  const labels: Record<string, string> = {};
  if (typeof rawLabels === 'object' && rawLabels !== null && !Array.isArray(rawLabels)) {
    for (const [k, v] of Object.entries(rawLabels as Record<string, unknown>)) if (typeof v === 'string') labels[k] = v;
  }
  const workload = str(o, 'WORKLOAD_NAME');
  const namespace = str(o, 'NAMESPACE');
  if (workload === undefined && namespace === undefined) return null;
  return identityFromLabels(workload, namespace, labels, nonEmpty(str(o, 'CLUSTER_ID')) ?? UNKNOWN, str(o, 'SERVICE_ACCOUNT') ?? '');
}

/**
 * Decoded peer-metadata values by header text. Peers are few and send the same value on every
 * request, so decoding happens once per peer; the cache is bounded against junk values.
 *
 * The value is a fresh string of about 400 characters on every request, and a Map lookup hashes
 * all of it (about 0.6 µs here, on every request of both sidecars). The values last seen are
 * compared first: a string comparison stops at the first differing character or a differing
 * length, and a match is one memory comparison — several times cheaper than the hash.
 */
export class PeerMetadataCache {
  private readonly map = new Map<string, PeerIdentity | null>();
  /** The values last looked up, most recent first, with what they decoded to. */
  private readonly recentKeys: string[] = [];
  private readonly recentIds: (PeerIdentity | null)[] = [];

  constructor(
    private readonly max = 512,
    private readonly recentMax = 4,
  ) {}

  get(value: string): PeerIdentity | null {
    const keys = this.recentKeys;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === value) return this.recentIds[i];
    }
    let id = this.map.get(value);
    if (id === undefined) {
      id = decodePeerMetadata(value);
      if (this.map.size >= this.max) this.map.clear();
      this.map.set(value, id);
    }
    this.remember(value, id);
    return id;
  }

  /** Puts a value first among the recent ones; the oldest leaves when they are full. */
  private remember(value: string, id: PeerIdentity | null): void {
    if (this.recentKeys.length >= this.recentMax) {
      this.recentKeys.pop();
      this.recentIds.pop();
    }
    this.recentKeys.unshift(value);
    this.recentIds.unshift(id);
  }
}
