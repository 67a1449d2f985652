/**
 * HTTP/2 keepalive for every proxy connection from one sweep: a PING per connection every
 * `intervalMs`, and a connection that leaves one unanswered for `timeoutMs` is destroyed (its
 * streams close, so the proxy counts as disconnected).
 */
import type { Http2Session } from 'node:http2';

interface SessionState {
  lastPingAt: number;
  /** When the unanswered PING went out; null when none is outstanding. */
  pingOutstandingSince: number | null;
}

export class SessionKeepalive {
  private readonly sessions = new Map<Http2Session, SessionState>();

  constructor(
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly onDead: (session: Http2Session) => void,
  ) {}

  add(session: Http2Session): void {
    this.sessions.set(session, { lastPingAt: Date.now(), pingOutstandingSince: null });
    session.on('close', () => this.sessions.delete(session));
  }

  /** One pass over every connection; called from the owner's shared timer. */
  sweep(now: number): void {
    for (const [session, state] of this.sessions) {
      if (state.pingOutstandingSince !== null) {
        if (now - state.pingOutstandingSince > this.timeoutMs) {
          this.onDead(session);
          session.destroy();
        }
      } else if (now - state.lastPingAt >= this.intervalMs && !session.destroyed) {
        state.lastPingAt = now;
        state.pingOutstandingSince = now;
        try {
          session.ping(() => (state.pingOutstandingSince = null));
        } catch {
          session.destroy(); // closing already: nothing to keep alive
        }
      }
    }
  }

  destroyAll(): void {
    for (const s of this.sessions.keys()) s.destroy();
  }
}
