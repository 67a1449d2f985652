/**
 * The push protocol between skiffd and its proxies: message shapes, their validation, and the
 * newline-delimited JSON framing both sides use.
 *
 * Modelled on xDS's aggregated discovery service (ADS), carried over HTTP/2 cleartext:
 *
 * - The proxy opens one long-lived stream, `POST /skiff.v1/stream` (content type
 *   `application/x-ndjson`), and keeps it open; skiffd answers `:status 200` at once and keeps its
 *   side open too. Each direction carries JSON messages, one per line.
 * - proxy → skiffd: first `{type:'hello', node:{id, kind, workload?}, adminUrl?, metricsUrl?,
 *   features?}`, then for every snapshot or delta received `{type:'ack', version, nonce}` once it
 *   is in force, or `{type:'nack', version, nonce, error:{path, reason}}` when it was refused (the
 *   proxy keeps serving its previous snapshot, as Envoy does after a NACK). `features: ['delta']`
 *   says the proxy takes `delta` messages.
 * - skiffd → proxy: `{type:'snapshot', version, nonce, snapshot}` with the proxy's complete
 *   `ProxySnapshot` (state of the world), whose own `version` equals the message's. On connect the
 *   proxy gets the current snapshot at once; later ones follow config or registry changes,
 *   debounced. A snapshot whose content equals the last one sent is not sent again.
 * - Deltas (Envoy's incremental xDS, reduced to what a push changes): to a proxy that offered the
 *   `delta` feature and acknowledged the last send, skiffd may send instead
 *   `{type:'delta', version, nonce, base, delta:{put?, drop?, items?, virtualHosts?}}`: applied to
 *   the snapshot of version `base` it gives the complete snapshot of `version`. `put` holds
 *   top-level fields replaced whole (`node`, `telemetry`, or a whole `listeners`/`routes`/`clusters`
 *   list); `drop` names fields removed; `items` holds, per list, items replaced by position
 *   (`{"clusters":{"17":{...}}}`, only when the list's names and their order are unchanged); and
 *   `virtualHosts` holds, per position in `routes`, virtual hosts replaced by position within that
 *   route config (`{"0":{"3":{...}}}`, on the same terms). Whatever is not named is unchanged. A
 *   proxy that does not hold `base` NACKs with error path `base`, one that finds a position out of
 *   range or an item under another name with a path starting `delta`; skiffd then sends the
 *   complete snapshot at once. Any other NACK refuses the content, as for a complete snapshot.
 *   `{type:'error', reason}` precedes skiffd closing a stream it refuses (a bad hello).
 * - Workload certificates (Istio's CA service over the same stream; any time after the hello):
 *   proxy → skiffd `{type:'csr', requestId, csr, credential?}` with a PEM PKCS #10 request for a
 *   key the proxy generated and keeps, and the credential that proves which workload it is (on the
 *   local runtime, its pod's bootstrap token). skiffd answers `{type:'certificate', requestId,
 *   certChain, rootCert}` (PEM: the leaf, whose only SAN is the workload's SPIFFE id, then the
 *   signing chain; the mesh's root) or `{type:'certificate-refused', requestId, reason}`. The
 *   requests are independent of snapshots: a proxy asks on start and again before its certificate
 *   expires.
 * - Versions are `<generation>-<content hash>`: the generation grows with every push round of
 *   this skiffd, the hash identifies the content. Each send has a fresh nonce, so an ACK or NACK
 *   names exactly the send it answers.
 * - Keepalive: both sides send HTTP/2 PING frames; a peer that stops answering them is dropped,
 *   and the proxy reconnects with jittered backoff.
 *
 * HTTP/2 rather than an HTTP/1.1 request/response pair because both directions then flow on one
 * stream with per-stream flow control, and PING frames give keepalive without messages of ours.
 * Deltas because a change to one service otherwise re-sends every proxy its whole snapshot
 * (hundreds of KB with a thousand services), which dominates a push to a thousand proxies.
 */
import type { NodeConfig, ProxySnapshot } from './snapshot.js';

/** The stream's path; the `v1` names this protocol's version. */
export const STREAM_PATH = '/skiff.v1/stream';
export const CONTENT_TYPE = 'application/x-ndjson';

export interface HelloMessage {
  type: 'hello';
  node: NodeConfig;
  /** Base URL of the proxy's admin endpoints (`/config_dump`, `/clusters`, ...). */
  adminUrl?: string;
  /** URL where the proxy's metrics are scraped. */
  metricsUrl?: string;
  /** Optional parts of the protocol the proxy implements (`delta`). */
  features?: string[];
}

/** The feature a proxy names in its hello to receive `delta` messages. */
export const DELTA_FEATURE = 'delta';

export interface AckMessage {
  type: 'ack';
  version: string;
  nonce: string;
}

/** Why a snapshot was refused: the offending field's path and the reason. */
export interface NackError {
  path: string;
  reason: string;
}

export interface NackMessage {
  type: 'nack';
  version: string;
  nonce: string;
  error: NackError;
}

export interface SnapshotMessage {
  type: 'snapshot';
  version: string;
  nonce: string;
  snapshot: ProxySnapshot;
}

