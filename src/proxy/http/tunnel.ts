/**
 * Byte tunnels: splices two sockets both ways with backpressure, half-close and byte counts
 * (WebSocket after a 101, CONNECT after its 200, and the TCP proxy).
 */
import type { Socket } from 'node:net';

/** Ends the tunnel after this long with no traffic either way; 0 = never. */
export interface SpliceOptions {
  idleTimeoutMs?: number;
}

/**
 * Pipes `a` ⇄ `b`. `aHead` goes to `b` first (bytes `a` sent early), `bHead` to `a`.
 * `done(aToB, bToA)` runs once, when both sides are closed.
 */
export function splice(a: Socket, aHead: Buffer, b: Socket, bHead: Buffer, done: (aToB: number, bToA: number) => void, opts: SpliceOptions = {}): void {
  let aToB = 0;
  let bToA = 0;
  let open = 2;
  const closed = (): void => {
    if (--open === 0) done(aToB, bToA);
  };
  const pipe = (from: Socket, to: Socket, count: (n: number) => void): void => {
    from.on('data', (chunk: Buffer) => {
      count(chunk.length);
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => from.resume());
    // Half-close travels through: the other side may still answer.
    from.on('end', () => to.end());
    from.on('error', () => to.destroy());
    from.on('close', () => {
      to.destroy();
      closed();
    });
  };
  if (aHead.length > 0) {
    aToB += aHead.length;
    b.write(aHead);
  }
  if (bHead.length > 0) {
    bToA += bHead.length;
    a.write(bHead);
  }
  pipe(a, b, (n) => (aToB += n));
  pipe(b, a, (n) => (bToA += n));
  // A side that already delivered its end (data and FIN in one read, before the splice) passes it on now.
  if (a.readableEnded) b.end();
  if (b.readableEnded) a.end();
  const idle = opts.idleTimeoutMs ?? 0;
  if (idle > 0) {
    const onIdle = (): void => {
      a.destroy();
      b.destroy();
    };
    a.setTimeout(idle, onIdle);
    b.setTimeout(idle, onIdle);
  }
  if (a.isPaused()) a.resume();
  if (b.isPaused()) b.resume();
}
