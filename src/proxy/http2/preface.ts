/**
 * Codec selection on HTTP listeners (Envoy's codec_type AUTO): a connection that opens with the
 * HTTP/2 connection preface speaks h2c with prior knowledge, anything else is HTTP/1.x. The
 * listener reads the first bytes (`listener/first-bytes.ts`); a connection whose TLS it terminated
 * may have settled the codec by ALPN already.
 */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** `h2` once the whole preface arrived, `more` while the bytes are a strict prefix of it, else `http1`. */
export function prefaceState(buf: Buffer): 'h2' | 'http1' | 'more' {
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (!buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) return 'http1';
  return n === H2_PREFACE.length ? 'h2' : 'more';
}
