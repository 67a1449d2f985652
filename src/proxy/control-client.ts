/**
 * The proxy's side of the push protocol (see src/snapshot/protocol.ts): keeps a stream
 * open to skiffd, applies each snapshot it receives and answers ACK or NACK, and reconnects with
 * jittered backoff whenever skiffd is away — serving the last good snapshot all the while. It
 * takes deltas: each is applied to the last snapshot in force (kept as received) and the result
 * handled as a complete snapshot. What the proxy reports of its own state (`reportStatus`: the
 * JWKS fetch states) goes to skiffd at once and again on every new stream.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import { DeltaError, applyDelta, CONTENT_TYPE, DELTA_FEATURE, LineSplitter, STREAM_PATH, encodeLine, parseServerMessage, SnapshotError } from '../snapshot/index.js';
import type { CertificateMessage, CertificateRefusedMessage, CsrMessage, DeltaMessage, HelloMessage, JwksFetchState, NackError, SnapshotMessage, NodeConfig, StatusMessage } from '../snapshot/index.js';

/** What the client applies snapshots to: a SkiffProxy, or a relay to its worker processes. */
export interface SnapshotTarget {
  /** Applies the snapshot atomically; rejects (with `SnapshotError` when it is invalid) and changes nothing otherwise. */
  applySnapshot(input: unknown): Promise<{ version: string }>;
}

/**
 * TLS to the control plane (an `https://` URL, istiod's 15012): the root its certificate must
 * chain to, read afresh on every connection (on Kubernetes the `istio-ca-root-cert` ConfigMap
 * mounted as a file), and the DNS name it must carry (istiod's `ISTIOD_SAN`; by default the URL's
 * host).
 */
export interface ControlPlaneTls {
  rootCertFile: string;
  serverName: string;
}

export interface ControlClientOptions {
  /** skiffd's push URL: `http://127.0.0.1:15010`, or `https://skiffd.istio-system.svc:15012` with `tls`. */
  url: string;
  tls?: ControlPlaneTls;
  node: NodeConfig;
  target: SnapshotTarget;
  adminUrl?: string;
  metricsUrl?: string;
  log?: (line: string) => void;
  /** First reconnect delay; doubles per failed attempt up to `maxBackoffMs`, each jittered to 50–100 %. Default 100 ms. */
  minBackoffMs?: number;
  /** Default 2 s, so proxies re-sync soon after skiffd comes back. */
  maxBackoffMs?: number;
  /** Interval of the HTTP/2 PINGs to skiffd. Default 5 s. */
  keepaliveMs?: number;
  /** skiffd is considered gone when a PING stays unanswered this long. Default 5 s. */
  keepaliveTimeoutMs?: number;
  random?: () => number;
}

export interface ControlClientEvents {
  connected: [];
  disconnected: [reason: string];
  applied: [version: string];
  rejected: [version: string, error: NackError];
}

/** Flow-control window for snapshots: large enough that a big snapshot arrives in one round trip. */
const WINDOW = 16 * 1024 * 1024;
/** The largest snapshot line accepted, in characters. */
const MAX_SNAPSHOT_LINE = 256 * 1024 * 1024;

/** A certificate request waiting for its answer; sent (again) on every stream until answered. */
interface CertificateRequest {
  message: CsrMessage;
  resolve: (answer: SignedCertificate) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** What skiffd's CA answered: PEM chain (leaf first) and root. */
export interface SignedCertificate {
  certChain: string[];
  rootCert: string;
}

/** The control plane refused to sign; `reason` is its text. */
export class CertificateRefusedError extends Error {
  constructor(readonly reason: string) {
    super(`the control plane refused the certificate request: ${reason}`);
    this.name = 'CertificateRefusedError';
  }
}

interface Pending {
  message: SnapshotMessage | DeltaMessage;
  stream: ClientHttp2Stream;
}

export class ControlClient extends EventEmitter<ControlClientEvents> {
  private session: ClientHttp2Session | null = null;
  private stream: ClientHttp2Stream | null = null;
  private isConnected = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly keepaliveTimer: NodeJS.Timeout;
  private pingOutstandingSince: number | null = null;
  private pending: Pending | null = null;
  private applying = false;
  private stopped = false;
  /** Set once an outage has been logged, so a long one logs once rather than every attempt. */
  private outageLogged = false;
  /** The control plane's last reason for refusing the stream, logged once while it repeats. */
  private refusal: string | null = null;
  private version: string | null = null;
  /** The snapshot in force as the control plane sent it (deltas apply to it); null before the first. */
  private current: Record<string, unknown> | null = null;
  private readonly log: (line: string) => void;
  private readonly random: () => number;
  private readonly certificateRequests = new Map<string, CertificateRequest>();
  private requestSeq = 0;
  /** The last state reported, sent again on every new stream; null before any. */
  private status: StatusMessage | null = null;

