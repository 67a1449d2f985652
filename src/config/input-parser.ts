/**
 * Reading apply and delete input off the caller's event loop: a worker thread parses and
 * validates, so a megabyte of YAML costs skiffd's API, push server and proxies' streams nothing
 * but the wait of the one request that sent it. The worker also bounds what an input may cost
 * beyond the limits checked before parsing (`input-limits.ts`): a heap of its own (an input that
 * would exhaust it ends the worker, not skiffd) and a time limit (a parse still running then is
 * stopped). Requests are answered one at a time, in order; the worker starts on first use and
 * ends after a while without work.
 */
import { Worker } from 'node:worker_threads';
import type { ApplyInput, DeleteInput, InputText } from './store-input.js';

/** Main thread → worker. */
export interface ParseRequest {
  id: number;
  op: 'apply' | 'delete';
  inputs: InputText[];
  defaultNamespace?: string;
}

/** Worker → main thread. */
export type ParseReply = { id: number; ok: true; result: ApplyInput | DeleteInput } | { id: number; ok: false; error: string };

/** How apply and delete read their input: in place (the CLI) or through an `InputParser` (skiffd). */
export interface InputParsing {
  forApply(inputs: readonly InputText[], defaultNamespace?: string): ApplyInput | Promise<ApplyInput>;
  forDelete(inputs: readonly InputText[], defaultNamespace?: string): DeleteInput | Promise<DeleteInput>;
}

/** An input refused for what parsing it would cost (memory, time): the message names the limit. */
export class InputCostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputCostError';
  }
}

export interface InputParserOptions {
  /** The worker's heap (old generation), MB. Default 512. */
  maxHeapMb?: number;
  /** Longest one request may take, ms. Default 30 s. */
  timeoutMs?: number;
  /** The worker ends after this long without work, ms. Default 30 s. */
  idleMs?: number;
}

interface Pending {
  req: ParseRequest;
  resolve: (result: ApplyInput | DeleteInput) => void;
  reject: (err: Error) => void;
}

export class InputParser implements InputParsing {
  private worker: Worker | undefined;
  private readonly queue: Pending[] = [];
  private current: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private closed = false;
  private readonly maxHeapMb: number;
  private readonly timeoutMs: number;
  private readonly idleMs: number;

  constructor(opts: InputParserOptions = {}) {
    this.maxHeapMb = opts.maxHeapMb ?? 512;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.idleMs = opts.idleMs ?? 30_000;
  }

  forApply(inputs: readonly InputText[], defaultNamespace?: string): Promise<ApplyInput> {
    return this.request('apply', inputs, defaultNamespace) as Promise<ApplyInput>;
  }

  forDelete(inputs: readonly InputText[], defaultNamespace?: string): Promise<DeleteInput> {
    return this.request('delete', inputs, defaultNamespace) as Promise<DeleteInput>;
  }

  /** Ends the worker; requests not yet answered are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const gone = new Error('the input parser was closed');
    for (const p of this.queue.splice(0)) p.reject(gone);
    this.current?.reject(gone);
    this.current = undefined;
    await this.stopWorker();
  }

  private request(op: ParseRequest['op'], inputs: readonly InputText[], defaultNamespace: string | undefined): Promise<ApplyInput | DeleteInput> {
    if (this.closed) return Promise.reject(new Error('the input parser was closed'));
    return new Promise((resolve, reject) => {
      const req: ParseRequest = { id: this.nextId++, op, inputs: [...inputs], ...(defaultNamespace !== undefined ? { defaultNamespace } : {}) };
      this.queue.push({ req, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.current !== undefined || this.closed) return;
    const p = this.queue.shift();
    if (p === undefined) {
      this.idleTimer = setTimeout(() => void this.stopWorker(), this.idleMs);
      this.idleTimer.unref();
      return;
    }
    clearTimeout(this.idleTimer);
    this.current = p;
    const worker = this.ensureWorker();
    this.timer = setTimeout(() => {
      this.dropWorker(worker);
      this.fail(new InputCostError(`parsing the input took longer than ${this.timeoutMs / 1000} s, the limit of one request; it was stopped`));
    }, this.timeoutMs);
    worker.postMessage(p.req);
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(new URL('./parse-worker.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb, maxYoungGenerationSizeMb: 32 },
    });
    worker.unref();
    worker.on('message', (reply: ParseReply) => {
      const p = this.current;
      if (p === undefined || reply.id !== p.req.id) return;
      clearTimeout(this.timer);
      this.current = undefined;
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new Error(reply.error));
      this.next();
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (this.worker !== worker) return;
      this.dropWorker(worker);
      this.fail(
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new InputCostError(`parsing the input needed more than ${this.maxHeapMb} MB of memory, the limit of one request`)
          : new Error(`the input parser failed: ${err.message}`),
      );
    });
    worker.on('exit', () => {
      // A worker this parser let go of (idle, failed, stopped) is expected to exit.
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.fail(new Error('the input parser ended before answering'));
    });
    this.worker = worker;
    return worker;
  }

  /** Refuses the request in progress (its worker is gone) and goes on with the next, on a fresh worker. */
  private fail(err: Error): void {
    clearTimeout(this.timer);
    const p = this.current;
    this.current = undefined;
    p?.reject(err);
    this.next();
  }

  private dropWorker(worker: Worker): void {
    if (this.worker === worker) this.worker = undefined;
    void worker.terminate();
  }

  private async stopWorker(): Promise<void> {
    clearTimeout(this.idleTimer);
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) await w.terminate();
  }
}
