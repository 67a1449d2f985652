/**
 * Telemetry of a `skiff proxy` process: the hooks handed to `SkiffProxy`, the metrics port
 * (`/stats/prometheus`, Istio's 15020), and the final flush of spans and log lines at shutdown.
 * Command-line settings are the defaults; a snapshot's `telemetry` section overrides them.
 */
import type { AddressInfo } from 'node:net';
import type { TelemetryRunOptions } from './config.js';
import type { ProxyHealthSource } from './metrics/health.js';
import type { MetricsDump } from './metrics/istio-metrics.js';
import { mergeMetricsDumps } from './metrics/istio-metrics.js';
import { MetricsServer } from './metrics/server.js';
import type { StatusPortHandler } from './metrics/server.js';
import { ProxyTelemetry } from './proxy-telemetry.js';

export { DEFAULT_METRICS_PORT, DEFAULT_RUN_TELEMETRY } from './config.js';
export type { TelemetryRunOptions } from './config.js';

export class ProxyProcessTelemetry {
  private server: MetricsServer | null = null;

  private constructor(
    readonly hooks: ProxyTelemetry,
    private readonly opts: TelemetryRunOptions,
  ) {}

  static create(opts: TelemetryRunOptions): ProxyProcessTelemetry {
    return new ProxyProcessTelemetry(
      new ProxyTelemetry({
        defaults: {
          accessLog: { enabled: opts.accessLog, format: opts.accessLogFormat, custom: null },
          tracing: { sampling: opts.traceSampling, zipkinUrl: opts.zipkinUrl ?? null, otlpUrl: opts.otlpUrl ?? null, collectorUrl: null },
        },
      }),
      opts,
    );
  }

  /**
   * Opens the metrics port (when configured and `serve`); resolves to its address. `others`
   * supplies the figures of sibling worker processes, summed into what the port serves;
   * `statusHandler` answers the port's other paths (the app probes of `/app-health/…`).
   */
  async start(proxy: ProxyHealthSource, serve: boolean, others?: () => Promise<MetricsDump[]>, statusHandler?: StatusPortHandler): Promise<AddressInfo | null> {
    if (this.opts.metricsPort === null || !serve) return null;
    const render = others === undefined ? () => this.hooks.renderPrometheus(proxy) : async () => this.hooks.renderPrometheus(proxy, await others());
    const dump = others === undefined ? () => this.hooks.dump() : async () => mergeMetricsDumps([this.hooks.dump(), ...(await others())]);
    this.server = await MetricsServer.start(this.opts.metricsPort, this.opts.metricsAddress, render, dump, statusHandler);
    return this.server.address();
  }

  /** Closes the metrics port and flushes what telemetry still holds. */
  async close(): Promise<void> {
    await this.server?.close();
    this.server = null;
    await this.hooks.close();
  }
}
