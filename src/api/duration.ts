/**
 * Parses durations the way Istio reads them from YAML: Go's `time.ParseDuration` syntax
 * (`100ms`, `1h`, `2m30s`, `1.5s`), which includes the protobuf JSON `Ns` form (`0.5s`, `1.000340012s`).
 */

/** Nanoseconds per unit; Go accepts both micro signs (U+00B5 and U+03BC). */
const UNIT_NANOS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n,
  'μs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go stores durations as int64 nanoseconds; anything longer does not parse there either. */
const MAX_NANOS = 2n ** 63n - 1n;

const SEGMENT = /([0-9]*)(?:\.([0-9]*))?([a-zµμ]+)/y;

/**
 * Returns the duration in milliseconds (fractions for sub-millisecond values), or `undefined`
 * when `s` is not a duration Go's `time.ParseDuration` accepts.
 */
export function parseDuration(s: string): number | undefined {
  const nanos = parseDurationNanos(s);
  return nanos === undefined ? undefined : Number(nanos) / 1e6;
}

/** Like `parseDuration` but exact: integer nanoseconds as a bigint. */
export function parseDurationNanos(s: string): bigint | undefined {
  let rest = s;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') return undefined;
  let total = 0n;
  SEGMENT.lastIndex = 0;
  let pos = 0;
  while (pos < rest.length) {
    SEGMENT.lastIndex = pos;
    const m = SEGMENT.exec(rest);
    if (!m || m.index !== pos) return undefined;
    const [whole, intPart = '', fracPart, unit = ''] = m;
    // Go requires at least one digit before or after the dot ("1.s" and ".5s" parse, ".s" does not).
    if (intPart === '' && (fracPart === undefined || fracPart === '')) return undefined;
    const scale = UNIT_NANOS[unit];
    if (scale === undefined) return undefined;
    let value = BigInt(intPart || '0') * scale;
    if (fracPart) {
      // Truncate toward zero like Go does once precision runs out.
      value += (BigInt(fracPart) * scale) / 10n ** BigInt(fracPart.length);
    }
    total += value;
    if (total > MAX_NANOS) return undefined;
    pos += whole.length;
  }
  return negative ? -total : total;
}

/** Formats milliseconds for messages: `1500` → `1.5s`, `0.5` → `500µs`. */
export function formatDuration(ms: number): string {
  if (ms !== 0 && Math.abs(ms) < 1) return `${+(ms * 1000).toFixed(3)}µs`;
  if (Math.abs(ms) < 1000) return `${+ms.toFixed(3)}ms`;
  return `${+(ms / 1000).toFixed(3)}s`;
}
