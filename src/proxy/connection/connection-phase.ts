/**
 * The connection phase, written down in one place: what every downstream connection the proxy
 * serves as a byte stream passes through before its upstream is opened — a connection the
 * listener proxies as TCP, and a CONNECT tunnel (which stands for a captured TCP connection, as
 * the local runtime has no iptables capture); TLS connections will pass it once the listener
 * terminates TLS. The filters are the listener's, compiled per snapshot, and run in this order:
 *
 *   phase                    stops with
 *   1  peer identity         reset (RST): a plaintext connection where mutual TLS is STRICT
 *      (peer authentication)
 *   2  TCP authorization     close: a connection an authorization policy denies
 *   3  connection limits     close or reset
 *
 * TCP authorization is `filters/authz` (a listener of the server side with policies in force);
 * with no filters the phase is a pass-through that answers at once and allocates nothing. A filter may wait (an external authorization call): the caller holds the
 * connection's bytes meanwhile and cancels the wait if the client goes away first. A filter that
 * throws closes the connection (`filter_failed{name}`) rather than letting it through unchecked.
 *
 * What a stop looks like to the client: a TCP-proxied connection is closed with a FIN (`close`)
 * or an RST (`reset`, `socket.resetAndDestroy()`). A CONNECT tunnel that is closed is first
 * answered 200, as the captured connection it stands for would have been accepted; one that is
 * reset gets the RST at once and no answer (an RST right behind the 200 can reach the client as a
 * clean end).
 */
import type { ConnectionContext, ConnectionFilter, ConnectionStop, ConnectionVerdict } from '../filters/connection-filter.js';
import { CONTINUE, follow, type Cancel, type Continue } from '../filters/verdict.js';

/** How the phase ended: go on, or the stop that ends the connection. */
export type ConnectionOutcome = Continue | ConnectionStop;

/**
 * Receives the phase's outcome with the owner it was run for (so callers need no closure) and the
 * response flags the filters' waits set on the way.
 */
export type ConnectionPhaseDone<O> = (owner: O, outcome: ConnectionOutcome, flags: number) => void;

/**
 * Runs the listener's connection filters for `conn`. `done` is called once: at once when no filter
 * waits (always, with none), else when the last wait ends. Returns null when `done` was already
 * called, or the function that cancels the wait in progress — call it when the connection goes
 * away; `done` is then never called.
 */
export function runConnectionPhase<O>(conn: ConnectionContext, filters: readonly ConnectionFilter[], owner: O, done: ConnectionPhaseDone<O>): Cancel | null {
  if (filters.length === 0) {
    done(owner, CONTINUE, 0);
    return null;
  }
  return runFrom(conn, filters, 0, 0, owner, done);
}

function runFrom<O>(conn: ConnectionContext, filters: readonly ConnectionFilter[], from: number, flags: number, owner: O, done: ConnectionPhaseDone<O>): Cancel | null {
  for (let i = from; i < filters.length; i++) {
    const f = filters[i];
    let v: ConnectionVerdict;
    try {
      v = f.decide(conn);
    } catch {
      done(owner, failed(f), flags);
      return null;
    }
    if (v === CONTINUE || v.kind === 'continue') continue;
    if (v.kind !== 'wait') {
      done(owner, v, flags);
      return null;
    }
    let seen = flags;
    let settled = false;
    let later: Cancel | null = null;
    const cancel = follow<ConnectionVerdict>(
      v,
      (w) => (seen |= w.flags),
      (outcome) => {
        settled = true;
        if (outcome.kind === 'continue') later = runFrom(conn, filters, i + 1, seen, owner, done);
        else done(owner, outcome, seen);
      },
      () => failed(f),
    );
    if (settled && later === null) return null;
    return () => {
      cancel();
      (later)?.();
    };
  }
  done(owner, CONTINUE, flags);
  return null;
}

function failed(f: ConnectionFilter): ConnectionStop {
  return { kind: 'close', details: `filter_failed{${f.name}}`, flags: 0 };
}
