/**
 * From per-round samples to result rows: medians over rounds, and the comparisons made within a
 * round (throughput ÷ nginx's, p99 − direct's) before taking their median, so slow drifts of a
 * shared machine cancel out. Also checks the rows against the project's performance targets.
 */
import type { RoundSample } from './measure.js';

export interface ScenarioSamples {
  scenario: string;
  description: string;
  /** Proxy processes in the path (0 for direct, 2 for two hops). */
  proxies: number;
  rssIdleMb: number | null;
  samples: RoundSample[];
}

/** One row of `latest.json`; field names are the published interface of the benchmark. */
export interface Row {
  scenario: string;
  description: string;
  /** Max throughput, req/s. */
  rps: number | null;
  rps_vs_nginx: number | null;
  /** Latency at the fixed rate, ms. */
  p50_ms: number | null;
  p90_ms: number | null;
  p99_ms: number | null;
  /** p99 minus direct's p99 in the same round, ms. */
  added_p99_ms: number | null;
  /** Proxy CPU seconds per 1000 requests at the fixed rate (= vCPU per 1000 req/s). */
  vcpu_per_1k_rps: number | null;
  /** Proxy CPU per request at max throughput, µs. */
  cpu_us_per_req: number | null;
  rss_idle_mb: number | null;
  rss_load_mb: number | null;
  /** Rate the paced run achieved, req/s. */
  fixed_rate_rps: number | null;
  proxies: number;
  rounds: number;
  /** Failed requests over all runs of the row (should be 0). */
  errors: number;
  /** Median share of the proxy core busy with other work during the max-throughput runs (noise gauge). */
  other_busy_on_proxy_core: number | null;
  samples: RoundSample[];
}