  constructor(private readonly opts: ControlClientOptions) {
    super();
    this.log = opts.log ?? (() => {});
    this.random = opts.random ?? Math.random;
    this.keepaliveTimer = setInterval(() => this.keepalive(), opts.keepaliveMs ?? 5000);
    this.keepaliveTimer.unref();
  }

  /** Opens the stream (and keeps reopening it until `close`). */
  start(): void {
    if (this.session === null && this.reconnectTimer === null && !this.stopped) this.connect();
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Version of the last snapshot from the control plane that was applied; null before the first. */
  get appliedVersion(): string | null {
    return this.version;
  }

  /**
   * Asks skiffd's CA to sign `csr` (PEM), proving the workload with `credential`. Sent at once when
   * the stream is up, else as soon as it is (and again on a new stream if the old one went before
   * the answer); rejects after `timeoutMs`, on refusal (`CertificateRefusedError`), or on `close`.
   */
  requestCertificate(csr: string, credential: string | undefined, timeoutMs = 30_000): Promise<SignedCertificate> {
    return new Promise((resolve, reject) => {
      if (this.stopped) return reject(new Error('the control client is closed'));
      const requestId = `csr-${++this.requestSeq}`;
      const message: CsrMessage = { type: 'csr', requestId, csr, ...(credential !== undefined ? { credential } : {}) };
      const timer = setTimeout(() => {
        this.certificateRequests.delete(requestId);
        reject(new Error(`no answer to the certificate request within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.certificateRequests.set(requestId, { message, resolve, reject, timer });
      if (this.isConnected && this.stream !== null) this.reply(this.stream, message);
    });
  }

  /** Reports the proxy's JWKS fetch states to skiffd: now when connected, and after every reconnect. */
  reportStatus(jwks: JwksFetchState[]): void {
    this.status = { type: 'status', jwks };
    if (this.isConnected && this.stream !== null) this.reply(this.stream, this.status);
  }

  private onCertificate(message: CertificateMessage | CertificateRefusedMessage): void {
    const request = this.certificateRequests.get(message.requestId);
    if (request === undefined) return; // timed out meanwhile, or answered on an older stream already
    this.certificateRequests.delete(message.requestId);
    clearTimeout(request.timer);
    if (message.type === 'certificate') request.resolve({ certChain: message.certChain, rootCert: message.rootCert });
    else request.reject(new CertificateRefusedError(message.reason));
  }

  /** Closes the stream for good; the proxy keeps serving what it has. */
  async close(): Promise<void> {
    this.stopped = true;
    for (const request of this.certificateRequests.values()) {
      clearTimeout(request.timer);
      request.reject(new Error('the control client is closed'));
    }
    this.certificateRequests.clear();
    clearInterval(this.keepaliveTimer);
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const session = this.session;
    if (session === null || session.destroyed) return;
    await new Promise<void>((resolve) => {
      session.once('close', () => resolve());
      this.stream?.close();
      session.close();
      setTimeout(() => session.destroy(), 500).unref();
    });
  }

  /** How the session reaches skiffd: cleartext, or TLS verified against the root file as it is now. */
  private connectOptions(): http2.SecureClientSessionOptions {
    const tlsOpts = this.opts.tls;
    const settings = { initialWindowSize: WINDOW };
    if (tlsOpts === undefined) return { settings };
    const ca = readFileSync(tlsOpts.rootCertFile, 'utf8');
    const name = tlsOpts.serverName;
    return {
      settings,
      ca,
      ...(isIP(name) === 0 ? { servername: name } : {}),
      // The name checked is the control plane's own, whatever address the URL dials.
      checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert),
    };
  }

  private connect(): void {
    let options: http2.SecureClientSessionOptions;
    try {
      options = this.connectOptions();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      this.retryLater(false, `cannot read the control plane's root certificate ${this.opts.tls?.rootCertFile ?? ''}: ${code}`);
      return;
    }
    const session = http2.connect(this.opts.url, options);
    this.session = session;
    let reason = 'connection closed';
    session.on('error', (err: NodeJS.ErrnoException) => (reason = tlsFailure(err) ?? err.code ?? err.message));
    session.on('goaway', () => (reason = 'the control plane is going away'));
    session.on('connect', () => session.setLocalWindowSize(WINDOW));
    session.on('close', () => this.onSessionClose(session, reason));

    const stream = session.request({ ':method': 'POST', ':path': STREAM_PATH, 'content-type': CONTENT_TYPE }, { endStream: false });
    this.stream = stream;
    stream.setEncoding('utf8');
    stream.on('error', (err: NodeJS.ErrnoException) => (reason = err.code ?? err.message));
    stream.on('response', (headers) => {
      const status = Number(headers[':status']);
      if (status !== 200) {
        reason = `the control plane answered HTTP ${status}`;
        session.close();
        return;
      }
      this.isConnected = true;
      // While skiffd keeps refusing this proxy, connecting is not news; a snapshot will be.
      if (this.refusal === null) this.log(`connected to the control plane at ${this.opts.url}`);
      this.outageLogged = false;
      // Requests still unanswered were lost with the previous stream (or wait for a first one).
      for (const request of this.certificateRequests.values()) this.reply(stream, request.message);
      if (this.status !== null) this.reply(stream, this.status);
      this.emit('connected');
    });
    const lines = new LineSplitter((line) => this.onLine(stream, line, (why) => (reason = why)), MAX_SNAPSHOT_LINE);
    stream.on('data', (chunk: string) => {
      try {
        lines.push(chunk);
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
        session.destroy();
      }
    });
    // One stream per connection: when it ends, the connection goes too, and reconnecting starts over.
    stream.on('end', () => stream.close());
    stream.on('close', () => session.close());
    const hello: HelloMessage = { type: 'hello', node: this.opts.node, features: [DELTA_FEATURE] };
    if (this.opts.adminUrl !== undefined) hello.adminUrl = this.opts.adminUrl;
    if (this.opts.metricsUrl !== undefined) hello.metricsUrl = this.opts.metricsUrl;
    stream.write(encodeLine(hello));
  }

  private onLine(stream: ClientHttp2Stream, line: string, setReason: (why: string) => void): void {
    let message;
    try {
      message = parseServerMessage(line);
    } catch (err) {
      setReason(`bad message from the control plane: ${err instanceof Error ? err.message : String(err)}`);
      stream.session?.destroy();
      return;
    }
    if (message.type === 'error') {
      const why = `the control plane refused the stream: ${message.reason}`;
      setReason(why);
      if (why !== this.refusal) this.log(why);
      this.refusal = why;
      return;
    }
    if (message.type === 'certificate' || message.type === 'certificate-refused') {
      this.onCertificate(message);
      return;
    }
    // A snapshot: the stream works, so the next outage starts from the shortest backoff.
    this.attempt = 0;
    if (this.refusal !== null) {
      this.refusal = null;
      this.log(`connected to the control plane at ${this.opts.url}`);
    }
    // Only the newest snapshot matters: one that arrives while another is applied replaces any still waiting.
    this.pending = { message, stream };
    if (!this.applying) void this.applyPending();
  }

  private async applyPending(): Promise<void> {
    this.applying = true;
    while (this.pending !== null) {
      const { message, stream } = this.pending;
      this.pending = null;
      const error = await this.apply(message);
      if (error === null) {
        this.version = message.version;
        this.reply(stream, { type: 'ack', version: message.version, nonce: message.nonce });
        this.emit('applied', message.version);
      } else {
        this.log(`snapshot ${message.version} rejected: ${error.path ? `${error.path}: ` : ''}${error.reason}; serving ${this.version === null ? 'nothing yet' : `snapshot ${this.version}`}`);
        this.reply(stream, { type: 'nack', version: message.version, nonce: message.nonce, error });
        this.emit('rejected', message.version, error);
      }
    }
    this.applying = false;
  }

  /** Applies one snapshot or delta; the reason it was refused, or null once it is in force. */
  private async apply(message: SnapshotMessage | DeltaMessage): Promise<NackError | null> {
    let snap: unknown;
    if (message.type === 'snapshot') {
      snap = message.snapshot;
    } else {
      if (this.current === null || this.version !== message.base) {
        return { path: 'base', reason: `delta against snapshot ${message.base}, this proxy serves ${this.version ?? 'none'}` };
      }
      try {
        snap = applyDelta(this.current, message.delta, message.version);
      } catch (err) {
        if (err instanceof DeltaError) return { path: err.path, reason: err.reason };
        throw err;
      }
    }
    const nodeId = typeof snap === 'object' && snap !== null ? (snap as { node?: { id?: unknown } }).node?.id : undefined;
    if (typeof nodeId === 'string' && nodeId !== this.opts.node.id) {
      return { path: 'node.id', reason: `snapshot is for ${JSON.stringify(nodeId)}, this proxy is ${JSON.stringify(this.opts.node.id)}` };
    }
    try {
      await this.opts.target.applySnapshot(snap);
      this.current = typeof snap === 'object' && snap !== null ? (snap as Record<string, unknown>) : null;
      return null;
    } catch (err) {
      if (err instanceof SnapshotError) return { path: err.path, reason: err.reason };
      return { path: 'snapshot', reason: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Answers on the stream the snapshot came on; a stream gone since has a successor that re-sends. */
  private reply(stream: ClientHttp2Stream, message: Parameters<typeof encodeLine>[0]): void {
    if (stream.destroyed || stream.closed || !stream.writable) return;
    stream.write(encodeLine(message));
  }

  private onSessionClose(session: ClientHttp2Session, reason: string): void {
    if (this.session !== session) return;
    this.session = null;
    this.stream = null;
    this.pingOutstandingSince = null;
    const was = this.isConnected;
    this.isConnected = false;
    this.retryLater(was, reason);
  }

  /** Logs the outage (once while it lasts) and connects again after a jittered, growing delay. */
  private retryLater(was: boolean, reason: string): void {
    if (this.stopped) return;
    const serving = this.version === null ? 'no snapshot yet' : `serving snapshot ${this.version} meanwhile`;
    if (was) {
      if (reason !== this.refusal) this.log(`lost the control plane at ${this.opts.url} (${reason}); ${serving}; reconnecting`);
      this.emit('disconnected', reason);
    } else if (!this.outageLogged) {
      this.log(`cannot reach the control plane at ${this.opts.url} (${reason}); ${serving}; retrying`);
    }
    this.outageLogged = true;
    const min = this.opts.minBackoffMs ?? 100;
    const max = this.opts.maxBackoffMs ?? 2000;
    const ceiling = Math.min(max, min * 2 ** Math.min(this.attempt, 20));
    this.attempt++;
    const delay = ceiling * (0.5 + 0.5 * this.random());
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }

  private keepalive(): void {
    const session = this.session;
    if (session === null || !this.isConnected || session.destroyed) return;
    const now = Date.now();
    if (this.pingOutstandingSince !== null) {
      if (now - this.pingOutstandingSince > (this.opts.keepaliveTimeoutMs ?? 5000)) session.destroy(new Error('keepalive PING unanswered'));
      return;
    }
    this.pingOutstandingSince = now;
    try {
      session.ping(() => (this.pingOutstandingSince = null));
    } catch {
      session.destroy();
    }
  }
}

/** A TLS verification failure told as what it means for the control plane's certificate. */
function tlsFailure(err: NodeJS.ErrnoException): string | undefined {
  if (err.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the control plane's certificate does not name it: ${err.message}`;
  if (err.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || err.code === 'SELF_SIGNED_CERT_IN_CHAIN' || err.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || err.code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY') {
    return `the control plane's certificate does not chain to the mesh root (${err.code})`;
  }
  return undefined;
}
