/**
 * A steady request load for watching a mesh while its config changes: a few keep-alive
 * connections, each sending GETs one after another at a fixed pace (an open schedule, as fortio
 * paces), every answer recorded with when it was sent, its status and which version served it.
 * Runs in the test process (through the ingress gateway) or as `fixtures/steady-client.ts`
 * under `skiff exec` (through the workload's sidecar, from HTTP_PROXY).
 */
import http from 'node:http';
import { HttpCallError, httpCall } from '../../samples/lib/http-client.js';

export interface LoadRecord {
  /** When the request was sent (ms since the epoch). */
  sentAt: number;
  /** HTTP status; 0 when no response came back. */
  status: number;
  /** Which version served it (e.g. `v1`), when the body names one. */
  version?: string;
  /** What went wrong: a transport error, a non-200 status, or a problem the body reports. */
  problem?: string;
}

export interface SteadyLoadOptions {
  url: string;
  /** Requests per second, across all connections. */
  rps: number;
  /** Keep-alive connections, each sending its share in turn (default 4). */
  connections?: number;
  /** Through this forward proxy; absent: HTTP_PROXY of the environment; null: directly. */
  proxy?: URL | null;
  /** Per-request limit (default 10 s). */
  timeoutMs?: number;
  /** Called with every record as it completes. */
  onRecord?: (r: LoadRecord) => void;
  /** What a 200 answer's body says (default: a Bookinfo reviews answer, `reviewsOutcome`). */
  outcome?: (body: string) => { version?: string; problem?: string };
}

/**
 * What a Bookinfo reviews answer says: the version from its `podname` (`reviews-v2-...`) and,
 * when it carries ratings, whether they could be fetched (a failed hop behind reviews still
 * answers 200, with an error in place of the stars).
 */
export function reviewsOutcome(body: string): { version?: string; problem?: string } {
  let parsed: { podname?: unknown; reviews?: Array<{ rating?: { error?: unknown } }> };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return { problem: `not JSON: ${body.slice(0, 120)}` };
  }
  const version = typeof parsed.podname === 'string' ? /-(v\d+)-/.exec(parsed.podname)?.[1] : undefined;
  if (version === undefined) return { problem: `no version in podname ${JSON.stringify(parsed.podname)}` };
  const ratingError = (parsed.reviews ?? []).map((r) => r.rating?.error).find((e) => e !== undefined);
  return ratingError !== undefined ? { version, problem: `ratings: ${JSON.stringify(ratingError)}` } : { version };
}

export class SteadyLoad {
  readonly records: LoadRecord[] = [];
  private running = true;
  private readonly agents: http.Agent[] = [];
  private readonly done: Promise<void>;

  constructor(private readonly opts: SteadyLoadOptions) {
    const connections = opts.connections ?? 4;
    const intervalMs = (1000 * connections) / opts.rps;
    this.done = Promise.all(Array.from({ length: connections }, (_, i) => this.worker(intervalMs, (i * intervalMs) / connections))).then(() => undefined);
  }

  /** Stops sending, waits for the answers still due and closes the connections. */
  async stop(): Promise<LoadRecord[]> {
    this.running = false;
    await this.done;
    for (const a of this.agents) a.destroy();
    return this.records;
  }

  private async worker(intervalMs: number, offsetMs: number): Promise<void> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.agents.push(agent);
    const start = performance.now() + offsetMs;
    for (let n = 0; this.running; n++) {
      const wait = start + n * intervalMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!this.running) break;
      const record = await this.once(agent);
      this.records.push(record);
      this.opts.onRecord?.(record);
    }
  }

  private async once(agent: http.Agent): Promise<LoadRecord> {
    const sentAt = Date.now();
    try {
      const res = await httpCall(this.opts.url, {
        agent,
        timeoutMs: this.opts.timeoutMs ?? 10_000,
        ...(this.opts.proxy !== undefined ? { proxy: this.opts.proxy } : {}),
      });
      const body = res.body.toString('utf8');
      if (res.status !== 200) return { sentAt, status: res.status, problem: `HTTP ${res.status}: ${body.slice(0, 160)}` };
      return { sentAt, status: res.status, ...(this.opts.outcome ?? reviewsOutcome)(body) };
    } catch (err) {
      if (!(err instanceof HttpCallError)) throw err;
      return { sentAt, status: 0, problem: `${err.kind}: ${err.message}` };
    }
  }
}

/** Records sent at or after `from` (and before `to`). */
export function sentBetween(records: readonly LoadRecord[], from: number, to = Infinity): LoadRecord[] {
  return records.filter((r) => r.sentAt >= from && r.sentAt < to);
}

/** `{v1: 120, v2: 98}`: how many answers each version gave. */
export function versionCounts(records: readonly LoadRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) if (r.version !== undefined) out[r.version] = (out[r.version] ?? 0) + 1;
  return out;
}

/** The first failed requests (non-200, no response, or a problem in the body), described for a test failure. */
export function failures(path: string, records: readonly LoadRecord[], limit = 10): string[] {
  const failed = records.filter((r) => r.status !== 200 || r.problem !== undefined);
  const shown = failed.slice(0, limit).map((r) => `${path} at ${new Date(r.sentAt).toISOString()}: ${r.problem ?? `HTTP ${r.status}`}`);
  return failed.length > limit ? [...shown, `${path}: ${failed.length - limit} more`] : shown;
}
