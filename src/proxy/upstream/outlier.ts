/**
 * Outlier detection as Envoy's consecutive-errors detectors: the request path reports each
 * upstream outcome per host; N consecutive 5xx (or gateway errors, or local-origin failures when
 * split) eject the host for baseEjectionTime × its ejection count (capped at maxEjectionTime),
 * hosts return on the interval sweep, and at most maxEjectionPercent of hosts are out at once.
 * Time comes from an injected clock so behaviour is testable on virtual time.
 */
import type { Clock, Endpoint, TimerHandle } from './types.js';
import type { OutlierDetectionConfig } from '../../snapshot/index.js';
import type { HostImpl } from './endpoint.js';

/**
 * An upstream outcome: the HTTP status the host answered, or a local-origin event.
 * - `connect-failure`: the connection could not be established (Envoy LocalOriginConnectFailed);
 * - `reset`: the connection was reset/closed before a response (Envoy reports it the same way);
 * - `timeout`: no response in time (LocalOriginTimeout);
 * - `connect-success`: an HTTP connection was established, the request continues (ignored
 *   unless local-origin errors are split);
 * - `connect-success-final`: TCP proxying, where the connection is the whole transaction (a success).
 */
export type OutlierOutcome = number | 'connect-failure' | 'reset' | 'timeout' | 'connect-success' | 'connect-success-final';

type EjectionType = 'consecutive_5xx' | 'consecutive_gateway_failure' | 'consecutive_local_origin_failure';

interface HostMonitor {
  consecutive5xx: number;
  consecutiveGateway: number;
  consecutiveLocalOrigin: number;
  numEjections: number;
  /** Multiplier of baseEjectionTime for the current/next ejection; decays while healthy. */
  backoff: number;
  lastEjectionAt: number;
  lastUnejectionAt: number | undefined;
}

export class OutlierDetector {
  private readonly monitors = new Map<Endpoint, HostMonitor>();
  private timer: TimerHandle | undefined;
  private ejectionsActive = 0;
  private readonly counters: Record<string, number> = {
    ejections_total: 0,
    ejections_overflow: 0,
    ejections_enforced_total: 0,
    ejections_consecutive_5xx: 0,
    ejections_detected_consecutive_5xx: 0,
    ejections_enforced_consecutive_5xx: 0,
    ejections_detected_consecutive_gateway_failure: 0,
    ejections_enforced_consecutive_gateway_failure: 0,
    ejections_detected_consecutive_local_origin_failure: 0,
    ejections_enforced_consecutive_local_origin_failure: 0,
  };

  /** `onChange` runs after a host is ejected or returned, so the cluster can rebalance. */
  constructor(
    private config: OutlierDetectionConfig,
    private readonly clock: Clock,
    private readonly onChange: (host: Endpoint) => void,
  ) {
    this.arm();
  }

  get settings(): OutlierDetectionConfig {
    return this.config;
  }

  /** Takes a new config; host state (counters, ejections, backoff) carries over. */
  updateConfig(config: OutlierDetectionConfig): void {
    const rearm = config.intervalMs !== this.config.intervalMs;
    this.config = config;
    if (rearm) this.arm();
  }

  /** Tracks exactly these hosts; a dropped host that was ejected no longer counts as ejected. */
  setHosts(hosts: readonly HostImpl[]): void {
    const keep = new Set<Endpoint>(hosts);
    for (const [host] of this.monitors) {
      if (keep.has(host)) continue;
      if (host.ejected) this.ejectionsActive--;
      this.monitors.delete(host);
    }
    for (const host of hosts) {
      if (!this.monitors.has(host)) {
        this.monitors.set(host, {
          consecutive5xx: 0,
          consecutiveGateway: 0,
          consecutiveLocalOrigin: 0,
          numEjections: 0,
          backoff: 0,
          lastEjectionAt: 0,
          lastUnejectionAt: undefined,
        });
        if (host.ejected) this.ejectionsActive++;
      }
    }
  }