/** What changed since the snapshot of `base`; see the module comment. Checked when applied (`delta.ts`). */
export interface SnapshotDelta {
  put?: Record<string, unknown>;
  drop?: string[];
  items?: Record<string, Record<string, unknown>>;
  virtualHosts?: Record<string, Record<string, unknown>>;
}

export interface DeltaMessage {
  type: 'delta';
  version: string;
  nonce: string;
  base: string;
  delta: SnapshotDelta;
}

/** A certificate signing request; see the module comment. */
export interface CsrMessage {
  type: 'csr';
  /** Chosen by the proxy; the answer carries it back. */
  requestId: string;
  /** PEM PKCS #10 request. */
  csr: string;
  /** Proof of the workload's identity (the pod's bootstrap token locally). */
  credential?: string;
}

export interface CertificateMessage {
  type: 'certificate';
  requestId: string;
  /** PEM certificates: the workload's leaf first, then the signing chain (without the root). */
  certChain: string[];
  /** PEM root certificate(s) the mesh trusts. */
  rootCert: string;
}

/** The refusal reason of a control plane that runs no CA: its proxies then run without an identity. */
export const NO_CA_REASON = 'this control plane runs no certificate authority';

export interface CertificateRefusedMessage {
  type: 'certificate-refused';
  requestId: string;
  reason: string;
}

/** The fetch state of one `jwksUri` on a proxy. */
export interface JwksFetchState {
  uri: string;
  /** `fetching`: no set yet, a fetch in progress; `ready`: a set is in use; `failed`: no set, the last fetch failed. */
  state: 'fetching' | 'ready' | 'failed';
  /** Keys in the set in use (0 without one). */
  keys: number;
  /** When the set in use arrived (ms since the epoch); 0 never. */
  fetchedAt: number;
  /** Why the last fetch failed; '' when it did not (a `ready` set may still have a failed refresh). */
  error: string;
  /** Fetches failed in a row. */
  failures: number;
  /** When the next fetch is due (ms since the epoch): the refresh, or the retry after a failure; 0 none planned. */
  nextFetchAt: number;
}

export interface StatusMessage {
  type: 'status';
  jwks: JwksFetchState[];
}

/** The most key sets one status message may carry (a proxy has one per distinct jwksUri of its rules). */
export const MAX_STATUS_JWKS = 1000;

export interface ErrorMessage {
  type: 'error';
  reason: string;
}

export type ProxyMessage = HelloMessage | AckMessage | NackMessage | CsrMessage | StatusMessage;
export type ServerMessage = SnapshotMessage | DeltaMessage | ErrorMessage | CertificateMessage | CertificateRefusedMessage;

