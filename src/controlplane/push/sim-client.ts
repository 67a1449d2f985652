/**
 * A simulated proxy: speaks the push protocol (hello, then ACK or NACK per snapshot) without a
 * data plane, so tests and the control-plane benchmark can connect hundreds or thousands of them
 * to one skiffd from a single process.
 */
import http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import type { NodeConfig, NackError } from '../../snapshot/index.js';
import { DeltaError, applyDelta, CONTENT_TYPE, DELTA_FEATURE, LineSplitter, STREAM_PATH, encodeLine, parseServerMessage } from '../../snapshot/index.js';

export interface SimSnapshot {
  version: string;
  nonce: string;
  /** Characters of the whole message line. */
  size: number;
  receivedAt: number;
  /** Whether it came as a delta. */
  delta: boolean;
  /** The parsed snapshot, only with `parse: true`: for a delta, the complete snapshot it makes of its base. */
  snapshot?: unknown;
}

export interface SimProxyOptions {
  url: string;
  node: NodeConfig;
  adminUrl?: string;
  /**
   * Parse every snapshot with JSON.parse, as a real proxy would. Default false: only the message
   * envelope is read, so the simulator's own cost does not dwarf the control plane's.
   */
  parse?: boolean;
  /**
   * Offer the `delta` feature, as `skiff proxy` does. Default true. With `parse`, each delta is
   * applied to the last snapshot acknowledged (NACKed when it does not fit); without, it is
   * acknowledged unread, like a snapshot.
   */
  deltas?: boolean;
  /** A reason to NACK this snapshot, null to ACK it, or `ignore` to leave it unanswered. Default: ACK everything. */
  judge?: (snapshot: SimSnapshot) => NackError | null | 'ignore';
  onSnapshot?: (snapshot: SimSnapshot) => void;
}

const WINDOW = 16 * 1024 * 1024;

