/**
 * Codec selection on HTTP listeners (Envoy's codec_type AUTO): a connection that opens with the
 * HTTP/2 connection preface speaks h2c with prior knowledge, anything else is HTTP/1.x.
 */
import type { Socket } from 'node:net';

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** `h2` once the whole preface arrived, `more` while the bytes are a strict prefix of it, else `http1`. */
export function prefaceState(buf: Buffer): 'h2' | 'http1' | 'more' {
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (!buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) return 'http1';
  return n === H2_PREFACE.length ? 'h2' : 'more';
}

/**
 * Reads the first bytes of `socket` and calls `decide` once with the codec and the bytes read.
 * A connection that stalls inside the preface goes to HTTP/1.1 after `timeoutMs`, whose codec
 * answers what it can.
 */
export function detectCodec(socket: Socket, timeoutMs: number, decide: (codec: 'h2' | 'http1', initial: Buffer) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  let done = false;
  const finish = (codec: 'h2' | 'http1'): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    decide(codec, buf);
  };
  const onData = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const state = prefaceState(buf);
    if (state !== 'more') finish(state);
  };
  const onEnd = (): void => finish('http1');
  const timer = setTimeout(finish, timeoutMs, 'http1');
  socket.on('data', onData);
  socket.once('end', onEnd);
}