/** A message that does not follow the protocol; the text says what is wrong. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Obj, key: string, at: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new ProtocolError(`${at}.${key} must be a non-empty string`);
  return v;
}

function optionalUrl(o: Obj, key: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^https?:\/\/\S+$/.test(v)) throw new ProtocolError(`hello.${key} must be an http(s) URL`);
  return v;
}

function parseNode(v: unknown): NodeConfig {
  if (!isObj(v)) throw new ProtocolError('hello.node must be an object');
  const kind = v.kind;
  if (kind !== 'sidecar' && kind !== 'gateway') throw new ProtocolError('hello.node.kind must be sidecar or gateway');
  const node: NodeConfig = { id: str(v, 'id', 'hello.node'), kind };
  if (v.workload !== undefined) {
    const w = v.workload;
    if (!isObj(w)) throw new ProtocolError('hello.node.workload must be an object');
    const labels: Record<string, string> = {};
    if (w.labels !== undefined) {
      if (!isObj(w.labels)) throw new ProtocolError('hello.node.workload.labels must be an object');
      for (const [k, val] of Object.entries(w.labels)) {
        if (typeof val !== 'string') throw new ProtocolError(`hello.node.workload.labels.${k} must be a string`);
        labels[k] = val;
      }
    }
    node.workload = {
      name: str(w, 'name', 'hello.node.workload'),
      namespace: str(w, 'namespace', 'hello.node.workload'),
      labels,
      serviceAccount: w.serviceAccount === undefined ? 'default' : str(w, 'serviceAccount', 'hello.node.workload'),
    };
  }
  return node;
}

const JWKS_STATES: ReadonlySet<unknown> = new Set(['fetching', 'ready', 'failed']);

function count(o: Obj, key: string, at: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ProtocolError(`${at}.${key} must be a non-negative integer`);
  return v;
}

function parseJwksState(v: unknown, at: string): JwksFetchState {
  if (!isObj(v)) throw new ProtocolError(`${at} must be an object`);
  if (!JWKS_STATES.has(v.state)) throw new ProtocolError(`${at}.state must be fetching, ready or failed`);
  if (typeof v.error !== 'string') throw new ProtocolError(`${at}.error must be a string`);
  return {
    uri: str(v, 'uri', at),
    state: v.state as JwksFetchState['state'],
    keys: count(v, 'keys', at),
    fetchedAt: count(v, 'fetchedAt', at),
    error: v.error.slice(0, 1000),
    failures: count(v, 'failures', at),
    nextFetchAt: count(v, 'nextFetchAt', at),
  };
}

/** Parses and checks one line from a proxy. Throws `ProtocolError` naming the problem. */
export function parseProxyMessage(line: string): ProxyMessage {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ProtocolError('message is not JSON');
  }
  if (!isObj(v)) throw new ProtocolError('message must be a JSON object');
  switch (v.type) {
    case 'hello': {
      const hello: HelloMessage = { type: 'hello', node: parseNode(v.node) };
      const adminUrl = optionalUrl(v, 'adminUrl');
      const metricsUrl = optionalUrl(v, 'metricsUrl');
      if (adminUrl !== undefined) hello.adminUrl = adminUrl;
      if (metricsUrl !== undefined) hello.metricsUrl = metricsUrl;
      if (v.features !== undefined) {
        if (!Array.isArray(v.features) || !v.features.every((f) => typeof f === 'string')) throw new ProtocolError('hello.features must be a list of strings');
        hello.features = v.features;
      }
      return hello;
    }
    case 'ack':
      return { type: 'ack', version: str(v, 'version', 'ack'), nonce: str(v, 'nonce', 'ack') };
    case 'nack': {
      const e = v.error;
      if (!isObj(e)) throw new ProtocolError('nack.error must be an object');
      return {
        type: 'nack',
        version: str(v, 'version', 'nack'),
        nonce: str(v, 'nonce', 'nack'),
        error: { path: typeof e.path === 'string' ? e.path : '', reason: str(e, 'reason', 'nack.error') },
      };
    }
    case 'csr': {
      const csr: CsrMessage = { type: 'csr', requestId: str(v, 'requestId', 'csr'), csr: str(v, 'csr', 'csr') };
      if (v.credential !== undefined) csr.credential = str(v, 'credential', 'csr');
      return csr;
    }
    case 'status': {
      const jwks = v.jwks;
      if (!Array.isArray(jwks) || jwks.length > MAX_STATUS_JWKS) throw new ProtocolError(`status.jwks must be a list of at most ${MAX_STATUS_JWKS} key set states`);
      return { type: 'status', jwks: jwks.map((j, i) => parseJwksState(j, `status.jwks[${i}]`)) };
    }
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(v.type)}`);
  }
}

/** Parses one line from skiffd. Throws `ProtocolError`; the snapshot itself is checked by the proxy. */
export function parseServerMessage(line: string): ServerMessage {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ProtocolError('message is not JSON');
  }
  if (!isObj(v)) throw new ProtocolError('message must be a JSON object');
  if (v.type === 'error') return { type: 'error', reason: typeof v.reason === 'string' ? v.reason : 'unspecified' };
  if (v.type === 'delta') {
    if (!isObj(v.delta)) throw new ProtocolError('delta.delta must be an object');
    return { type: 'delta', version: str(v, 'version', 'delta'), nonce: str(v, 'nonce', 'delta'), base: str(v, 'base', 'delta'), delta: v.delta };
  }
  if (v.type === 'certificate') {
    const chain = v.certChain;
    if (!Array.isArray(chain) || chain.length === 0 || !chain.every((c) => typeof c === 'string' && c !== '')) throw new ProtocolError('certificate.certChain must be a non-empty list of PEM strings');
    return { type: 'certificate', requestId: str(v, 'requestId', 'certificate'), certChain: chain as string[], rootCert: str(v, 'rootCert', 'certificate') };
  }
  if (v.type === 'certificate-refused') {
    return { type: 'certificate-refused', requestId: str(v, 'requestId', 'certificate-refused'), reason: str(v, 'reason', 'certificate-refused') };
  }
  if (v.type !== 'snapshot') throw new ProtocolError(`unknown message type ${JSON.stringify(v.type)}`);
  return { type: 'snapshot', version: str(v, 'version', 'snapshot'), nonce: str(v, 'nonce', 'snapshot'), snapshot: v.snapshot as ProxySnapshot };
}

/** One message as a line of the stream. */
export function encodeLine(message: ProxyMessage | ServerMessage): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * Splits a stream of text chunks into lines. Pieces of a long line are joined once, when its
 * newline arrives, so a multi-megabyte snapshot costs no repeated copying. A line longer than
 * `maxLineLength` characters is an error (a peer that never sends a newline must not exhaust memory).
 */
export class LineSplitter {
  private parts: string[] = [];
  private pending = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineLength: number,
  ) {}

  /** Feeds one chunk; throws `ProtocolError` when a line grows past the limit. */
  push(chunk: string): void {
    let start = 0;
    let nl = chunk.indexOf('\n');
    while (nl !== -1) {
      const piece = chunk.slice(start, nl);
      const line = this.parts.length === 0 ? piece : this.parts.join('') + piece;
      this.parts = [];
      this.pending = 0;
      if (line.length > 0) this.onLine(line);
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    if (start < chunk.length) {
      const rest = chunk.slice(start);
      this.pending += rest.length;
      if (this.pending > this.maxLineLength) throw new ProtocolError(`message longer than ${this.maxLineLength} characters`);
      this.parts.push(rest);
    }
  }
}
