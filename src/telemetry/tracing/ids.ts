/**
 * Random trace and span ids as lowercase hex, drawn from a pooled buffer of cryptographic
 * randomness so a request costs a slice, not a system call.
 */
import { randomFillSync } from 'node:crypto';

// A refill costs ~10 µs whatever its size up to tens of KB: a large pool makes it rare.
const POOL_SIZE = 64 * 1024;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function nextHex(bytes: number): string {
  if (offset + bytes > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  // Byte by byte through a table: cheaper than a native hex decode for 8 or 16 bytes.
  let s = '';
  for (let i = offset, end = offset + bytes; i < end; i++) s += HEX[pool[i]];
  offset += bytes;
  return s;
}

const ZERO_16 = '0'.repeat(16);
const ZERO_32 = '0'.repeat(32);

/** A 64-bit span id (16 hex digits), never all zeros. */
export function newSpanId(): string {
  let id = nextHex(8);
  while (id === ZERO_16) id = nextHex(8);
  return id;
}

/** A 128-bit trace id (32 hex digits), never all zeros. */
export function newTraceId(): string {
  let id = nextHex(16);
  while (id === ZERO_32) id = nextHex(16);
  return id;
}
