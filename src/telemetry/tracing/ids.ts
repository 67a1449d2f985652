/** Random trace and span ids as lowercase hex, cut from pooled random text (random-ids.ts). */
import { randomHex } from '../random-ids.js';

const ZERO_16 = '0'.repeat(16);
const ZERO_32 = '0'.repeat(32);

/** A 64-bit span id (16 hex digits), never all zeros. */
export function newSpanId(): string {
  let id = randomHex(16);
  while (id === ZERO_16) id = randomHex(16);
  return id;
}

/** A 128-bit trace id (32 hex digits), never all zeros. */
export function newTraceId(): string {
  let id = randomHex(32);
  while (id === ZERO_32) id = randomHex(32);
  return id;
}
