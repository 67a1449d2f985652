/**
 * The part of a sidecar's snapshot that many sidecars share: the outbound route config, the
 * outbound clusters and the telemetry section. They depend on the workload only through its
 * namespace and the values of the labels some config selects on (Sidecar and DestinationRule
 * workload selectors, Telemetry selectors, VirtualService `sourceLabels`), so they are built once
 * per index and distinct (namespace, those label values) and handed to every such sidecar as the
 * same objects — which also lets the push encode them once. The listener address, the inbound
 * side and the node stay per workload. Warnings raised while building a shared part are kept and
 * replayed to every sidecar that receives it, so each translation reports what it left out.
 */
import type { RouteConfig, ClusterConfigInput, TelemetryConfig, TlsSecret } from '../../snapshot/index.js';
import type { WorkloadInstance } from '../../registry/types.js';
import { outboundClusters } from './clusters.js';
import type { ConfigIndex } from './push-context.js';
import { buildOutboundRouteConfig } from './sidecar-outbound.js';
import { buildSidecarScope, type SidecarScope } from './sidecar-scope.js';
import { telemetrySection } from './telemetry.js';

export interface SharedSidecarPart {
  /** The outbound route config, alone in a list (the start of the sidecar's `routes`). */
  routes: readonly RouteConfig[];
  clusters: readonly ClusterConfigInput[];
  telemetry: TelemetryConfig | undefined;
  /** The named secrets the outbound clusters' TLS takes (DestinationRule `credentialName`), by name; shared, never mutated. */
  secrets: TlsSecret[];
  warnings: readonly string[];
  /** What the sidecars sharing this part see (their services and outbound traffic policy). */
  scope: SidecarScope;
}

interface IndexParts {
  /** Label keys `sourceLabels` read, in any namespace. */
  sourceKeys: ReadonlySet<string>;
  /** Per namespace: the label keys any selector there reads, sorted. */
  keysByNamespace: Map<string, readonly string[]>;
  parts: Map<string, SharedSidecarPart>;
}

/** Per index, so a new configuration generation starts empty and an old one is collected with its index. */
const byIndex = new WeakMap<ConfigIndex, IndexParts>();

function addKeys(out: Set<string>, labels: Readonly<Record<string, string>> | undefined): void {
  if (labels !== undefined) for (const k of Object.keys(labels)) out.add(k);
}

/** Every `sourceLabels` map anywhere in a VirtualService spec (http, tcp and tls matches, delegates alike). */
function addSourceLabelKeys(out: Set<string>, v: unknown): void {
  if (Array.isArray(v)) {
    for (const x of v) addSourceLabelKeys(out, x);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (k === 'sourceLabels' && typeof x === 'object' && x !== null && !Array.isArray(x)) addKeys(out, x as Record<string, string>);
      else addSourceLabelKeys(out, x);
    }
  }
}

function indexParts(index: ConfigIndex): IndexParts {
  let p = byIndex.get(index);
  if (p === undefined) {
    const sourceKeys = new Set<string>();
    for (const vs of index.allVirtualServices()) addSourceLabelKeys(sourceKeys, vs.spec);
    p = { sourceKeys, keysByNamespace: new Map(), parts: new Map() };
    byIndex.set(index, p);
  }
  return p;
}

/**
 * The label keys whose values can change the shared part of a sidecar in `namespace`: those of
 * `sourceLabels` anywhere, and those of the Sidecar, DestinationRule and Telemetry selectors of
 * the namespace (only a proxy's own namespace's selectors apply to it). Over-inclusive is harmless
 * (less sharing); missing one would hand a sidecar another's config, so every selector kind counts.
 */
function selectorKeys(index: ConfigIndex, p: IndexParts, namespace: string): readonly string[] {
  let keys = p.keysByNamespace.get(namespace);
  if (keys === undefined) {
    const set = new Set(p.sourceKeys);
    for (const s of index.sidecars) if (s.namespace === namespace) addKeys(set, s.spec.workloadSelector?.labels);
    for (const t of index.telemetries) if (t.namespace === namespace) addKeys(set, t.spec.selector?.matchLabels);
    for (const d of index.destinationRulesWithSelector()) if (d.namespace === namespace) addKeys(set, d.selector);
    keys = [...set].sort();
    p.keysByNamespace.set(namespace, keys);
  }
  return keys;
}

export function sharedSidecarPart(index: ConfigIndex, workload: Pick<WorkloadInstance, 'namespace' | 'labels'>): SharedSidecarPart {
  const p = indexParts(index);
  const key = JSON.stringify([workload.namespace, ...selectorKeys(index, p, workload.namespace).map((k) => workload.labels[k] ?? null)]);
  let part = p.parts.get(key);
  if (part === undefined) {
    const warnings: string[] = [];
    const warn = (m: string): void => void warnings.push(m);
    const scope = buildSidecarScope(index, workload);
    const routeConfig = buildOutboundRouteConfig(index, scope, warn);
    const secrets = new Map<string, TlsSecret>();
    const clusters = outboundClusters(index, scope.services, { namespace: workload.namespace, labels: workload.labels, secrets, warn });
    part = { routes: [routeConfig], clusters, telemetry: telemetrySection(index, workload.namespace, workload.labels), secrets: sortedSecrets(secrets), warnings, scope };
    p.parts.set(key, part);
  }
  return part;
}

/** Named secrets in name order, so equal config gives an equal snapshot. */
export function sortedSecrets(secrets: ReadonlyMap<string, TlsSecret>): TlsSecret[] {
  return [...secrets.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
