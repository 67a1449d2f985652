/**
 * Reads a connection's first bytes until a decision can be made on them (TLS or not, which
 * codec, HTTP or TCP), without taking them from the connection: the decision gets them, and
 * whoever serves the connection next receives them (as its initial bytes, or pushed back into
 * the socket for a TLS layer to read).
 */
import type { Socket } from 'node:net';

/** What to do with the connection once decided: it runs after this reader let go of the socket. */
export type Handoff = () => void;

/**
 * Sees the bytes read so far; returns the handoff once it can decide, null to wait for more.
 * `final` is set when no more will come (the client ended, or the time ran out): it must decide.
 */
export type FirstBytesDecision = (bytes: Buffer, final: boolean) => Handoff | null;

/**
 * Reads until `decide` decides, starting from bytes already read (`initial`, possibly empty);
 * after `timeoutMs` it decides on what it has.
 */
export function readFirstBytes(socket: Socket, initial: Buffer, timeoutMs: number, decide: FirstBytesDecision): void {
  const early = initial.length > 0 ? decide(initial, false) : null;
  if (early !== null) {
    early();
    return;
  }
  let buf = initial;
  let settled = false;
  const settle = (handoff: Handoff): void => {
    settled = true;
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    handoff();
  };
  const onData = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const handoff = decide(buf, false);
    if (handoff !== null) settle(handoff);
  };
  const onFinal = (): void => {
    if (settled) return;
    const handoff = decide(buf, true);
    if (handoff !== null) settle(handoff);
  };
  const onEnd = (): void => onFinal();
  const timer = setTimeout(onFinal, timeoutMs);
  socket.on('data', onData);
  socket.once('end', onEnd);
}
