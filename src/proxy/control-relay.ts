/**
 * `skiff proxy --control-plane URL --concurrency N`: the primary process holds the one stream to
 * skiffd and relays each snapshot to every worker over the cluster IPC channel; it ACKs once all
 * workers applied it and NACKs with the first worker's refusal. A worker started later (after a
 * crash) gets the last good snapshot at once. The primary also holds the workload identity (one
 * certificate request per proxy, as with one process) and hands each certificate, with its key,
 * to every worker, which installs it into its TLS secrets: all of them present the same identity.
 * Each worker fetches the JWKS its rules name and tells the primary their states, which reports
 * one state per URI to skiffd (a worker's failure before another's success: it fails requests).
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import type { SnapshotTarget } from './control-client.js';
import { describeListeners } from './control-run.js';
import type { SkiffProxy } from './proxy.js';
import { SnapshotError, type JwksFetchState } from '../snapshot/index.js';
import { watchFetchStates } from './filters/jwt/key-sets.js';
import type { IdentityState, InstalledCertificate } from './identity/workload-identity.js';
import type { IdentityView } from './proxy.js';

/** A worker's view of the identity the primary holds. */
interface RelayedIdentity extends IdentityView {
  current: IdentityState | null;
  unavailable: boolean;
}

const DATE_FIELDS = ['notBefore', 'notAfter', 'rootNotBefore', 'rootNotAfter', 'installedAt', 'rotateAt'] as const;

/** An identity state sent over IPC (dates became text) made whole again. */
function identityState(sent: Record<string, unknown>): IdentityState {
  const out = { ...sent } as Record<string, unknown>;
  for (const f of DATE_FIELDS) out[f] = new Date(String(sent[f]));
  return out as unknown as IdentityState;
}

/** Worker → primary: ready to take snapshots (with its admin and metrics URLs when it serves them). */
interface ReadyMessage {
  skiff: 'ready';
  adminUrl?: string;
  metricsUrl?: string;
}
/** Primary → worker. */
interface ApplyMessage {
  skiff: 'apply';
  seq: number;
  snapshot: unknown;
}
/** Primary → worker: the workload certificate in force (on issue and each rotation), or none to wait for. */
interface IdentityMessage {
  skiff: 'identity';
  cert: InstalledCertificate | null;
  /** The state as `/certs` shows it, dates as ISO text. */
  state: Record<string, unknown> | null;
}

/** Worker → primary: the outcome of one `apply`. */
interface ResultMessage {
  skiff: 'result';
  seq: number;
  error?: { path: string; reason: string };
}

/** Worker → primary: the fetch states of the JWKS its rules use, whenever they change. */
interface JwksMessage {
  skiff: 'jwks';
  jwks: JwksFetchState[];
}

/** How much a worker's state of a URI says about failing requests; the primary reports the highest. */
function severity(j: JwksFetchState): number {
  if (j.state === 'failed') return 3;
  if (j.state === 'fetching') return 2;
  return j.error === '' ? 0 : 1;
}

/** One state per URI out of every worker's. */
export function mergeJwksStates(perWorker: Iterable<readonly JwksFetchState[]>): JwksFetchState[] {
  const byUri = new Map<string, JwksFetchState>();
  for (const states of perWorker) {
    for (const j of states) {
      const seen = byUri.get(j.uri);
      if (seen === undefined || severity(j) > severity(seen)) byUri.set(j.uri, j);
    }
  }
  return [...byUri.values()].sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
}

function isMessage<T extends { skiff: string }>(m: unknown, kind: T['skiff']): m is T {
  return typeof m === 'object' && m !== null && (m as { skiff?: unknown }).skiff === kind;
}

type Outcome = { path: string; reason: string } | null;

/** In the primary: a snapshot target that is every ready worker at once. */
export class WorkerRelay implements SnapshotTarget {
  private readonly ready = new Set<Worker>();
  private readonly waiting = new Map<number, { worker: Worker; resolve: (outcome: Outcome) => void }>();
  private seq = 0;
  private lastGood: unknown = undefined;
  private identity: IdentityMessage | null = null;
  private readonly jwks = new Map<Worker, JwksFetchState[]>();
  private onJwks: ((states: JwksFetchState[]) => void) | null = null;
  private resolveAdminUrl: (url: string | undefined) => void = () => {};
  /** Resolves with the admin URL once the worker serving admin (the first) is ready. */
  readonly adminUrl: Promise<string | undefined>;
  /** The first worker's metrics URL, known once `adminUrl` resolved. */
  metricsUrl: string | undefined;

  constructor(private readonly log: (line: string) => void) {
    this.adminUrl = new Promise((resolve) => (this.resolveAdminUrl = resolve));
  }