export function median(values: readonly (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

function round(v: number | null, digits: number): number | null {
  if (v === null) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Median over rounds of f(sample, reference sample of the same round); rounds without a reference are left out. */
function pairedMedian(samples: readonly RoundSample[], refs: readonly RoundSample[] | undefined, f: (s: RoundSample, ref: RoundSample) => number | null): number | null {
  if (refs === undefined) return null;
  return median(
    samples.map((s) => {
      const ref = refs.find((r) => r.round === s.round);
      return ref === undefined ? null : f(s, ref);
    }),
  );
}

export function buildRows(all: readonly ScenarioSamples[]): Row[] {
  const nginx = all.find((s) => s.scenario === 'nginx')?.samples;
  const direct = all.find((s) => s.scenario === 'direct')?.samples;
  return all.map((s): Row => {
    const m = (f: (x: RoundSample) => number | null): number | null => median(s.samples.map(f));
    return {
      scenario: s.scenario,
      description: s.description,
      rps: round(m((x) => x.rps), 0),
      rps_vs_nginx: round(
        pairedMedian(s.samples, nginx, (x, ref) => (ref.rps > 0 ? x.rps / ref.rps : null)),
        2,
      ),
      p50_ms: round(m((x) => x.p50Ms), 3),
      p90_ms: round(m((x) => x.p90Ms), 3),
      p99_ms: round(m((x) => x.p99Ms), 3),
      added_p99_ms:
        s.scenario === 'direct'
          ? 0
          : round(
              pairedMedian(s.samples, direct, (x, ref) => (x.p99Ms === null || ref.p99Ms === null ? null : x.p99Ms - ref.p99Ms)),
              3,
            ),
      vcpu_per_1k_rps: round(m((x) => x.vcpuPer1kRps), 4),
      cpu_us_per_req: round(m((x) => x.cpuUsPerReq), 1),
      rss_idle_mb: round(s.rssIdleMb, 1),
      rss_load_mb: round(m((x) => x.rssLoadMb), 1),
      fixed_rate_rps: round(m((x) => x.fixedRps), 0),
      proxies: s.proxies,
      rounds: s.samples.length,
      errors: s.samples.reduce((n, x) => n + x.errors, 0),
      other_busy_on_proxy_core: round(m((x) => x.otherBusyOnProxyCore), 2),
      samples: s.samples,
    };
  });
}

export interface TargetCheck {
  target: string;
  /** What was measured, in words (or why nothing was). */
  measured: string;
  /** null when not measured in this run. */
  met: boolean | null;
}

const fmt = (v: number | null, unit = ''): string => (v === null ? 'n/a' : `${v}${unit}`);

type CpuOf = (s: RoundSample) => number | null;
const CPU_FULL_LOAD: CpuOf = (s) => s.cpuUsPerReq;
const CPU_FIXED_RATE: CpuOf = (s) => s.vcpuPer1kRps;

/** Median over rounds of a row's CPU per request divided by a reference row's in the same round. */
function cpuRatio(row: Row | undefined, ref: Row | undefined, cpu: CpuOf): number | null {
  if (row === undefined || ref === undefined) return null;
  return round(
    pairedMedian(row.samples, ref.samples, (x, r) => {
      const a = cpu(x);
      const b = cpu(r);
      return a === null || b === null || b <= 0 ? null : a / b;
    }),
    2,
  );
}

/**
 * What the TLS work alone costs one pair against the other, per round: each pair's mutual-TLS row
 * less its plaintext row, Skiff's over nginx's. Rounds where either difference is not positive
 * (noise larger than the TLS work) are left out.
 */
function tlsWorkRatio(skiffTls: Row | undefined, skiffPlain: Row | undefined, nginxTls: Row | undefined, nginxPlain: Row | undefined, cpu: CpuOf): number | null {
  if (skiffTls === undefined || skiffPlain === undefined || nginxTls === undefined || nginxPlain === undefined) return null;
  const inRound = (row: Row, n: number): number | null => {
    const s = row.samples.find((x) => x.round === n);
    return s === undefined ? null : cpu(s);
  };
  return round(
    median(
      skiffTls.samples.map((s) => {
        const [a, b, c, d] = [cpu(s), inRound(skiffPlain, s.round), inRound(nginxTls, s.round), inRound(nginxPlain, s.round)];
        if (a === null || b === null || c === null || d === null || a - b <= 0 || c - d <= 0) return null;
        return (a - b) / (c - d);
      }),
    ),
    2,
  );
}

/** The targets, checked against this run's rows. */
export function checkTargets(rows: readonly Row[]): TargetCheck[] {
  const row = (name: string): Row | undefined => rows.find((r) => r.scenario === name);
  const out = row('skiff-outbound');
  const inb = row('skiff-inbound');
  const two = row('skiff-2hop');
  const mtls = row('skiff-2hop-mtls');
  const nginxMtls = row('nginx-2hop-mtls');
  const mtlsFull = cpuRatio(mtls, nginxMtls, CPU_FULL_LOAD);
  const mtlsFixed = cpuRatio(mtls, nginxMtls, CPU_FIXED_RATE);
  const tlsFull = tlsWorkRatio(mtls, two, nginxMtls, row('nginx-2hop'), CPU_FULL_LOAD);
  const tlsFixed = tlsWorkRatio(mtls, two, nginxMtls, row('nginx-2hop'), CPU_FIXED_RATE);
  const oneHop = [out, inb].filter((r): r is Row => r !== undefined && r.rps_vs_nginx !== null);
  const worstRatio = oneHop.length === 0 ? null : Math.min(...oneHop.map((r) => r.rps_vs_nginx!));
  const checks: TargetCheck[] = [
    {
      target: 'one sidecar hop, max throughput ≥ 0.5× nginx with the Bookinfo feature set (goal 1.0×)',
      measured: `outbound ${fmt(out?.rps_vs_nginx ?? null, '×')}, inbound ${fmt(inb?.rps_vs_nginx ?? null, '×')}`,
      met: worstRatio === null ? null : worstRatio >= 0.5,
    },
    {
      target: 'two hops at 1000 req/s: added p99 ≤ 1 ms over direct',
      measured: `${fmt(two?.added_p99_ms ?? null, ' ms')}`,
      met: two?.added_p99_ms == null ? null : two.added_p99_ms <= 1,
    },
    {
      target: '≤ 0.15 vCPU per 1000 req/s per sidecar',
      measured: `outbound ${fmt(out?.vcpu_per_1k_rps ?? null)}, inbound ${fmt(inb?.vcpu_per_1k_rps ?? null)}`,
      met: out?.vcpu_per_1k_rps == null ? null : Math.max(out.vcpu_per_1k_rps, inb?.vcpu_per_1k_rps ?? 0) <= 0.15,
    },
    {
      target: 'sidecar RSS idle ≤ 40 MB',
      measured: `${fmt(out?.rss_idle_mb ?? null, ' MB')}`,
      met: out?.rss_idle_mb == null ? null : out.rss_idle_mb <= 40,
    },
    {
      target: "mutual TLS pair within 2× of nginx's CPU per request for the same TLS work",
      measured:
        `skiff-2hop-mtls ×nginx-2hop-mtls: full load ${fmt(mtlsFull, '×')}, at the fixed rate ${fmt(mtlsFixed, '×')}; ` +
        `the TLS work alone (each pair's mTLS row less its plaintext row): full load ${fmt(tlsFull, '×')}, at the fixed rate ${fmt(tlsFixed, '×')}`,
      met: mtlsFull === null || mtlsFixed === null ? null : mtlsFull <= 2 && mtlsFixed <= 2,
    },
  ];
  return checks;
}
