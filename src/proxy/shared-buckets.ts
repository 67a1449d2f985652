/**
 * `skiff proxy --concurrency N`: the local rate limit's token buckets are the primary process's,
 * and every worker asks it for tokens over the cluster IPC channel, so the workers share one
 * bucket per limit as Envoy's worker threads share theirs — four tokens a minute admit four
 * requests a minute whichever workers serve them. (Splitting each bucket among the workers would
 * need no IPC, but a worker would refuse while another still had tokens, and a limit smaller
 * than the worker count could not be split at all.)
 *
 * The asks a worker makes in one turn of its event loop travel as one message and come back as
 * one; a request limited locally waits that round trip (tens of microseconds) before going on.
 * If the primary does not answer within a second, or the channel is gone, the tokens are granted:
 * the limit fails open rather than stalling traffic.
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import type { TokenBucket } from '../snapshot/index.js';
import { LocalTokenBuckets, type TokenBuckets } from './filters/local-ratelimit/token-bucket.js';

const ANSWER_TIMEOUT_MS = 1000;

/** Worker → primary: take one token from each bucket. */
interface TakeMessage {
  skiff: 'buckets-take';
  seq: number;
  asks: [key: string, bucket: TokenBucket][];
}
/** Primary → worker: whether each ask got its token. */
interface TakenMessage {
  skiff: 'buckets-taken';
  seq: number;
  granted: boolean[];
}

function isTake(m: unknown): m is TakeMessage {
  return typeof m === 'object' && m !== null && (m as { skiff?: unknown }).skiff === 'buckets-take' && Array.isArray((m as { asks?: unknown }).asks);
}

function isTaken(m: unknown): m is TakenMessage {
  return typeof m === 'object' && m !== null && (m as { skiff?: unknown }).skiff === 'buckets-taken' && Array.isArray((m as { granted?: unknown }).granted);
}

/** In the primary: keeps the buckets and answers every worker's asks. */
export function serveSharedBuckets(buckets: LocalTokenBuckets = new LocalTokenBuckets()): void {
  cluster.on('message', (from: Worker, m: unknown) => {
    if (!isTake(m) || !from.isConnected()) return;
    const reply: TakenMessage = { skiff: 'buckets-taken', seq: m.seq, granted: m.asks.map(([key, bucket]) => buckets.take(key, bucket)) };
    from.send(reply);
  });
}

/** In a worker: the primary's buckets. */
export class WorkerTokenBuckets implements TokenBuckets {
  private seq = 0;
  private batch: { asks: [string, TokenBucket][]; answers: ((granted: boolean) => void)[] } | null = null;
  private readonly waiting = new Map<number, { answers: ((granted: boolean) => void)[]; timer: NodeJS.Timeout }>();

  constructor() {
    process.on('message', (m: unknown) => {
      if (!isTaken(m)) return;
      const w = this.waiting.get(m.seq);
      if (w === undefined) return;
      this.waiting.delete(m.seq);
      clearTimeout(w.timer);
      w.answers.forEach((answer, i) => answer(m.granted[i] !== false));
    });
  }

  take(key: string, bucket: TokenBucket): Promise<boolean> {
    if (process.send === undefined || !process.connected) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      if (this.batch === null) {
        this.batch = { asks: [], answers: [] };
        queueMicrotask(() => this.flush());
      }
      this.batch.asks.push([key, bucket]);
      this.batch.answers.push(resolve);
    });
  }

  private flush(): void {
    const batch = this.batch;
    this.batch = null;
    if (batch === null) return;
    const seq = ++this.seq;
    const grantAll = (): void => {
      this.waiting.delete(seq);
      for (const a of batch.answers) a(true);
    };
    if (process.send === undefined || !process.connected) return grantAll();
    const timer = setTimeout(grantAll, ANSWER_TIMEOUT_MS);
    timer.unref();
    this.waiting.set(seq, { answers: batch.answers, timer });
    const msg: TakeMessage = { skiff: 'buckets-take', seq, asks: batch.asks };
    process.send(msg, undefined, undefined, (err: Error | null) => {
      if (err !== null) {
        clearTimeout(timer);
        grantAll();
      }
    });
  }
}
