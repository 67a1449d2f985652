/**
 * CLIENT_SIDE_WEIGHTED_ROUND_ROBIN (Istio's `loadBalancer.backendUtilization`), as Envoy's
 * client-side weighted round robin: each endpoint is weighted by the load it reports on its
 * responses (ORCA, see orca.ts),
 *
 *   weight = qps / (utilization + eps / qps × errorUtilizationPenalty)
 *
 * where utilization is application_utilization when reported, else the largest of the
 * configured named metrics, else cpu_utilization; a report without qps or utilization is
 * ignored. A weight counts only once its endpoint has reported for the blackout period, and
 * lapses when the endpoint has not reported for the expiration period (the blackout then starts
 * again). Weights are recomputed every update period; endpoints without a weight in force get
 * the median of the others' (every endpoint equal when none has one), so endpoints that never
 * report are balanced as round robin would.
 */
import type { BackendUtilizationConfig } from '../../../snapshot/index.js';
import type { Clock, Endpoint, LoadBalancer, PickContext, Random } from '../types.js';
import { pickAvoiding, smoothWeightedChoice } from './common.js';
import type { OrcaReport } from './orca.js';

interface Reported {
  weight: number;
  /** When the latest usable report came. */
  lastUpdate: number;
  /** When the current run of reports began (reset when the weight expires). */
  nonEmptySince: number;
}

/** What the endpoints of one cluster reported; kept across balancer rebuilds and host updates. */
export class EndpointLoadReports {
  private readonly reported = new WeakMap<Endpoint, Reported>();

  constructor(
    private config: BackendUtilizationConfig,
    private readonly clock: Clock,
  ) {}

  get settings(): BackendUtilizationConfig {
    return this.config;
  }

  setConfig(config: BackendUtilizationConfig): void {
    this.config = config;
  }

  /** The weight a report gives, or 0 when it gives none (no qps or no utilization). */
  weightOf(r: OrcaReport): number {
    let utilization = r.applicationUtilization;
    if (utilization <= 0) {
      for (const name of this.config.metricNamesForComputingUtilization) utilization = Math.max(utilization, r.namedMetrics.get(name) ?? 0);
    }
    if (utilization <= 0) utilization = r.cpuUtilization;
    const qps = r.rpsFractional;
    if (qps <= 0 || utilization <= 0) return 0;
    if (r.eps > 0 && this.config.errorUtilizationPenalty > 0) utilization += (r.eps / qps) * this.config.errorUtilizationPenalty;
    return qps / utilization;
  }

  record(host: Endpoint, report: OrcaReport): void {
    const weight = this.weightOf(report);
    if (weight <= 0) return;
    const now = this.clock.now();
    const prev = this.reported.get(host);
    if (prev === undefined) {
      this.reported.set(host, { weight, lastUpdate: now, nonEmptySince: now });
      return;
    }
    // A weight that had lapsed starts its blackout again.
    if (now - prev.lastUpdate >= this.config.weightExpirationPeriodMs) prev.nonEmptySince = now;
    prev.weight = weight;
    prev.lastUpdate = now;
  }

  /** The weight in force for `host` at `now`: 0 while in blackout, after expiry, or never reported. */
  weightInForce(host: Endpoint, now: number): number {
    const r = this.reported.get(host);
    if (r === undefined) return 0;
    if (now - r.lastUpdate >= this.config.weightExpirationPeriodMs) return 0;
    if (now - r.nonEmptySince < this.config.blackoutPeriodMs) return 0;
    return r.weight;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function createWeightedRoundRobinLb(hosts: readonly Endpoint[], random: Random, reports: EndpointLoadReports, clock: Clock): LoadBalancer {
  const n = hosts.length;
  if (n === 0) return { pick: () => undefined };
  if (n === 1) return { pick: () => hosts[0] };
  const weights = new Float64Array(n);
  // Smooth weighted round robin over the weights in force; a random start credit keeps many
  // proxies from choosing alike, as in round-robin.ts.
  const current = Float64Array.from({ length: n }, () => random());
  let total = 0;
  let nextUpdate = -Infinity;
  const recompute = (now: number): void => {
    const valid: number[] = [];
    for (let i = 0; i < n; i++) {
      weights[i] = reports.weightInForce(hosts[i], now);
      if (weights[i] > 0) valid.push(weights[i]);
    }
    const fallback = valid.length === 0 ? 1 : median(valid);
    total = 0;
    for (let i = 0; i < n; i++) {
      if (weights[i] <= 0) weights[i] = fallback;
      total += weights[i];
    }
    nextUpdate = now + reports.settings.weightUpdatePeriodMs;
  };
  const choose = (): Endpoint => {
    const now = clock.now();
    if (now >= nextUpdate) recompute(now);
    return smoothWeightedChoice(hosts, weights, current, total);
  };
  return { pick: (ctx: PickContext) => pickAvoiding(hosts, ctx.exclude, n, choose) };
}