  /** Records one outcome for `host`; hosts the detector does not track are ignored. */
  report(host: Endpoint, outcome: OutlierOutcome): void {
    const m = this.monitors.get(host);
    if (m === undefined) return;
    if (typeof outcome === 'number') return this.putHttpStatus(host as HostImpl, m, outcome);
    if (this.config.splitExternalLocalOriginErrors) {
      if (outcome === 'connect-success' || outcome === 'connect-success-final') m.consecutiveLocalOrigin = 0;
      else if (++m.consecutiveLocalOrigin === this.config.consecutiveLocalOriginFailures) {
        this.onConsecutive(host as HostImpl, m, 'consecutive_local_origin_failure');
      }
      return;
    }
    // Unsplit, Envoy maps local-origin events onto HTTP statuses: failures count as gateway errors.
    switch (outcome) {
      case 'connect-failure':
      case 'reset':
        return this.putHttpStatus(host as HostImpl, m, 503);
      case 'timeout':
        return this.putHttpStatus(host as HostImpl, m, 504);
      case 'connect-success-final':
        return this.putHttpStatus(host as HostImpl, m, 200);
      case 'connect-success':
        return;
    }
  }

  /** Times `host` has been ejected (Envoy's `num_ejections`). */
  ejectionCount(host: Endpoint): number {
    return this.monitors.get(host)?.numEjections ?? 0;
  }

  /** Stats relative to `cluster.<name>.`, Envoy names. */
  stats(): Record<string, number> {
    const out: Record<string, number> = { 'outlier_detection.ejections_active': this.ejectionsActive };
    for (const [name, value] of Object.entries(this.counters)) out[`outlier_detection.${name}`] = value;
    return out;
  }

  close(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private putHttpStatus(host: HostImpl, m: HostMonitor, status: number): void {
    if (status < 500 || status > 599) {
      m.consecutive5xx = 0;
      m.consecutiveGateway = 0;
      return;
    }
    if (status >= 502 && status <= 504) {
      if (++m.consecutiveGateway === this.config.consecutiveGatewayErrors) this.onConsecutive(host, m, 'consecutive_gateway_failure');
    } else {
      m.consecutiveGateway = 0;
    }
    if (++m.consecutive5xx === this.config.consecutive5xxErrors) this.onConsecutive(host, m, 'consecutive_5xx');
  }

  private onConsecutive(host: HostImpl, m: HostMonitor, type: EjectionType): void {
    // Counters keep running on an ejected host and are reset when it returns.
    if (host.ejected) return;
    this.counters[`ejections_detected_${type}`]++;
    this.eject(host, m, type);
    if (type === 'consecutive_5xx') {
      this.counters.ejections_consecutive_5xx++;
      m.consecutive5xx = 0;
    } else if (type === 'consecutive_gateway_failure') m.consecutiveGateway = 0;
    else m.consecutiveLocalOrigin = 0;
  }

  private eject(host: HostImpl, m: HostMonitor, type: EjectionType): void {
    const ejectedPercent = (100 * (this.ejectionsActive + 1)) / this.monitors.size;
    if (ejectedPercent > this.config.maxEjectionPercent) {
      this.counters.ejections_overflow++;
      return;
    }
    if (type === 'consecutive_5xx') this.counters.ejections_total++;
    this.counters.ejections_enforced_total++;
    this.counters[`ejections_enforced_${type}`]++;
    this.ejectionsActive++;
    host.ejected = true;
    m.numEjections++;
    m.lastEjectionAt = this.clock.now();
    // Grow the multiplier only while base × multiplier is still below the cap (Envoy).
    if (m.backoff * this.config.baseEjectionTimeMs < this.config.maxEjectionTimeMs + this.config.baseEjectionTimeMs) m.backoff++;
    this.onChange(host);
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = this.clock.setTimer(() => this.sweep(), this.config.intervalMs);
  }

  /** The interval sweep: return hosts whose ejection time is up; decay backoff of healthy ones. */
  private sweep(): void {
    const now = this.clock.now();
    const { baseEjectionTimeMs, maxEjectionTimeMs, intervalMs } = this.config;
    for (const [host, m] of this.monitors) {
      const h = host as HostImpl;
      if (h.ejected && Math.min(baseEjectionTimeMs * m.backoff, maxEjectionTimeMs) <= now - m.lastEjectionAt) {
        h.ejected = false;
        this.ejectionsActive--;
        m.consecutive5xx = 0;
        m.consecutiveGateway = 0;
        m.consecutiveLocalOrigin = 0;
        m.lastUnejectionAt = now;
        this.onChange(h);
      }
    }
    for (const [host, m] of this.monitors) {
      if (!host.ejected && m.lastUnejectionAt !== undefined && now - m.lastUnejectionAt >= intervalMs && m.backoff > 0) m.backoff--;
    }
    this.arm();
  }
}