  /** Starts following a worker (call right after `cluster.fork()`). */
  add(worker: Worker): void {
    worker.on('message', (m: unknown) => {
      if (isMessage<ReadyMessage>(m, 'ready')) {
        this.ready.add(worker);
        if (this.identity !== null) worker.send(this.identity);
        if (worker.id === 1) {
          this.metricsUrl = m.metricsUrl;
          this.resolveAdminUrl(m.adminUrl);
        }
        if (this.lastGood !== undefined) {
          void this.applyOn(worker, this.lastGood).then((e) => e && this.log(`worker ${worker.id} refused the current snapshot: ${e.path}: ${e.reason}`));
        }
      } else if (isMessage<JwksMessage>(m, 'jwks')) {
        this.jwks.set(worker, m.jwks);
        this.onJwks?.(mergeJwksStates(this.jwks.values()));
      } else if (isMessage<ResultMessage>(m, 'result')) {
        const waiter = this.waiting.get(m.seq);
        if (waiter?.worker !== worker) return;
        this.waiting.delete(m.seq);
        waiter.resolve(m.error ?? null);
      }
    });
    worker.on('exit', () => {
      this.ready.delete(worker);
      if (this.jwks.delete(worker)) this.onJwks?.(mergeJwksStates(this.jwks.values()));
      if (worker.id === 1) this.resolveAdminUrl(undefined);
      // A worker that died has nothing left to refuse; its successor gets the last good snapshot.
      for (const [seq, waiter] of this.waiting) {
        if (waiter.worker !== worker) continue;
        this.waiting.delete(seq);
        waiter.resolve(null);
      }
    });
  }

  /** Calls `fn` with the workers' JWKS fetch states, merged: now when any were reported, and on every change. */
  watchJwks(fn: (states: JwksFetchState[]) => void): void {
    this.onJwks = fn;
    if (this.jwks.size > 0) fn(mergeJwksStates(this.jwks.values()));
  }

  /**
   * Shares the primary's workload identity with every worker, now and as they start: a certificate
   * (`cert`, `state`), or null for a control plane that runs no CA (nothing to wait for).
   */
  shareIdentity(cert: InstalledCertificate | null, state: IdentityState | null): void {
    this.identity = { skiff: 'identity', cert, state: state === null ? null : { ...state } };
    for (const w of this.ready) w.send(this.identity);
  }

  async applySnapshot(input: unknown): Promise<{ version: string }> {
    const workers = [...this.ready];
    if (workers.length === 0) throw new Error('no worker process is running');
    const outcomes = await Promise.all(workers.map((w) => this.applyOn(w, input)));
    // Workers share their listening sockets through the primary, so a snapshot one refuses the others refuse too.
    const refused = outcomes.find((o) => o !== null);
    if (refused) throw new SnapshotError(refused.path, refused.reason);
    this.lastGood = input;
    const version = (input as { version?: unknown }).version;
    return { version: typeof version === 'string' ? version : String(version) };
  }

  private applyOn(worker: Worker, snapshot: unknown): Promise<Outcome> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(seq, { worker, resolve });
      const message: ApplyMessage = { skiff: 'apply', seq, snapshot };
      worker.send(message);
    });
  }
}

/** In a worker: applies what the primary relays and reports back; announces itself ready. */
export function serveRelayedSnapshots(proxy: SkiffProxy, adminUrl: string | undefined, log?: (line: string) => void, metricsUrl?: string, withIdentity = false): void {
  const identity: RelayedIdentity = { current: null, unavailable: false };
  // A worker of a proxy with an identity is ready once the primary handed it a certificate.
  if (withIdentity) proxy.identity = identity;
  process.on('message', (m: unknown) => {
    if (isMessage<IdentityMessage>(m, 'identity')) {
      if (m.cert === null || m.state === null) identity.unavailable = true;
      else {
        proxy.workloadSecrets.install(m.cert);
        identity.current = identityState(m.state);
      }
      return;
    }
    if (!isMessage<ApplyMessage>(m, 'apply')) return;
    proxy.applySnapshot(m.snapshot).then(
      (report) => {
        // Each worker says where it listens, as a single-process proxy does.
        log?.(`snapshot ${report.version} applied; listeners: ${describeListeners(proxy)}`);
        send({ skiff: 'result', seq: m.seq });
      },
      (err: unknown) => {
        const error = err instanceof SnapshotError ? { path: err.path, reason: err.reason } : { path: 'snapshot', reason: err instanceof Error ? err.message : String(err) };
        send({ skiff: 'result', seq: m.seq, error });
      },
    );
  });
  watchFetchStates(proxy, (jwks) => send({ skiff: 'jwks', jwks }));
  const ready: ReadyMessage = { skiff: 'ready', ...(adminUrl !== undefined ? { adminUrl } : {}), ...(metricsUrl !== undefined ? { metricsUrl } : {}) };
  send(ready);
}

function send(message: ReadyMessage | ResultMessage | JwksMessage): void {
  if (cluster.isWorker && process.send !== undefined && process.connected) process.send(message);
}
