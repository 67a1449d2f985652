/**
 * The JSON Web Key Sets JWT rules verify with: inline (`jwks`), or fetched from `jwksUri` by the
 * proxy. A fetched set is kept per URL for the life of the process (snapshots that keep the URL
 * keep the set), refreshed every 20 minutes (Istio's default), fetched again at once (at most every
 * 30 s) when a token names a key it lacks, and retried with backoff (1 s doubling to 60 s) while
 * fetching fails — requests meanwhile get `Jwks remote fetch is failed`. A set no snapshot in
 * force names any more is dropped (`useKeySets`), so the proxy fetches only what its rules use.
 *
 * Every set's fetch state (`fetchStates()`: keys, when fetched, the last error, the next fetch) is
 * what the proxy reports to skiffd for `skiff proxy-status` and `skiff analyze`, since a JWKS
 * that cannot be fetched otherwise shows only as 401s; `onFetchStateChange` says when it moved.
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { JwksFetchState } from '../../../snapshot/index.js';

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
export type FetchState = JwksFetchState;

const listeners = new Set<() => void>();

/** Calls `fn` whenever a fetched set's state may have changed (a fetch ended, a set came or went); returns the unsubscribe. */
export function onFetchStateChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function changed(): void {
  for (const fn of listeners) fn();
}

/** Why a fetch failed, with the cause Node's fetch hides behind "fetch failed". */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
}

/** The set in a fetched body, or an error saying why it is none. */
function keySetIn(body: unknown): JSONWebKeySet {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { keys?: unknown }).keys)) throw new Error('not a JSON Web Key Set (no "keys" list)');
  return body as JSONWebKeySet;
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
  private disposed = false;
  /**
   * A snapshot in force has named the set. Until then it belongs to a snapshot being checked, which
   * another proxy of the process applying its own must not drop.
   */
  claimed = false;
  readonly state: FetchState;

  constructor(
    uri: string,
    private readonly timeoutMs: number,
  ) {
    this.state = { uri, state: 'fetching', keys: 0, fetchedAt: 0, error: '', failures: 0, nextFetchAt: 0 };
    void this.fetch();
  }

  /** No snapshot uses the set any more: no further fetches. */
  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
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
    this.timer = null;
    this.state.nextFetchAt = 0;
    if (this.disposed) return;
    this.timer = setTimeout(() => void this.fetch(), ms);
    this.timer.unref();
    this.state.nextFetchAt = Date.now() + ms;
  }

  private fetch(): Promise<void> {
    this.inFlight ??= (async () => {
      if (this.getKey === null) this.state.state = 'fetching';
      try {
        const res = await fetch(this.state.uri, { signal: AbortSignal.timeout(this.timeoutMs) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const set = keySetIn(await res.json());
        this.getKey = createLocalJWKSet(set);
        Object.assign(this.state, { state: 'ready', keys: set.keys.length, fetchedAt: Date.now(), error: '', failures: 0 });
        this.schedule(REFRESH_MS);
      } catch (err) {
        this.state.failures++;
        this.state.error = describe(err);
        // A set fetched before stays in use; without one, requests with tokens fail until a retry works.
        if (this.getKey === null) this.state.state = 'failed';
        this.schedule(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(this.state.failures - 1, 10)));
      } finally {
        this.inFlight = null;
        changed();
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
    changed();
  }
  return set;
}

/** Per user of fetched sets (a proxy; tests run several in one process), the URIs its snapshot in force names. */
const users = new Map<object, ReadonlySet<string>>();

/**
 * The fetched sets the snapshot `user` has in force names are `uris` (none once it closes): a set
 * no user names any more is dropped and its refresh stopped, as Envoy drops a JWKS cache with the
 * filter config that held it.
 */
export function useKeySets(user: object, uris: Iterable<string>): void {
  const mine = new Set(uris);
  if (mine.size === 0) users.delete(user);
  else users.set(user, mine);
  const used = new Set<string>();
  for (const u of users.values()) for (const uri of u) used.add(uri);
  for (const uri of mine) {
    const set = remote.get(uri);
    if (set !== undefined) set.claimed = true;
  }
  for (const [uri, set] of remote) {
    if (used.has(uri) || !set.claimed) continue;
    set.dispose();
    remote.delete(uri);
  }
  changed();
}

/** The state of every fetched key set, by URI; of those `user`'s snapshot names when given. */
export function fetchStates(user?: object): FetchState[] {
  const only = user === undefined ? undefined : (users.get(user) ?? new Set<string>());
  return [...remote.values()]
    .filter((s) => only === undefined || only.has(s.state.uri))
    .map((s) => ({ ...s.state }))
    .sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
}

/**
 * Calls `report` with `user`'s fetch states whenever they change (changes in one turn of the
 * event loop coalesced, an unchanged list not reported again, an empty one only after a non-empty
 * one); returns the unsubscribe.
 */
export function watchFetchStates(user: object, report: (states: FetchState[]) => void): () => void {
  // Nothing to say until a set is fetched: a proxy without fetched sets sends no report at all.
  let last = '[]';
  let due = false;
  return onFetchStateChange(() => {
    if (due) return;
    due = true;
    setImmediate(() => {
      due = false;
      const states = fetchStates(user);
      const text = JSON.stringify(states);
      if (text === last) return;
      last = text;
      report(states);
    });
  });
}
