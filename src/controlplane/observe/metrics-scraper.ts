/**
 * Reads every connected proxy's standard metrics on an interval (and on demand, when figures are
 * asked for and the last reading is stale) from the JSON form of its metrics port
 * (`/stats/istio` beside `/stats/prometheus`), keeping each proxy's history for the longest window.
 */
import { METRICS_DUMP_PATH, PROMETHEUS_PATH } from '../../telemetry/metrics/server.js';
import type { ProxyStatus } from '../push/types.js';
import { ProxyHistory, readingOf } from './metrics-history.js';
import type { WindowTotals } from './metrics-history.js';

export interface MetricsScraperOptions {
  /** The proxies connected now. */
  proxies: () => readonly ProxyStatus[];
  /** Default 5000 ms. */
  intervalMs?: number;
  /** The longest window figures are asked for; history beyond it is dropped. Default 600 s. */
  maxWindowSeconds?: number;
  /** Per-request timeout. Default 2000 ms. */
  timeoutMs?: number;
  now?: () => number;
  fetchDump?: (url: string, timeoutMs: number) => Promise<unknown>;
  log?: (line: string) => void;
}

/** The JSON dump URL beside a proxy's announced Prometheus URL. */
export function dumpUrlOf(metricsUrl: string): string {
  const url = new URL(metricsUrl);
  url.pathname = url.pathname.endsWith(PROMETHEUS_PATH) ? url.pathname.slice(0, -PROMETHEUS_PATH.length) + METRICS_DUMP_PATH : METRICS_DUMP_PATH;
  url.search = '';
  return url.toString();
}

async function fetchJson(url: string, timeoutMs: number): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) {
    await res.arrayBuffer();
    throw new Error(`${url} answered ${res.status}`);
  }
  return res.json();
}

export class MetricsScraper {
  /** By `<proxy id> <metrics URL>`: a restarted proxy (new port) starts a new history. */
  private readonly histories = new Map<string, ProxyHistory>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastStarted = 0;
  private readonly intervalMs: number;
  private readonly keepMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly fetchDump: (url: string, timeoutMs: number) => Promise<unknown>;
  /** Failed reads by proxy id, with the reason, until the next good one. */
  readonly failures = new Map<string, string>();

  constructor(private readonly opts: MetricsScraperOptions) {
    this.intervalMs = opts.intervalMs ?? 5000;
    this.keepMs = (opts.maxWindowSeconds ?? 600) * 1000 + this.intervalMs;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.now = opts.now ?? Date.now;
    this.fetchDump = opts.fetchDump ?? fetchJson;
  }

  get maxWindowSeconds(): number {
    return this.opts.maxWindowSeconds ?? 600;
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.scrape(), this.intervalMs);
    this.timer.unref();
    void this.scrape();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Reads every proxy now (joining a read in progress). */
  scrape(): Promise<void> {
    if (this.running !== null) return this.running;
    this.lastStarted = this.now();
    const run = this.readAll().finally(() => {
      this.running = null;
    });
    this.running = run;
    return run;
  }

  /** Reads now unless the last read started less than `maxAgeMs` ago. */
  async refresh(maxAgeMs: number): Promise<void> {
    if (this.running !== null) return this.running;
    if (this.now() - this.lastStarted < maxAgeMs) return;
    await this.scrape();
  }

  private async readAll(): Promise<void> {
    const proxies = this.opts.proxies().filter((p) => p.metricsUrl !== undefined);
    const live = new Set<string>();
    await Promise.all(
      proxies.map(async (p) => {
        const key = `${p.id} ${p.metricsUrl!}`;
        live.add(key);
        try {
          const dump = await this.fetchDump(dumpUrlOf(p.metricsUrl!), this.timeoutMs);
          let h = this.histories.get(key);
          if (h === undefined) this.histories.set(key, (h = new ProxyHistory(p.connectedAt)));
          h.add(readingOf(dump, this.now()), this.keepMs);
          this.failures.delete(p.id);
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          if (!this.failures.has(p.id)) this.opts.log?.(`skiffd: cannot read the metrics of proxy ${p.id}: ${why}`);
          this.failures.set(p.id, why);
        }
      }),
    );
    // A proxy that left keeps counting in windows that reach back to it, then is forgotten.
    const cutoff = this.now() - this.keepMs;
    for (const [key, h] of this.histories) {
      if (!live.has(key) && (h.newest?.at ?? 0) < cutoff) this.histories.delete(key);
    }
  }

  /** Differences over the last `windowSeconds`, summed over every proxy. */
  window(windowSeconds: number): WindowTotals {
    const totals: WindowTotals = { http: new Map(), tcp: new Map(), newest: 0 };
    const ms = Math.min(windowSeconds, this.maxWindowSeconds) * 1000;
    const now = this.now();
    for (const h of this.histories.values()) h.addWindow(ms, now, totals);
    return totals;
  }
}
