/**
 * The load generator behind `fortio load`: N connections (workers) each sending its share of
 * the calls, paced to a total QPS (0 = as fast as possible), each worker keeping its own
 * keep-alive connection as fortio does, so connection-pool limits in the mesh show up as 503s.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { HttpCallError, httpCall } from '../../lib/http-client.js';

export interface LoadOptions {
  url: string;
  connections: number;
  /** Total queries per second across all connections; 0 or less means no pacing. */
  qps: number;
  /** Exact number of calls, or undefined to run for `durationMs`. */
  calls?: number;
  durationMs: number;
  timeoutMs: number;
  keepAlive: boolean;
  headers: Record<string, string>;
  payload?: string;
  /** Called for each non-2xx or failed call (for warnings). */
  onError?: (code: number, detail: string) => void;
}

export interface CallRecord {
  /** HTTP status, or -1 when no response came back. */
  code: number;
  seconds: number;
}

export interface LoadResult {
  records: CallRecord[];
  elapsedMs: number;
  sockets: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const records: CallRecord[] = [];
  const sockets = new WeakSet<Socket>();
  let socketCount = 0;
  const start = performance.now();
  const perWorker = opts.calls === undefined ? undefined : Math.floor(opts.calls / opts.connections);
  const remainder = opts.calls === undefined ? 0 : opts.calls % opts.connections;
  const intervalMs = opts.qps > 0 ? (1000 * opts.connections) / opts.qps : 0;

  const worker = async (index: number): Promise<void> => {
    const agent = opts.keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
    const quota = perWorker === undefined ? Infinity : perWorker + (index < remainder ? 1 : 0);
    const workerStart = performance.now();
    try {
      for (let n = 0; n < quota; n++) {
        if (perWorker === undefined && performance.now() - start >= opts.durationMs) break;
        if (intervalMs > 0) {
          const due = workerStart + n * intervalMs;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
        }
        const t0 = performance.now();
        let code: number;
        try {
          const res = await httpCall(opts.url, {
            method: opts.payload === undefined ? 'GET' : 'POST',
            headers: { 'user-agent': 'fortio.org/fortio-compatible', ...opts.headers },
            body: opts.payload,
            timeoutMs: opts.timeoutMs,
            agent,
            onSocket: (s) => {
              if (!sockets.has(s)) {
                sockets.add(s);
                socketCount++;
              }
            },
          });
          code = res.status;
          if (code < 200 || code >= 300) opts.onError?.(code, `Non ok http code ${code}`);
        } catch (err) {
          if (!(err instanceof HttpCallError)) throw err;
          code = -1;
          opts.onError?.(-1, err.message);
        }
        records.push({ code, seconds: (performance.now() - t0) / 1000 });
      }
    } finally {
      agent?.destroy();
    }
  };

  await Promise.all(Array.from({ length: opts.connections }, (_, i) => worker(i)));
  return { records, elapsedMs: performance.now() - start, sockets: socketCount };
}
