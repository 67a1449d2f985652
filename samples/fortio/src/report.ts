/** The text summary `fortio load` prints: latency statistics, sockets used and the `Code 200 : 17 (85.0 %)` distribution. */
import type { LoadOptions, LoadResult } from './load.js';

function round(n: number): string {
  return Number(n.toPrecision(6)).toString();
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function header(opts: LoadOptions): string {
  const calls = opts.calls !== undefined ? `${opts.calls} calls` : `${opts.durationMs / 1000}s`;
  const perThread =
    opts.calls !== undefined
      ? `for exactly ${opts.calls} calls (${Math.floor(opts.calls / opts.connections)} per thread + ${opts.calls % opts.connections})`
      : `for ${opts.durationMs / 1000}s`;
  const pace = opts.qps > 0 ? `${opts.qps} qps` : 'max qps';
  return `Fortio-compatible load client running at ${opts.qps} queries per second, for ${calls}: ${opts.url}
Starting at ${pace} with ${opts.connections} thread(s) ${perThread}
`;
}

export function summary(opts: LoadOptions, result: LoadResult, percentiles: readonly number[]): string {
  const times = result.records.map((r) => r.seconds).sort((a, b) => a - b);
  const count = times.length;
  const sum = times.reduce((a, b) => a + b, 0);
  const avg = count > 0 ? sum / count : 0;
  const stddev = count > 0 ? Math.sqrt(times.reduce((a, t) => a + (t - avg) ** 2, 0) / count) : 0;
  const qps = result.elapsedMs > 0 ? (count * 1000) / result.elapsedMs : 0;
  const lines = [
    `Ended after ${round(result.elapsedMs)}ms : ${count} calls. qps=${round(qps)}`,
    `Aggregated Function Time : count ${count} avg ${round(avg)} +/- ${round(stddev)} min ${round(times[0] ?? 0)} max ${round(times[count - 1] ?? 0)} sum ${round(sum)}`,
    ...percentiles.map((p) => `# target ${p}% ${round(percentile(times, p))}`),
    `Sockets used: ${result.sockets} (for perfect keepalive, would be ${opts.connections})`,
  ];
  const byCode = new Map<number, number>();
  for (const r of result.records) byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
  for (const [code, n] of [...byCode].sort(([a], [b]) => a - b)) {
    lines.push(`Code ${code} : ${n} (${((100 * n) / Math.max(count, 1)).toFixed(1)} %)`);
  }
  lines.push(`All done ${count} calls (plus 0 warmup) ${(avg * 1000).toFixed(3)} ms avg, ${qps.toFixed(1)} qps`);
  return `${lines.join('\n')}\n`;
}
