/**
 * The mesh-wide telemetry options of `skiff up` (Istio's MeshConfig `defaultConfig.tracing`,
 * `accessLogFile` and tracer addresses): added to the command, read back as the mesh's telemetry
 * settings, and turned back into arguments for the background skiffd of `--detach`.
 */
import type { Command } from 'commander';
import { checked } from './cli-options.js';
import { checkSampling, checkUrl } from '../snapshot/index.js';

/** What commander yields for these options. */
export interface MeshTelemetryCliOptions {
  traceSampling?: number;
  zipkinUrl?: string;
  otlpUrl?: string;
  accessLog?: boolean;
}

/** The mesh's telemetry settings (the shape of translation's `MeshOptions.telemetry`). */
export interface MeshTelemetrySettings {
  sampling?: number;
  zipkinUrl?: string;
  otlpUrl?: string;
  accessLog?: { enabled: boolean };
}

export function addMeshTelemetryOptions(cmd: Command): Command {
  return cmd
    .option(
      '--trace-sampling <percent>',
      'percentage of requests every proxy starts a trace for, 0..100 (default 1, as Istio; Telemetry resources override it)',
      checked(checkSampling, (s) => (s.trim() === '' ? NaN : Number(s))),
    )
    .option('--zipkin-url <url>', 'every proxy also sends spans as Zipkin v2 JSON here (e.g. http://127.0.0.1:9411/api/v2/spans)', checked(checkUrl, (s) => s))
    .option('--otlp-url <url>', 'every proxy also sends spans as OTLP/HTTP JSON here (e.g. http://127.0.0.1:4318/v1/traces)', checked(checkUrl, (s) => s))
    .option('--access-log', "every proxy logs one line per request to its proxy.log (Istio's accessLogFile: /dev/stdout)");
}

/** The settings the options give; undefined when none was given. */
export function meshTelemetryOf(opts: MeshTelemetryCliOptions): MeshTelemetrySettings | undefined {
  const out: MeshTelemetrySettings = {};
  if (opts.traceSampling !== undefined) out.sampling = opts.traceSampling;
  if (opts.zipkinUrl !== undefined) out.zipkinUrl = opts.zipkinUrl;
  if (opts.otlpUrl !== undefined) out.otlpUrl = opts.otlpUrl;
  if (opts.accessLog === true) out.accessLog = { enabled: true };
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The `startSkiffd` options the command-line options give (nothing when none was given). */
export function skiffdTelemetryOptions(opts: MeshTelemetryCliOptions): { mesh?: { telemetry: MeshTelemetrySettings } } {
  const telemetry = meshTelemetryOf(opts);
  return telemetry === undefined ? {} : { mesh: { telemetry } };
}

/** The same options as arguments, for a skiffd started in the background. */
export function meshTelemetryArgs(opts: MeshTelemetryCliOptions): string[] {
  return [
    ...(opts.traceSampling !== undefined ? ['--trace-sampling', String(opts.traceSampling)] : []),
    ...(opts.zipkinUrl !== undefined ? ['--zipkin-url', opts.zipkinUrl] : []),
    ...(opts.otlpUrl !== undefined ? ['--otlp-url', opts.otlpUrl] : []),
    ...(opts.accessLog === true ? ['--access-log'] : []),
  ];
}
