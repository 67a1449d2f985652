/**
 * A simulated proxy: speaks the push protocol (hello, then ACK or NACK per snapshot) without a
 * data plane, so tests and the control-plane benchmark can connect hundreds or thousands of them
 * to one skiffd from a single process.
 */
import http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import type { NodeConfig } from '../../proxy/snapshot.js';
import { CONTENT_TYPE, LineSplitter, STREAM_PATH, encodeLine, parseServerMessage } from './protocol.js';
import type { NackError } from './protocol.js';

export interface SimSnapshot {
  version: string;
  nonce: string;
  /** Characters of the whole message line. */
  size: number;
  receivedAt: number;
  /** The parsed snapshot, only with `parse: true`. */
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
  /** A reason to NACK this snapshot, null to ACK it, or `ignore` to leave it unanswered. Default: ACK everything. */
  judge?: (snapshot: SimSnapshot) => NackError | null | 'ignore';
  onSnapshot?: (snapshot: SimSnapshot) => void;
}

/** The envelope the push server writes first on every snapshot line. */
const ENVELOPE = /^\{"type":"snapshot","version":("(?:[^"\\]|\\.)*"),"nonce":("(?:[^"\\]|\\.)*"),/;

export class SimProxy {
  /** Every snapshot received, oldest first. */
  readonly received: SimSnapshot[] = [];
  /** Version and time of the last ACK sent. */
  lastAck: { version: string; at: number } | null = null;
  /** Set when the stream ended; with the reason. */
  closedReason: string | null = null;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly id: string,
    private readonly session: ClientHttp2Session,
    private readonly stream: ClientHttp2Stream,
  ) {}

  /** Connects and says hello; resolves once skiffd accepted the stream. */
  static connect(opts: SimProxyOptions): Promise<SimProxy> {
    return new Promise((resolve, reject) => {
      const session = http2.connect(opts.url);
      session.on('error', reject);
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
      stream.write(encodeLine({ type: 'hello', node: opts.node, ...(opts.adminUrl !== undefined ? { adminUrl: opts.adminUrl } : {}) }));
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
      snap = { version: JSON.parse(head[1]) as string, nonce: JSON.parse(head[2]) as string, size: line.length, receivedAt };
    } else {
      const message = parseServerMessage(line);
      if (message.type === 'error') {
        this.closedReason = message.reason;
        return;
      }
      snap = { version: message.version, nonce: message.nonce, size: line.length, receivedAt, ...(opts.parse === true ? { snapshot: message.snapshot } : {}) };
    }
    this.received.push(snap);
    opts.onSnapshot?.(snap);
    const refusal = opts.judge?.(snap) ?? null;
    if (refusal === 'ignore') {
      // no answer: the server keeps this send STALE
    } else if (refusal === null) {
      this.stream.write(encodeLine({ type: 'ack', version: snap.version, nonce: snap.nonce }));
      this.lastAck = { version: snap.version, at: Date.now() };
    } else {
      this.stream.write(encodeLine({ type: 'nack', version: snap.version, nonce: snap.nonce, error: refusal }));
    }
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
