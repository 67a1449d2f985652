/**
 * The JSON Web Key Sets JWT rules verify with: inline (`jwks`), or fetched from `jwksUri` by the
 * proxy. A fetched set is kept per URL for the life of the process (snapshots that keep the URL
 * keep the set), refreshed every 20 minutes (Istio's default), fetched again at once (at most every
 * 30 s) when a token names a key it lacks, and retried with backoff (1 s doubling to 60 s) while
 * fetching fails — requests meanwhile get `Jwks remote fetch is failed`. Its state is what
 * `fetchState()` reports.
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

const REFRESH_MS = 20 * 60_000;
const KID_MISS_MIN_INTERVAL_MS = 30_000;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 5000;

/** What verification needs of a key set. */
export interface KeySet {
  /** The keys now, or null while none were fetched (or the last fetch of a never-fetched set failed). */
  keys(): JWTVerifyGetKey | null;
  /** Resolves once a fetch in progress ends (at once when none is). */
  settled(): Promise<void>;
  /** A token named a key the set lacks: fetch again (rate-limited). */
  kidMissed(): void;
}

/** The fetch state of one `jwksUri`, as `skiff proxy-status` and analyzers show it. */
export interface FetchState {
  uri: string;
  state: 'fetching' | 'ready' | 'failed';
  /** When the set last arrived (ms since the epoch), 0 never. */
  fetchedAt: number;
  /** Why the last fetch failed, '' when it did not. */
  error: string;
  failures: number;
}

class InlineKeySet implements KeySet {
  private readonly getKey: JWTVerifyGetKey;
  constructor(jwks: string) {
    this.getKey = createLocalJWKSet(JSON.parse(jwks) as JSONWebKeySet);
  }
  keys(): JWTVerifyGetKey {
    return this.getKey;
  }
  settled(): Promise<void> {
    return Promise.resolve();
  }
  kidMissed(): void {}
}

class RemoteKeySet implements KeySet {
  private getKey: JWTVerifyGetKey | null = null;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastKidMiss = 0;
  readonly state: FetchState;

  constructor(
    uri: string,
    private readonly timeoutMs: number,
  ) {
    this.state = { uri, state: 'fetching', fetchedAt: 0, error: '', failures: 0 };
    void this.fetch();
  }

  keys(): JWTVerifyGetKey | null {
    return this.getKey;
  }

  settled(): Promise<void> {
    return this.inFlight ?? Promise.resolve();
  }

  kidMissed(): void {
    const now = Date.now();
    if (this.inFlight !== null || now - this.lastKidMiss < KID_MISS_MIN_INTERVAL_MS) return;
    this.lastKidMiss = now;
    void this.fetch();
  }

  private schedule(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fetch(), ms);
    this.timer.unref();
  }

  private fetch(): Promise<void> {
    this.inFlight ??= (async () => {
      if (this.getKey === null) this.state.state = 'fetching';
      try {
        const res = await fetch(this.state.uri, { signal: AbortSignal.timeout(this.timeoutMs) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const body = (await res.json()) as JSONWebKeySet;
        this.getKey = createLocalJWKSet(body);
        Object.assign(this.state, { state: 'ready', fetchedAt: Date.now(), error: '', failures: 0 });
        this.schedule(REFRESH_MS);
      } catch (err) {
        this.state.failures++;
        this.state.error = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
        // A set fetched before stays in use; without one, requests with tokens fail until a retry works.
        if (this.getKey === null) this.state.state = 'failed';
        this.schedule(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(this.state.failures - 1, 10)));
      } finally {
        this.inFlight = null;
      }
    })();
    return this.inFlight;
  }
}

const remote = new Map<string, RemoteKeySet>();

/** The key set of a rule: inline, or the process's fetched set for the URL. */
export function keySetFor(rule: { jwks?: string; jwksUri?: string; timeoutMs?: number }): KeySet {
  if (rule.jwks !== undefined) return new InlineKeySet(rule.jwks);
  const uri = rule.jwksUri ?? '';
  let set = remote.get(uri);
  if (set === undefined) {
    set = new RemoteKeySet(uri, rule.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    remote.set(uri, set);
  }
  return set;
}

/** Every fetched key set's state. */
export function fetchStates(): FetchState[] {
  return [...remote.values()].map((s) => ({ ...s.state }));
}
