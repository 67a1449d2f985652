/**
 * From Istio's MeshConfig to the mesh options translation reads. The ConfigMap is the mesh
 * config, as in Istio: a field it sets wins; what it leaves unset falls back to `defaults`
 * (skiffd's options, i.e. `skiff up`'s flags), then to Istio's defaults. The fields read here
 * are those `src/config/mesh-config.ts` lists as acted on; it warns about every other one.
 */
import type { MeshConfig } from '../api/mesh-config.js';
import { meshAccessLogFormat, namedProviders } from '../config/mesh-config.js';
import { providerFormat, withFormat, withNewline } from './translate/access-logging.js';
import type { MeshAccessLog, MeshOptions, MeshTelemetry } from './translate/types.js';

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
  if (accessLog !== undefined) out.accessLog = { ...out.accessLog, ...accessLog.settings };
  if (config.accessLogEncoding !== undefined && out.accessLog !== undefined) out.accessLog.format = config.accessLogEncoding === 'JSON' ? 'json' : 'text';
  // `accessLogFormat` is the format of the mesh's own log (Istio's built-in `envoy` provider), not of a named provider's.
  const custom = meshAccessLogFormat(config);
  if (out.accessLog !== undefined && accessLog?.fromProvider !== true && custom !== null && typeof custom !== 'string') {
    out.accessLog = withFormat(out.accessLog, 'text' in custom ? { format: 'text', text: withNewline(custom.text) } : { format: 'json', labels: custom.labels });
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Whether the mesh config turns access logs on or off, and in which format: `accessLogFile`
 * (set and not empty: on; empty: off), else a default access-logging provider that writes a
 * file (Istio's `envoy`, or an `envoyFileAccessLog` provider with its `logFormat`).
 */
function accessLogFrom(config: MeshConfig): { settings: MeshAccessLog; fromProvider: boolean } | undefined {
  if (config.accessLogFile !== undefined) return { settings: { enabled: config.accessLogFile !== '' }, fromProvider: false };
  const names = config.defaultProviders?.accessLogging;
  if (names === undefined) return undefined;
  const file = namedProviders(config, names).find((p) => p.kind === 'envoyFileAccessLog');
  if (file === undefined) return undefined;
  if (file.provider === undefined) return { settings: { enabled: true }, fromProvider: false };
  const format = providerFormat(file.provider);
  // Istio's default text format is the proxy's default: left unset, so accessLogEncoding still applies to it.
  return { settings: withFormat({ enabled: true }, format.text === undefined && format.labels === undefined && format.format === 'text' ? {} : format), fromProvider: true };
}
