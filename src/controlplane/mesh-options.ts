/**
 * From Istio's MeshConfig to the mesh options translation reads. The ConfigMap is the mesh
 * config, as in Istio: a field it sets wins; what it leaves unset falls back to `defaults`
 * (skiffd's options, i.e. `skiff up`'s flags), then to Istio's defaults. The fields read here
 * are those `src/config/mesh-config.ts` lists as acted on; it warns about every other one.
 */
import type { MeshConfig } from '../api/mesh-config.js';
import { namedProviders } from '../config/mesh-config.js';
import type { MeshOptions, MeshTelemetry } from './translate/types.js';

/** The mesh options of `config` over `defaults` (the result shares no mutable parts with either). */
export function meshOptionsFrom(config: MeshConfig, defaults: Partial<MeshOptions> = {}): Partial<MeshOptions> {
  const out: Partial<MeshOptions> = { ...defaults };
  const mode = config.outboundTrafficPolicy?.mode;
  if (mode !== undefined) out.outboundTrafficPolicy = mode;
  // Istio reads an empty string as unset for these.
  if (config.rootNamespace !== undefined && config.rootNamespace !== '') out.rootNamespace = config.rootNamespace;
  if (config.trustDomain !== undefined && config.trustDomain !== '') out.trustDomain = config.trustDomain;
  if (config.defaultHttpRetryPolicy !== undefined) out.defaultHttpRetry = structuredClone(config.defaultHttpRetryPolicy);
  if (config.extensionProviders !== undefined) out.extensionProviders = structuredClone(config.extensionProviders);
  if (config.defaultProviders !== undefined) out.defaultProviders = structuredClone(config.defaultProviders);
  const normalization = config.pathNormalization?.normalization;
  if (normalization !== undefined) out.pathNormalization = normalization;
  const telemetry = telemetryFrom(config, defaults.telemetry);
  if (telemetry !== undefined) out.telemetry = telemetry;
  else delete out.telemetry;
  return out;
}

/** Tracing sampling and access logging: the mesh config's fields over the defaults'. */
function telemetryFrom(config: MeshConfig, defaults: MeshTelemetry | undefined): MeshTelemetry | undefined {
  const out: MeshTelemetry = { ...defaults, ...(defaults?.accessLog !== undefined ? { accessLog: { ...defaults.accessLog } } : {}) };
  const sampling = config.defaultConfig?.tracing?.sampling;
  if (sampling !== undefined) out.sampling = sampling;
  // No new traces without tracing: Istio's enableTracing (default true) generates no spans when false.
  if (config.enableTracing === false) out.sampling = 0;

  const accessLog = accessLogFrom(config);
  if (accessLog !== undefined) out.accessLog = { ...out.accessLog, ...accessLog };
  if (config.accessLogEncoding !== undefined && out.accessLog !== undefined) out.accessLog.format = config.accessLogEncoding === 'JSON' ? 'json' : 'text';
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Whether the mesh config turns access logs on or off, and in which format: `accessLogFile`
 * (set and not empty: on; empty: off), else a default access-logging provider that writes a
 * file (Istio's `envoy`, or an `envoyFileAccessLog` provider: JSON when it gives `labels`).
 */
function accessLogFrom(config: MeshConfig): MeshTelemetry['accessLog'] | undefined {
  if (config.accessLogFile !== undefined) return { enabled: config.accessLogFile !== '' };
  const names = config.defaultProviders?.accessLogging;
  if (names === undefined) return undefined;
  const file = namedProviders(config, names).find((p) => p.kind === 'envoyFileAccessLog');
  if (file === undefined) return undefined;
  const labels = file.provider?.envoyFileAccessLog?.logFormat?.labels;
  return { enabled: true, ...(labels !== undefined ? { format: 'json' as const } : {}) };
}
