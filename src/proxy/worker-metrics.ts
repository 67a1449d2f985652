/**
 * `skiff proxy --concurrency N`: every worker counts the requests it serves, and the first worker
 * serves the metrics and admin ports. So that a scrape or `/stats` sees the whole proxy, the first
 * worker asks the primary for the other workers' figures over the cluster IPC channel — their
 * Istio metrics (`MetricsDump`) or their Envoy stats — and combines them with its own, as Envoy
 * sums its worker threads' stats.
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import type { MetricsDump } from '../telemetry/metrics/istio-metrics.js';

/** How long a gather waits for the other workers; a worker that does not answer is left out. */
const GATHER_TIMEOUT_MS = 1000;

/** What a worker can be asked for: its Istio metrics, or its Envoy stats as `[name, value]` pairs. */
interface Figures {
  metrics: MetricsDump;
  stats: Array<[string, number]>;
}
type Kind = keyof Figures;
const KINDS: readonly Kind[] = ['metrics', 'stats'];

/** First worker → primary: send me the others' figures. */
interface GatherMessage {
  skiff: 'metrics-gather';
  seq: number;
  /** Absent from workers of earlier versions: metrics. */
  what?: Kind;
}
/** Primary → other workers. */
interface CollectMessage {
  skiff: 'metrics-collect';
  seq: number;
  what?: Kind;
}
/** Other worker → primary. */
interface PartMessage {
  skiff: 'metrics-part';
  seq: number;
  dump: unknown;
}
/** Primary → first worker. */
interface GatheredMessage {
  skiff: 'metrics-gathered';
  seq: number;
  dumps: unknown[];
}

function isMessage<T extends { skiff: string; seq: number }>(m: unknown, kind: T['skiff']): m is T {
  return typeof m === 'object' && m !== null && (m as { skiff?: unknown }).skiff === kind && typeof (m as { seq?: unknown }).seq === 'number';
}

function kindOf(m: { what?: unknown }): Kind | undefined {
  if (m.what === undefined) return 'metrics';
  return KINDS.find((k) => k === m.what);
}

/** In the primary: answers a worker's gather request with every other worker's figures. */
export function relayWorkerMetrics(): void {
  let next = 0;
  const open = new Map<number, { parts: unknown[]; left: number; finish: () => void }>();
  cluster.on('message', (from: Worker, m: unknown) => {
    if (isMessage<PartMessage>(m, 'metrics-part')) {
      const g = open.get(m.seq);
      if (g === undefined) return;
      g.parts.push(m.dump);
      if (--g.left === 0) g.finish();
      return;
    }
    if (!isMessage<GatherMessage>(m, 'metrics-gather')) return;
    const what = kindOf(m);
    if (what === undefined) return;
    const others = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w !== from && w.isConnected());
    const seq = ++next;
    const parts: unknown[] = [];
    const finish = (): void => {
      if (!open.delete(seq)) return;
      clearTimeout(timer);
      const reply: GatheredMessage = { skiff: 'metrics-gathered', seq: m.seq, dumps: parts };
      if (from.isConnected()) from.send(reply);
    };
    const timer = setTimeout(finish, GATHER_TIMEOUT_MS);
    open.set(seq, { parts, left: others.length, finish });
    if (others.length === 0) finish();
    const ask: CollectMessage = { skiff: 'metrics-collect', seq, what };
    for (const w of others) w.send(ask);
  });
}

const answerers: { [K in Kind]?: () => Figures[K] } = {};
let answering = false;

function answerWith<K extends Kind>(what: K, dump: () => Figures[K]): void {
  (answerers as Record<K, () => Figures[K]>)[what] = dump;
  if (answering) return;
  answering = true;
  process.on('message', (m: unknown) => {
    if (!isMessage<CollectMessage>(m, 'metrics-collect') || process.send === undefined || !process.connected) return;
    const what = kindOf(m);
    const figures = what === undefined ? undefined : answerers[what];
    if (figures === undefined) return;
    const part: PartMessage = { skiff: 'metrics-part', seq: m.seq, dump: figures() };
    process.send(part);
  });
}

/** In every worker: hands this worker's Istio metrics to the primary when asked. */
export function answerMetricsRequests(dump: () => MetricsDump): void {
  answerWith('metrics', dump);
}

/** In every worker: hands this worker's Envoy stats to the primary when asked. */
export function answerStatsRequests(stats: () => ReadonlyMap<string, number>): void {
  answerWith('stats', () => [...stats()]);
}

let gatherSeq = 0;
const gathering = new Map<number, (dumps: unknown[]) => void>();
let listening = false;

/** In the first worker: the other workers' figures of one kind (none when alone or when the primary is gone). */
function gather(what: Kind): Promise<unknown[]> {
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
    const ask: GatherMessage = { skiff: 'metrics-gather', seq, what };
    process.send!(ask);
  });
}

/** In the worker serving metrics: the other workers' dumps. */
export async function otherWorkersMetrics(): Promise<MetricsDump[]> {
  return (await gather('metrics')) as MetricsDump[];
}

/** In the worker serving admin: the other workers' stats. */
export async function otherWorkersStats(): Promise<Array<ReadonlyMap<string, number>>> {
  const parts = await gather('stats');
  return parts.filter((p): p is Array<[string, number]> => Array.isArray(p)).map((p) => new Map(p));
}
