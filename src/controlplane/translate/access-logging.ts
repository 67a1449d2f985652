/**
 * Access logging as Istio configures it, from the mesh config and Telemetry resources: whether a
 * proxy logs, and in which format — Istio's default (TEXT or JSON encoding), or the custom format
 * of an `envoyFileAccessLog` provider (`logFormat.text`, `logFormat.labels`) a Telemetry resource
 * or the mesh's default providers name, or MeshConfig `accessLogFormat` for the built-in `envoy`
 * provider. Formats were checked when the mesh config was applied (`src/config/mesh-config.ts`).
 */
import type { JsonFormatValue } from '../../api/access-log-format.js';
import type { ExtensionProvider } from '../../api/mesh-config.js';
import type { MeshAccessLog } from './types.js';

/** The part of the access-log settings a provider decides: its format. */
export type ProviderFormat = Pick<MeshAccessLog, 'format' | 'text' | 'labels'>;

/** Istio inserts a newline at the end of every text format that lacks one. */
export function withNewline(format: string): string {
  return format.endsWith('\n') ? format : `${format}\n`;
}

/**
 * The format of an `envoyFileAccessLog` provider, by Istio's rules: `logFormat.text` as given
 * (a newline added); `logFormat.labels` as JSON lines (no labels: Istio's default JSON keys);
 * no `logFormat`: Istio's default text format.
 */
export function providerFormat(provider: ExtensionProvider): ProviderFormat {
  const format = provider.envoyFileAccessLog?.logFormat;
  if (format?.text !== undefined && format.text !== '') return { format: 'text', text: withNewline(format.text) };
  if (format?.labels !== undefined) {
    const labels = format.labels as Record<string, JsonFormatValue>;
    return Object.keys(labels).length > 0 ? { format: 'json', labels } : { format: 'json' };
  }
  return { format: 'text' };
}

/** The settings with the format replaced by `format` (the previous custom format dropped). */
export function withFormat(base: MeshAccessLog, format: ProviderFormat): MeshAccessLog {
  const out: MeshAccessLog = { enabled: base.enabled };
  if (format.format !== undefined) out.format = format.format;
  if (format.text !== undefined) out.text = format.text;
  if (format.labels !== undefined) out.labels = format.labels;
  return out;
}

/**
 * A Telemetry resource's access-logging entry over the settings so far: `disabled` turns logging
 * off; naming an `envoyFileAccessLog` extension provider turns it on with that provider's format;
 * the built-in `envoy` provider (or none named) keeps the mesh's format.
 */
export function telemetryAccessLog(
  current: MeshAccessLog | undefined,
  entry: { disabled?: boolean | null; providers?: ReadonlyArray<{ name?: string }> },
  providers: readonly ExtensionProvider[],
  mesh: MeshAccessLog | undefined,
): MeshAccessLog {
  const enabled = entry.disabled !== true;
  // Istio honours one provider per entry (the Telemetry kind warns about more).
  const name = entry.providers?.[0]?.name;
  const named = name === undefined ? undefined : providers.find((p) => p.name === name && p.envoyFileAccessLog !== undefined);
  if (named !== undefined) return withFormat({ enabled }, providerFormat(named));
  const base = name === 'envoy' ? mesh : current;
  return base === undefined ? { enabled } : { ...base, enabled };
}
