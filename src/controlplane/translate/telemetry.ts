/**
 * The snapshot's `telemetry` section: mesh-wide settings (MeshConfig) refined by Telemetry
 * resources the way Istio resolves them for a workload — the root namespace's resource without a
 * selector, then its own namespace's without a selector, then one in its namespace whose selector
 * matches its labels; a more specific level overrides the fields it sets. Within a level the
 * oldest resource wins. Resources attached with `targetRef(s)` (Gateway API) are not applied.
 */
import type { TelemetrySpec } from '../../api/kinds/telemetry.js';
import { labelsMatch } from '../../registry/select.js';
import type { TelemetryConfig } from '../../snapshot/index.js';
import type { ConfigIndex, TelemetryEntry } from './push-context.js';
import { telemetryAccessLog } from './access-logging.js';

type Tracing = NonNullable<TelemetrySpec['tracing']>[number];
type AccessLogging = NonNullable<TelemetrySpec['accessLogging']>[number];

/** The Telemetry resources in force for a workload, least specific first. */
export function telemetryLevels(index: ConfigIndex, namespace: string, labels: Readonly<Record<string, string>>): TelemetryEntry[] {
  const root = index.mesh.rootNamespace;
  const attached = (t: TelemetryEntry): boolean => t.spec.targetRef !== undefined || (t.spec.targetRefs?.length ?? 0) > 0;
  const wide = (ns: string): TelemetryEntry | undefined => index.telemetries.find((t) => t.namespace === ns && t.spec.selector === undefined && !attached(t));
  const levels: TelemetryEntry[] = [];
  const meshWide = wide(root);
  if (meshWide !== undefined) levels.push(meshWide);
  if (namespace !== root) {
    const nsWide = wide(namespace);
    if (nsWide !== undefined) levels.push(nsWide);
  }
  const selected = index.telemetries.find((t) => t.namespace === namespace && t.spec.selector !== undefined && labelsMatch(t.spec.selector.matchLabels ?? {}, labels));
  if (selected !== undefined) levels.push(selected);
  return levels;
}

/** The entry that applies to both directions of traffic (Istio's `match.mode` CLIENT_AND_SERVER, the default). */
function bothModes<T extends Tracing | AccessLogging>(list: readonly T[] | undefined): T | undefined {
  return list?.find((e) => e.match?.mode === undefined || e.match.mode === 'CLIENT_AND_SERVER');
}

/** The section for a proxy of `namespace` with `labels`; undefined when nothing is configured. */
export function telemetrySection(index: ConfigIndex, namespace: string, labels: Readonly<Record<string, string>>): TelemetryConfig | undefined {
  const mesh = index.mesh.telemetry;
  const levels = telemetryLevels(index, namespace, labels);
  if (mesh === undefined && levels.length === 0) return undefined;

  let sampling = mesh?.sampling;
  let accessLog = mesh?.accessLog;
  for (const level of levels) {
    const tracing = bothModes(level.spec.tracing);
    const pct = tracing?.randomSamplingPercentage;
    if (pct !== undefined && pct !== null) sampling = pct;
    const logging = bothModes(level.spec.accessLogging);
    if (logging !== undefined) accessLog = telemetryAccessLog(accessLog, logging, index.mesh.extensionProviders ?? [], mesh?.accessLog);
  }

  const tracing: NonNullable<TelemetryConfig['tracing']> = {};
  if (sampling !== undefined) tracing.sampling = sampling;
  if (mesh?.collectorUrl !== undefined) tracing.collectorUrl = mesh.collectorUrl;
  if (mesh?.zipkinUrl !== undefined) tracing.zipkinUrl = mesh.zipkinUrl;
  if (mesh?.otlpUrl !== undefined) tracing.otlpUrl = mesh.otlpUrl;
  const out: TelemetryConfig = {};
  if (Object.keys(tracing).length > 0) out.tracing = tracing;
  if (accessLog !== undefined) {
    out.accessLog = {
      enabled: accessLog.enabled,
      ...(accessLog.format !== undefined ? { format: accessLog.format } : {}),
      ...(accessLog.text !== undefined ? { text: accessLog.text } : {}),
      ...(accessLog.labels !== undefined ? { labels: accessLog.labels } : {}),
    };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
