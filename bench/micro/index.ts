/**
 * `npm run bench -- --suite micro` (`npm run bench:micro`): micro-benchmarks of hot-path calls
 * in this process — the router, path normalisation, telemetry, load balancing — printed as ns per call. Each checks
 * the answers of what it times first; none asserts a time.
 */
import { lbBench } from './lb.js';
import { pathBench } from './path.js';
import type { MicroResult } from './measure.js';
import { routerBench } from './router.js';
import { telemetryBench } from './telemetry.js';

export type { MicroResult } from './measure.js';

export function runMicroBench(log: (line: string) => void): MicroResult[] {
  const out: MicroResult[] = [];
  for (const [name, run] of [
    ['router', routerBench],
    ['path', pathBench],
    ['telemetry', telemetryBench],
    ['lb', lbBench],
  ] as const) {
    log(`micro: ${name}`);
    out.push(...run());
  }
  return out;
}

export function microTable(results: readonly MicroResult[]): string {
  const rows = results.map((r) => `| ${r.label} | ${r.nsPerOp.toFixed(0)} | ${r.cpuNsPerOp.toFixed(0)} |`);
  return ['| call | ns/op | CPU ns/op |', '| --- | ---: | ---: |', ...rows].join('\n');
}
