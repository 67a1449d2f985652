/**
 * The telemetry settings in force: the proxy's command-line defaults, overlaid with the
 * snapshot's `telemetry` section (`src/snapshot/telemetry.ts`).
 */
import type { AccessLogFormat, TelemetryConfig } from '../snapshot/index.js';
import type { JsonFormatValue } from '../api/access-log-format.js';

/** A custom access-log format, as the snapshot gives it (text or labels); null for Istio's default. */
export type CustomAccessLogFormat = { readonly text: string } | { readonly labels: Readonly<Record<string, JsonFormatValue>> } | null;

/** The settings in force: command-line defaults overlaid with the snapshot's section. */
export interface EffectiveTelemetry {
  accessLog: { enabled: boolean; format: AccessLogFormat; custom: CustomAccessLogFormat };
  tracing: { sampling: number; zipkinUrl: string | null; otlpUrl: string | null; collectorUrl: string | null };
}

/** What `skiff proxy` is started with (its command-line options). */
export interface TelemetryRunOptions {
  /** Port of `/stats/prometheus`; null disables it. Istio's is 15020. */
  metricsPort: number | null;
  metricsAddress: string;
  accessLog: boolean;
  accessLogFormat: AccessLogFormat;
  /** Percentage of new traces sampled, 0..100. */
  traceSampling: number;
  zipkinUrl?: string;
  otlpUrl?: string;
}

export const DEFAULT_METRICS_PORT = 15020;

/** Istio's defaults: metrics on 0.0.0.0:15020, no access log, 1 % sampling, no trace endpoint. */
export const DEFAULT_RUN_TELEMETRY: TelemetryRunOptions = Object.freeze({
  metricsPort: DEFAULT_METRICS_PORT,
  metricsAddress: '0.0.0.0',
  accessLog: false,
  accessLogFormat: 'text' as const,
  traceSampling: 1,
});

/** Istio's defaults: no access log, 1 % trace sampling, no trace endpoint. */
export const DEFAULT_TELEMETRY: EffectiveTelemetry = Object.freeze({
  accessLog: Object.freeze({ enabled: false, format: 'text' as const, custom: null }),
  tracing: Object.freeze({ sampling: 1, zipkinUrl: null, otlpUrl: null, collectorUrl: null }),
});

/** The snapshot's section, where it says something, over the defaults. */
export function effectiveTelemetry(defaults: EffectiveTelemetry, section: TelemetryConfig | undefined): EffectiveTelemetry {
  const a = section?.accessLog;
  const t = section?.tracing;
  return {
    accessLog: {
      enabled: a === undefined ? defaults.accessLog.enabled : (a.enabled ?? true),
      format: a?.format ?? defaults.accessLog.format,
      custom: a?.text !== undefined ? { text: a.text } : a?.labels !== undefined ? { labels: a.labels } : defaults.accessLog.custom,
    },
    tracing: {
      sampling: t?.sampling ?? defaults.tracing.sampling,
      zipkinUrl: t?.zipkinUrl ?? defaults.tracing.zipkinUrl,
      otlpUrl: t?.otlpUrl ?? defaults.tracing.otlpUrl,
      collectorUrl: t?.collectorUrl ?? defaults.tracing.collectorUrl,
    },
  };
}
