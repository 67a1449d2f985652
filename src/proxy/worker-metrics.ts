/**
 * `skiff proxy --concurrency N`: every worker counts the requests it serves, and the first worker
 * serves the metrics port. So that a scrape sees the whole proxy, the first worker asks the
 * primary for the other workers' figures (`MetricsDump`) over the cluster IPC channel and sums
 * them with its own, by label set, as Envoy sums its worker threads' stats.
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import type { MetricsDump } from '../telemetry/metrics/istio-metrics.js';

/** How long a scrape waits for the other workers; a worker that does not answer is left out. */
const GATHER_TIMEOUT_MS = 1000;

/** First worker → primary: send me the others' figures. */
interface GatherMessage {
  skiff: 'metrics-gather';
  seq: number;
}
/** Primary → other workers. */
interface CollectMessage {
  skiff: 'metrics-collect';
  seq: number;
}
/** Other worker → primary. */
interface PartMessage {
  skiff: 'metrics-part';
  seq: number;
  dump: MetricsDump;
}
/** Primary → first worker. */
interface GatheredMessage {
  skiff: 'metrics-gathered';
  seq: number;
  dumps: MetricsDump[];
}

function isMessage<T extends { skiff: string; seq: number }>(m: unknown, kind: T['skiff']): m is T {
  return typeof m === 'object' && m !== null && (m as { skiff?: unknown }).skiff === kind && typeof (m as { seq?: unknown }).seq === 'number';
}

/** In the primary: answers a worker's gather request with every other worker's dump. */
export function relayWorkerMetrics(): void {
  let next = 0;
  const open = new Map<number, { parts: MetricsDump[]; left: number; finish: () => void }>();
  cluster.on('message', (from: Worker, m: unknown) => {
    if (isMessage<PartMessage>(m, 'metrics-part')) {
      const g = open.get(m.seq);
      if (g === undefined) return;
      g.parts.push(m.dump);
      if (--g.left === 0) g.finish();
      return;
    }
    if (!isMessage<GatherMessage>(m, 'metrics-gather')) return;
    const others = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w !== from && w.isConnected());
    const seq = ++next;
    const parts: MetricsDump[] = [];
    const finish = (): void => {
      if (!open.delete(seq)) return;
      clearTimeout(timer);
      const reply: GatheredMessage = { skiff: 'metrics-gathered', seq: m.seq, dumps: parts };
      if (from.isConnected()) from.send(reply);
    };
    const timer = setTimeout(finish, GATHER_TIMEOUT_MS);
    open.set(seq, { parts, left: others.length, finish });
    if (others.length === 0) finish();
    const ask: CollectMessage = { skiff: 'metrics-collect', seq };
    for (const w of others) w.send(ask);
  });
}

/** In every worker: hands this worker's figures to the primary when asked. */
export function answerMetricsRequests(dump: () => MetricsDump): void {
  process.on('message', (m: unknown) => {
    if (!isMessage<CollectMessage>(m, 'metrics-collect') || process.send === undefined || !process.connected) return;
    const part: PartMessage = { skiff: 'metrics-part', seq: m.seq, dump: dump() };
    process.send(part);
  });
}

let gatherSeq = 0;
const gathering = new Map<number, (dumps: MetricsDump[]) => void>();
let listening = false;

/** In the worker serving metrics: the other workers' dumps (none when alone or when the primary is gone). */
export function otherWorkersMetrics(): Promise<MetricsDump[]> {
  if (!cluster.isWorker || process.send === undefined || !process.connected) return Promise.resolve([]);
  if (!listening) {
    listening = true;
    process.on('message', (m: unknown) => {
      if (!isMessage<GatheredMessage>(m, 'metrics-gathered')) return;
      const resolve = gathering.get(m.seq);
      gathering.delete(m.seq);
      resolve?.(Array.isArray(m.dumps) ? m.dumps : []);
    });
  }
  const seq = ++gatherSeq;
  return new Promise((resolve) => {
    // The primary answers within its own timeout; this one only guards against it being gone.
    const timer = setTimeout(() => {
      gathering.delete(seq);
      resolve([]);
    }, 2 * GATHER_TIMEOUT_MS);
    gathering.set(seq, (dumps) => {
      clearTimeout(timer);
      resolve(dumps);
    });
    const ask: GatherMessage = { skiff: 'metrics-gather', seq };
    process.send!(ask);
  });
}
