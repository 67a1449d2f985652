/**
 * The random ids every request carries — `x-request-id` (a version 4 UUID), trace and span
 * ids — cut from pooled text. Cryptographic randomness is fetched in large blocks and turned into
 * id text once per block; an id is then a slice of that text: one small allocation per id, where
 * building it digit by digit cost a string per digit.
 *
 * A slice keeps its block's text alive while the id lives (tens of KB, a few blocks at most).
 */
import { randomFillSync } from 'node:crypto';

/** Lowercase hex digits as byte values, for writing id text into a buffer. */
const HEX_DIGIT = Buffer.from('0123456789abcdef', 'latin1');

/** Hex digits of randomness per block: 8192 span ids or 4096 trace ids. */
const HEX_BLOCK_BYTES = 64 * 1024;
let hexText = '';
let hexAt = 0;

/** `digits` random lowercase hex digits. */
export function randomHex(digits: number): string {
  if (hexAt + digits > hexText.length) {
    hexText = randomFillSync(Buffer.allocUnsafe(HEX_BLOCK_BYTES / 2)).toString('hex');
    hexAt = 0;
  }
  const s = hexText.slice(hexAt, hexAt + digits);
  hexAt += digits;
  return s;
}

/** UUIDs per block of formatted text. */
const UUIDS_PER_BLOCK = 1024;
const UUID_LENGTH = 36;
let uuidText = '';
let uuidAt = 0;

/** A block of UUIDs written out as one latin1 text: `xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx` each. */
function uuidBlock(): string {
  const random = randomFillSync(Buffer.allocUnsafe(UUIDS_PER_BLOCK * 16));
  const out = Buffer.allocUnsafe(UUIDS_PER_BLOCK * UUID_LENGTH);
  let o = 0;
  for (let u = 0; u < UUIDS_PER_BLOCK; u++) {
    const r = u * 16;
    for (let i = 0; i < 16; i++) {
      let b = random[r + i];
      if (i === 6) b = (b & 0x0f) | 0x40; // version 4
      else if (i === 8) b = (b & 0x3f) | 0x80; // RFC 4122 variant
      if (i === 4 || i === 6 || i === 8 || i === 10) out[o++] = 0x2d; // '-'
      out[o++] = HEX_DIGIT[b >> 4];
      out[o++] = HEX_DIGIT[b & 15];
    }
  }
  return out.toString('latin1');
}

/** A random version 4 UUID, lowercase, as `x-request-id` carries it. */
export function newRequestId(): string {
  if (uuidAt === uuidText.length) {
    uuidText = uuidBlock();
    uuidAt = 0;
  }
  const s = uuidText.slice(uuidAt, uuidAt + UUID_LENGTH);
  uuidAt += UUID_LENGTH;
  return s;
}
