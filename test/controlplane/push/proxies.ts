/**
 * Proxies for the push tests: the proxy's own control client (src/proxy/control-client.ts), as
 * `skiff proxy` runs it, in front of a target that records each snapshot it is given and can
 * refuse one (the client NACKs it) or never finish applying it (the send stays unanswered).
 */
import { ControlClient } from '../../../src/proxy/control-client.js';
import type { SnapshotTarget } from '../../../src/proxy/control-client.js';
import { SnapshotError } from '../../../src/snapshot/index.js';
import type { ProxySnapshot } from '../../../src/snapshot/index.js';

/** What the target makes of a snapshot: take it (null), refuse it, or never answer. */
export type Verdict = null | { path: string; reason: string } | 'hold';

export interface Received {
  version: string;
  snapshot: ProxySnapshot;
  outcome: 'applied' | 'rejected' | 'held';
}

class RecordingTarget implements SnapshotTarget {
  readonly received: Received[] = [];
  constructor(
    private readonly judge: (snapshot: ProxySnapshot) => Verdict,
    private readonly changed: () => void,
  ) {}

  applySnapshot(input: unknown): Promise<{ version: string }> {
    // As the proxy keeps it: its own copy of what came over the wire.
    const snapshot = JSON.parse(JSON.stringify(input)) as ProxySnapshot;
    const verdict = this.judge(snapshot);
    const outcome = verdict === null ? 'applied' : verdict === 'hold' ? 'held' : 'rejected';
    this.received.push({ version: snapshot.version, snapshot, outcome });
    this.changed();
    if (verdict === 'hold') return new Promise(() => undefined);
    if (verdict !== null) return Promise.reject(new SnapshotError(verdict.path, verdict.reason));
    return Promise.resolve({ version: snapshot.version });
  }
}

export interface TestProxyOptions {
  adminUrl?: string;
  metricsUrl?: string;
  kind?: 'sidecar' | 'gateway';
  judge?: (snapshot: ProxySnapshot) => Verdict;
}

export class TestProxy {
  readonly client: ControlClient;
  private readonly target: RecordingTarget;
  private waiters: (() => void)[] = [];
  /** The proxy's log lines, as `skiff proxy` would print them. */
  readonly log: string[] = [];

  constructor(
    readonly id: string,
    url: string,
    opts: TestProxyOptions = {},
  ) {
    this.target = new RecordingTarget(opts.judge ?? (() => null), () => this.wake());
    this.client = new ControlClient({
      url,
      node: { id, kind: opts.kind ?? 'sidecar' },
      target: this.target,
      ...(opts.adminUrl !== undefined ? { adminUrl: opts.adminUrl } : {}),
      ...(opts.metricsUrl !== undefined ? { metricsUrl: opts.metricsUrl } : {}),
      minBackoffMs: 20,
      maxBackoffMs: 200,
      log: (line) => this.log.push(line),
    });
    for (const event of ['connected', 'disconnected', 'applied', 'rejected'] as const) this.client.on(event, () => this.wake());
  }

  /** Starts the client and resolves once its stream is open. */
  static async connect(url: string, id: string, opts: TestProxyOptions = {}): Promise<TestProxy> {
    const p = new TestProxy(id, url, opts);
    p.client.start();
    await p.waitFor(() => p.client.connected, 'the stream to open');
    return p;
  }

  /** Every snapshot the control plane sent that reached the target, oldest first. */
  get received(): readonly Received[] {
    return this.target.received;
  }

  get last(): Received | undefined {
    return this.target.received.at(-1);
  }

  /** The route config name of the last snapshot: the tests' stand-in for "which config". */
  get lastConfig(): string | undefined {
    return this.last?.snapshot.routes[0]?.name;
  }

  /** Resolves once `check` holds, re-checked on each of the client's events; rejects after `timeoutMs`. */
  waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.id}: timed out waiting for ${what}; received ${this.received.map((r) => `${r.version} ${r.outcome}`).join(', ') || 'nothing'}`)), timeoutMs);
      const test = (): void => {
        if (check()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(test);
      };
      test();
    });
  }

  close(): Promise<void> {
    return this.client.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
