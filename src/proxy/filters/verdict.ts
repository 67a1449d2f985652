/**
 * What a filter answers, for one request or one connection: go on, stop, or wait for a verdict
 * that comes later (a timer, a key fetch, a call to an authorization or rate-limit service).
 *
 * Going on is one shared object, so a filter with nothing to do allocates nothing; a wait costs an
 * object, and whatever the filter waits on, only when a filter actually waits. A wait is started
 * by the runner, which hands it the function that ends it and keeps the function that cancels it:
 * when the client goes away the runner cancels, the filter lets go of what it holds (timers,
 * calls in flight), and a late `resume` is ignored.
 */

/** Go on with the next filter or phase. */
export interface Continue {
  readonly kind: 'continue';
}

/** The one `Continue`: runners compare against it by identity. */
export const CONTINUE: Continue = Object.freeze({ kind: 'continue' });

/** Ends a wait with the verdict it came to (which may be another wait). Only the first call counts. */
export type Resume<V> = (verdict: V) => void;

/** Stops a wait whose request or connection went away; the filter must not resume afterwards. */
export type Cancel = () => void;

/** A verdict that comes later. */
export interface Wait<V> {
  readonly kind: 'wait';
  /** Response flags the wait sets as it starts (the fault delay's `DI`), kept even when the client leaves. */
  readonly flags: number;
  /**
   * Begins waiting. `resume` may be called at once (a cache hit) or later; the function returned
   * cancels the wait and releases what it holds.
   */
  start(resume: Resume<V>): Cancel;
}

/** A wait that `start` begins; `flags` are set on the request or connection when it starts. */
export function waitFor<V>(start: (resume: Resume<V>) => Cancel, flags = 0): Wait<V> {
  return { kind: 'wait', flags, start };
}

/** A wait of `ms` on the timer, then `then`: the timer is cleared when the wait is cancelled. */
export function waitMs<V>(ms: number, then: V, flags = 0): Wait<V> {
  return waitFor<V>((resume) => {
    const timer = setTimeout(resume, ms, then);
    return () => clearTimeout(timer);
  }, flags);
}

/**
 * A wait on a promise: `run` gets a signal that aborts when the wait is cancelled (pass it on to
 * `fetch`, a gRPC call, a timer); a rejection becomes `onError`'s verdict, so a failing service
 * ends the wait with the filter's own failure answer rather than never.
 */
export function waitOn<V>(run: (signal: AbortSignal) => Promise<V>, onError: (err: unknown) => V, flags = 0): Wait<V> {
  return waitFor<V>((resume) => {
    const abort = new AbortController();
    run(abort.signal).then(
      (v) => {
        if (!abort.signal.aborted) resume(v);
      },
      (err: unknown) => {
        if (!abort.signal.aborted) resume(onError(err));
      },
    );
    return () => abort.abort();
  }, flags);
}

/**
 * How a runner follows a wait to the verdict it comes to, through any further waits it resumes
 * with: `started` hears each wait as it begins (to record its flags), `settle` the verdict that
 * ends it, once, possibly at once. A `start` that throws ends the wait with `failed(err)`. Returns
 * the cancel of whichever wait is in progress; after it, neither callback is called again.
 */
export function follow<V extends { readonly kind: string }>(
  wait: Wait<V>,
  started: (w: Wait<V>) => void,
  settle: (v: Exclude<V, Wait<V>>) => void,
  failed: (err: unknown) => Exclude<V, Wait<V>>,
): Cancel {
  let live = true;
  let current: Cancel | null = null;
  const begin = (w: Wait<V>): void => {
    started(w);
    let ended = false;
    const resume = (v: V): void => {
      if (ended || !live) return;
      ended = true;
      current = null;
      if (v.kind === 'wait') {
        begin(v as unknown as Wait<V>);
        return;
      }
      live = false;
      settle(v as Exclude<V, Wait<V>>);
    };
    let cancel: Cancel;
    try {
      cancel = w.start(resume);
    } catch (err) {
      resume(failed(err));
      return;
    }
    // A wait resumed within `start` has nothing left to cancel (a later one set `current` itself).
    if (!ended) current = cancel;
  };
  begin(wait);
  return () => {
    if (!live) return;
    live = false;
    const c = current;
    current = null;
    c?.();
  };
}
