/**
 * The `skiff proxy` options for telemetry (metrics port, access log, tracing), added to the
 * command and read back as `TelemetryRunOptions`. A snapshot's `telemetry` section overrides the
 * access log and tracing settings given here.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { DEFAULT_RUN_TELEMETRY } from './config.js';
import { TelemetryConfigError, checkSampling, checkUrl } from '../snapshot/index.js';
import type { AccessLogFormat } from '../snapshot/index.js';
import type { TelemetryRunOptions } from './config.js';

export interface TelemetryCliOptions {
  metricsPort: number;
  metricsAddress: string;
  accessLog?: boolean;
  accessLogFormat: AccessLogFormat;
  traceSampling: number;
  zipkinUrl?: string;
  otlpUrl?: string;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`not a port number: ${value}`);
  return n;
}

function format(value: string): AccessLogFormat {
  if (value !== 'text' && value !== 'json') throw new InvalidArgumentError(`must be text or json: ${value}`);
  return value;
}

/** A commander argument parser from a config check: its `TelemetryConfigError` becomes commander's usage error. */
export function checked<T>(check: (v: unknown, at: string) => T, parse: (s: string) => unknown): (value: string) => T {
  return (value) => {
    try {
      return check(parse(value), 'value');
    } catch (err) {
      if (err instanceof TelemetryConfigError) throw new InvalidArgumentError(err.reason);
      throw err;
    }
  };
}

export function addTelemetryOptions(cmd: Command): Command {
  return cmd
    .option('--metrics-port <port>', 'Prometheus metrics at /stats/prometheus (0 = any free port)', port, DEFAULT_RUN_TELEMETRY.metricsPort)
    .option('--metrics-address <address>', 'address the metrics port listens on', DEFAULT_RUN_TELEMETRY.metricsAddress)
    .option('--access-log', 'log one line per request and TCP connection to stdout')
    .option('--access-log-format <format>', 'access log format: text (Envoy default) or json', format, 'text')
    .option(
      '--trace-sampling <percent>',
      'percentage of new traces sampled, 0..100',
      checked(checkSampling, (s) => (s.trim() === '' ? NaN : Number(s))),
      DEFAULT_RUN_TELEMETRY.traceSampling,
    )
    .option('--zipkin-url <url>', 'send spans as Zipkin v2 JSON to this URL (e.g. http://zipkin:9411/api/v2/spans)', checked(checkUrl, (s) => s))
    .option('--otlp-url <url>', 'send spans as OTLP/HTTP JSON to this URL (e.g. http://collector:4318/v1/traces)', checked(checkUrl, (s) => s));
}

export function telemetryRunOptions(opts: TelemetryCliOptions): TelemetryRunOptions {
  return {
    metricsPort: opts.metricsPort,
    metricsAddress: opts.metricsAddress,
    accessLog: opts.accessLog === true,
    accessLogFormat: opts.accessLogFormat,
    traceSampling: opts.traceSampling,
    ...(opts.zipkinUrl !== undefined ? { zipkinUrl: opts.zipkinUrl } : {}),
    ...(opts.otlpUrl !== undefined ? { otlpUrl: opts.otlpUrl } : {}),
  };
}