/** The envelope the push server writes first on every snapshot line. */
const ENVELOPE = /^\{"type":"(snapshot|delta)","version":("(?:[^"\\]|\\.)*"),"nonce":("(?:[^"\\]|\\.)*"),/;

export class SimProxy {
  /** Every snapshot received, oldest first. */
  readonly received: SimSnapshot[] = [];
  /** Version and time of the last ACK sent. */
  lastAck: { version: string; at: number } | null = null;
  /** Set when the stream ended; with the reason. */
  closedReason: string | null = null;
  private waiters: (() => void)[] = [];
  /** With `parse: true`: the last snapshot acknowledged, the base of the next delta. */
  private current: { version: string; snapshot: Record<string, unknown> } | null = null;

  private constructor(
    readonly id: string,
    private readonly session: ClientHttp2Session,
    private readonly stream: ClientHttp2Stream,
  ) {}

  /** Connects and says hello; resolves once skiffd accepted the stream. */
  static connect(opts: SimProxyOptions): Promise<SimProxy> {
    return new Promise((resolve, reject) => {
      // The window `skiff proxy` asks for, so a large snapshot arrives as it would to a real proxy.
      const session = http2.connect(opts.url, { settings: { initialWindowSize: WINDOW } });
      session.on('error', reject);
      session.on('connect', () => session.setLocalWindowSize(WINDOW));
      const stream = session.request({ ':method': 'POST', ':path': STREAM_PATH, 'content-type': CONTENT_TYPE }, { endStream: false });
      const sim = new SimProxy(opts.node.id, session, stream);
      stream.setEncoding('utf8');
      stream.on('error', () => {});
      stream.on('response', (headers) => {
        if (headers[':status'] !== 200) {
          reject(new Error(`${opts.node.id}: the push server answered ${String(headers[':status'])}`));
          session.destroy();
          return;
        }
        session.removeListener('error', reject);
        session.on('error', () => {});
        resolve(sim);
      });
      const lines = new LineSplitter((line) => sim.onLine(line, opts), Number.MAX_SAFE_INTEGER);
      stream.on('data', (chunk: string) => lines.push(chunk));
      stream.on('end', () => stream.close());
      stream.on('close', () => {
        sim.closedReason ??= 'stream closed';
        session.close();
        sim.wake();
      });
      stream.write(
        encodeLine({
          type: 'hello',
          node: opts.node,
          ...(opts.adminUrl !== undefined ? { adminUrl: opts.adminUrl } : {}),
          ...(opts.deltas !== false ? { features: [DELTA_FEATURE] } : {}),
        }),
      );
    });
  }

  /** The last snapshot received, or null. */
  get last(): SimSnapshot | null {
    return this.received.at(-1) ?? null;
  }

  /** Resolves once `check` holds (re-checked on every message), or rejects after `timeoutMs`. */
  waitFor(check: (sim: SimProxy) => boolean, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.id}: timed out waiting (last version ${this.last?.version ?? 'none'})`)), timeoutMs);
      const test = (): void => {
        if (check(this)) {
          clearTimeout(timer);
          resolve();
        } else if (this.closedReason !== null) {
          clearTimeout(timer);
          reject(new Error(`${this.id}: stream closed (${this.closedReason}) while waiting`));
        } else {
          this.waiters.push(test);
        }
      };
      test();
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.session.destroyed) return resolve();
      this.session.once('close', () => resolve());
      this.stream.close();
      this.session.close();
    });
  }

  private onLine(line: string, opts: SimProxyOptions): void {
    const receivedAt = Date.now();
    let snap: SimSnapshot;
    const head = opts.parse === true ? null : ENVELOPE.exec(line.slice(0, 512));
    if (head !== null) {
      snap = { version: JSON.parse(head[2]) as string, nonce: JSON.parse(head[3]) as string, size: line.length, receivedAt, delta: head[1] === 'delta' };
    } else {
      const message = parseServerMessage(line);
      if (message.type === 'error') {
        this.closedReason = message.reason;
        return;
      }
      // Simulated proxies ask for no certificates, so none are answered to them.
      if (message.type === 'certificate' || message.type === 'certificate-refused') return;
      snap = { version: message.version, nonce: message.nonce, size: line.length, receivedAt, delta: message.type === 'delta' };
      if (opts.parse === true) {
        let full: unknown;
        if (message.type === 'snapshot') full = message.snapshot;
        else if (this.current?.version === message.base) {
          try {
            full = applyDelta(this.current.snapshot, message.delta, message.version);
          } catch (err) {
            if (!(err instanceof DeltaError)) throw err;
            this.nack(snap, { path: err.path, reason: err.reason });
            return;
          }
        } else {
          this.nack(snap, { path: 'base', reason: `delta against ${message.base}, this proxy holds ${this.current?.version ?? 'nothing'}` });
          return;
        }
        snap.snapshot = full;
      }
    }
    this.received.push(snap);
    opts.onSnapshot?.(snap);
    const refusal = opts.judge?.(snap) ?? null;
    if (refusal === 'ignore') {
      // no answer: the server keeps this send STALE
    } else if (refusal === null) {
      this.stream.write(encodeLine({ type: 'ack', version: snap.version, nonce: snap.nonce }));
      this.lastAck = { version: snap.version, at: Date.now() };
      if (snap.snapshot !== undefined) this.current = { version: snap.version, snapshot: snap.snapshot as Record<string, unknown> };
    } else {
      this.stream.write(encodeLine({ type: 'nack', version: snap.version, nonce: snap.nonce, error: refusal }));
    }
    this.wake();
  }

  /** Refuses a delta that does not apply; recorded like any message received. */
  private nack(snap: SimSnapshot, error: NackError): void {
    this.received.push(snap);
    this.stream.write(encodeLine({ type: 'nack', version: snap.version, nonce: snap.nonce, error }));
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

export interface SimFleetOptions extends Omit<SimProxyOptions, 'node'> {
  /** Node of the i-th proxy; default a sidecar `sim-<i>.default`. */
  node?: (i: number) => NodeConfig;
  /** Connections opened at a time. Default 100. */
  connectConcurrency?: number;
}

/** Connects `count` simulated proxies (a bounded number at a time). */
export async function connectSimFleet(count: number, opts: SimFleetOptions): Promise<SimProxy[]> {
  const nodeOf = opts.node ?? ((i: number): NodeConfig => ({ id: `sim-${i}.default`, kind: 'sidecar' }));
  const out: SimProxy[] = new Array<SimProxy>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      out[i] = await SimProxy.connect({ ...opts, node: nodeOf(i) });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(count, opts.connectConcurrency ?? 100) }, worker));
  } catch (err) {
    await Promise.all(out.filter((s) => s !== undefined).map((s) => s.close()));
    throw err;
  }
  return out;
}

/**
 * Waits until every proxy satisfies `check` (e.g. acknowledged a version of a new push) and
 * returns the time of the latest ACK among them, in ms since the epoch.
 */
export async function waitForFleet(sims: SimProxy[], check: (sim: SimProxy) => boolean, timeoutMs = 30_000): Promise<number> {
  await Promise.all(sims.map((s) => s.waitFor(check, timeoutMs)));
  return Math.max(...sims.map((s) => s.lastAck?.at ?? 0));
}
