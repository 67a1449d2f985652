/** Go-style duration parsing (`1.5s`, `500ms`, `1m30s`), shared by httpbin's /delay and the fortio client. */

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Milliseconds for a Go duration (`1500ms`, `1m30s`) or, when `bareSeconds` is set, a plain
 * number of seconds (`1.5`); undefined for anything else, including negative values.
 */
export function parseDuration(input: string, bareSeconds = true): number | undefined {
  if (bareSeconds && /^(\d+(\.\d*)?|\.\d+)$/.test(input)) return Math.round(Number(input) * 1000);
  if (input === '0') return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(input)) return undefined;
  let total = 0;
  for (const [, amount, unit] of input.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(amount) * UNIT_MS[unit];
  return Math.round(total);
}
