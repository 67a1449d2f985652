/**
 * Timing of one hot-path call in a loop: wall and CPU time per call after a JIT warm-up. Each
 * result is folded into `sink`, read after the loop, so the optimiser cannot drop the calls.
 */

export interface MicroResult {
  label: string;
  /** Wall time per call, ns. */
  nsPerOp: number;
  /** This process's CPU time per call, ns (steadier on a shared machine). */
  cpuNsPerOp: number;
}

let sink = 0;

/** Folds a call's result into the sink: cheap, and it makes the result observable. */
function consume(value: unknown): void {
  if (value !== undefined && value !== null) sink = (sink + 1) | 0;
}

export function measure(label: string, iterations: number, fn: (i: number) => unknown, warmup = 20_000): MicroResult {
  for (let i = 0; i < warmup; i++) consume(fn(i));
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) consume(fn(i));
  const nsPerOp = Number(process.hrtime.bigint() - start) / iterations;
  const used = process.cpuUsage(cpu);
  return { label, nsPerOp, cpuNsPerOp: ((used.user + used.system) * 1000) / iterations };
}

/** The sink's value, for a caller that wants to print it (and so keep it alive). */
export function sinkValue(): number {
  return sink;
}

/** A benchmark's precondition: the call measured must give the answer the data path relies on. */
export function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`micro benchmark precondition failed: ${what}`);
}
