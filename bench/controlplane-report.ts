/**
 * The control-plane suite's result: its shape in latest.json, the per-size summary of the
 * measured changes, and the Markdown table printed after a run.
 */

export interface ControlPlaneMeasurement {
  proxies: number;
  services: number;
  /** Workload instances in the registry (one per proxy, at least one per service). */
  workloads: number;
  /** From opening the first stream to the last proxy acknowledging its first snapshot. */
  initial_sync_ms: number;
  /** From the config change being written to the last proxy acknowledging the new snapshot: median over the changes. */
  change_to_last_ack_ms: number;
  /** Every change's time, in order. */
  change_samples_ms: number[];
  /** skiffd's CPU seconds (user + system) per change, median over the changes. */
  skiffd_cpu_s: number;
  /** skiffd's resident memory after the changes. */
  skiffd_rss_mb: number;
  /** Size of one proxy's complete snapshot message. */
  snapshot_kb: number;
  /** Size of the message that brought a proxy the change (a delta when the proxy takes them): median of the largest per change. */
  change_message_kb?: number;
}

/** A size whose run failed (a step timed out): why, so the other sizes' rows still count. */
export interface ControlPlaneFailure {
  proxies: number;
  reason: string;
}

export type ControlPlaneResult =
  | { status: 'measured'; rows: ControlPlaneMeasurement[]; failed: ControlPlaneFailure[] }
  | { status: 'not-run'; reason: string };

/** Target: a change reaches 1000 proxies within this many milliseconds. */
export const CONTROL_PLANE_TARGET_MS = 1000;

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** One change: when it was written, the latest ACK of it, skiffd's CPU seconds over it, and the largest message that brought it. */
export interface ChangeSample {
  writtenAt: number;
  lastAckAt: number;
  cpuS: number;
  messageBytes: number;
}

export function summariseChanges(samples: readonly ChangeSample[]): Pick<ControlPlaneMeasurement, 'change_to_last_ack_ms' | 'change_samples_ms' | 'skiffd_cpu_s' | 'change_message_kb'> {
  const ms = samples.map((s) => s.lastAckAt - s.writtenAt);
  return {
    change_to_last_ack_ms: median(ms),
    change_samples_ms: ms,
    skiffd_cpu_s: median(samples.map((s) => s.cpuS)),
    change_message_kb: median(samples.map((s) => s.messageBytes)) / 1024,
  };
}

/** The Markdown table of a measured run, with the target line; a not-run result as one line. */
export function controlPlaneTable(result: ControlPlaneResult): string {
  if (result.status === 'not-run') return `control plane: not run (${result.reason})`;
  const lines = [
    '| proxies | services | initial sync (ms) | change → last ACK (ms, median) | changes (ms) | skiffd CPU per change (s) | skiffd RSS (MB) | snapshot (KB) | change message (KB) |',
    '|---:|---:|---:|---:|---|---:|---:|---:|---:|',
    ...result.rows.map(
      (r) =>
        `| ${r.proxies} | ${r.services} | ${Math.round(r.initial_sync_ms)} | ${Math.round(r.change_to_last_ack_ms)} | ${r.change_samples_ms.map((v) => Math.round(v)).join(', ')} | ` +
        `${r.skiffd_cpu_s.toFixed(2)} | ${Math.round(r.skiffd_rss_mb)} | ${Math.round(r.snapshot_kb)} | ${r.change_message_kb === undefined ? '—' : r.change_message_kb.toFixed(1)} |`,
    ),
  ];
  for (const f of result.failed) lines.push('', `${f.proxies} proxies: not measured: ${f.reason.split('\n')[0]}`);
  const at1000 = result.rows.find((r) => r.proxies === 1000);
  if (at1000 !== undefined) {
    const ok = at1000.change_to_last_ack_ms <= CONTROL_PLANE_TARGET_MS;
    lines.push('', `target: a change reaches 1000 proxies in ≤ ${CONTROL_PLANE_TARGET_MS} ms — ${ok ? 'met' : 'NOT met'} (${Math.round(at1000.change_to_last_ack_ms)} ms)`);
  }
  return lines.join('\n');
}
