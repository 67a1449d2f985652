/**
 * The translation: (config, registry) → one proxy snapshot per proxy. A pure function of its
 * input; the index of a configuration generation is built once and reused for every proxy
 * translated against the same config and registry objects, and within it the part sidecars share
 * (outbound routes, clusters, telemetry: `sidecar-shared.ts`) is built once per distinct scope and
 * handed out as the same objects. Snapshots must therefore not be mutated. The snapshot's version
 * is a digest of its content, so an unchanged translation keeps its version; it is computed when
 * first read (the push server versions what it sends itself and never reads it).
 */
import { createHash } from 'node:crypto';
import type { Resource } from '../../api/types.js';
import type { RegistrySnapshot } from '../../registry/types.js';
import type { ListenerConfig, NodeConfig, ProxySnapshot, RouteConfig } from '../../snapshot/index.js';
import { authorizationSection, selectPolicies, type PolicySubject } from './authorization.js';
import { requestAuthenticationSection } from './request-authentication.js';
import { fallbackClusters, outboundClusters } from './clusters.js';
import { applyEnvoyFilters } from './envoy-filter/apply.js';
import { envoyFiltersFor } from './envoy-filter/select.js';
import { buildGatewayListeners } from './gateway.js';
import { ConfigIndex } from './push-context.js';
import { buildCaptureListeners, type CaptureListeners } from './sidecar-capture.js';
import { buildSidecarInbound } from './sidecar-inbound.js';
import { buildLocalServiceListeners } from './sidecar-local-services.js';
import { outboundListener } from './sidecar-outbound.js';
import { sidecarFor } from './sidecar-scope.js';
import { withSharedPrefix } from './shared-prefix.js';
import { sharedSidecarPart, sortedSecrets, type SharedSidecarPart } from './sidecar-shared.js';
import { telemetrySection } from './telemetry.js';
import type { GatewayTarget, MeshOptions, ProxyTarget, SidecarTarget, TranslateInput } from './types.js';

/** The last index built, reused while config, registry and mesh options are the same objects/values. */
let memo: { config: readonly Resource[]; registry: RegistrySnapshot; mesh: string; index: ConfigIndex } | undefined;

function indexFor(config: readonly Resource[], registry: RegistrySnapshot, mesh: Partial<MeshOptions> | undefined): ConfigIndex {
  const meshKey = JSON.stringify(mesh ?? {});
  if (memo !== undefined && memo.config === config && memo.registry === registry && memo.mesh === meshKey) return memo.index;
  const index = new ConfigIndex(config, registry, mesh);
  memo = { config, registry, mesh: meshKey, index };
  return index;
}

/** Translates for one proxy. */
export function translate(input: TranslateInput): ProxySnapshot {
  return translateFor(indexFor(input.config, input.registry, input.mesh), input.proxy, input.warn);
}

/** Translates for one proxy against an index built with `buildConfigIndex` (shared by every proxy of a push). */
export function translateFor(index: ConfigIndex, proxy: ProxyTarget, warn: (message: string) => void = () => undefined): ProxySnapshot {
  const body = proxy.kind === 'sidecar' ? sidecarSnapshot(index, proxy, warn) : gatewaySnapshot(index, proxy, warn);
  return withLazyVersion(body);
}

/** The body with `version` first (as JSON shows it), hashed on first read and then kept. */
function withLazyVersion(body: Body): ProxySnapshot {
  let version: string | undefined;
  return {
    get version(): string {
      return (version ??= contentVersion(body));
    },
    set version(v: string) {
      version = v;
    },
    ...body,
  };
}

type Body = Omit<ProxySnapshot, 'version'>;

function sidecarSnapshot(index: ConfigIndex, target: SidecarTarget, warn: (message: string) => void): Body {
  const w = target.workload;
  // Without its ports the sidecar's listeners would bind anywhere; the caller must say where.
  if (w.sidecar === undefined) throw new Error(`workload ${w.namespace}/${w.name} has no sidecar (outbound and admin ports) to translate for`);
  const shared = sharedSidecarPart(index, w);
  for (const m of shared.warnings) warn(m);
  // A CUSTOM policy's provider is reached through an outbound cluster.
  const subject: PolicySubject = { kind: 'sidecar', name: w.name, namespace: w.namespace, labels: w.labels };
  const authorization = authorizationSection(index, subject, clusterNames(shared.clusters), warn);
  const requestAuthentication = requestAuthenticationSection(index, subject, warn);
  const inbound = buildSidecarInbound(index, target, sidecarFor(index, w), authorization !== undefined);
  const outbound = sidecarOutbound(index, target, shared, inbound.listeners);
  const node: NodeConfig = {
    id: target.id,
    kind: 'sidecar',
    workload: { name: w.name, namespace: w.namespace, labels: { ...w.labels }, serviceAccount: w.serviceAccount },
  };
  const patched = applyEnvoyFilters(
    envoyFiltersFor(index, w.namespace, w.labels),
    { listeners: withSharedPrefix(outbound.sharedListeners, [...outbound.listeners, ...inbound.listeners]), routes: sidecarRoutes(shared, outbound, inbound.routes) },
    warn,
  );
  return {
    node,
    listeners: patched.listeners,
    routes: patched.routes,
    clusters: withSharedPrefix(outbound.sharedClusters, [...inbound.clusters, ...outbound.clusters, ...fallbackClusters()]),
    ...(shared.telemetry === undefined ? {} : { telemetry: shared.telemetry }),
    ...(shared.secrets.length === 0 ? {} : { secrets: shared.secrets }),
    ...(authorization === undefined ? {} : { authorization }),
    ...(requestAuthentication === undefined ? {} : { requestAuthentication }),
  };
}

/** A sidecar's outbound listeners, with the route configs and clusters of their own. */
type OutboundSide = CaptureListeners & { captured: boolean };

/**
 * A sidecar's listeners besides the inbound ones: on a captured pod the capture listeners (which
 * target the inbound ones), else the app's HTTP_PROXY listener and the loopback service ports.
 */
function sidecarOutbound(index: ConfigIndex, target: SidecarTarget, shared: SharedSidecarPart, inbound: readonly ListenerConfig[]): OutboundSide {
  if (target.workload.sidecar?.capture !== undefined) return { captured: true, ...buildCaptureListeners(index, target, shared, inbound) };
  const local = buildLocalServiceListeners(index, target, shared.routes[0]);
  return { captured: false, sharedListeners: [], listeners: [outboundListener(index, target), ...local.listeners], routes: local.routes, sharedClusters: shared.clusters, clusters: [] };
}

/**
 * The route configs: the shared outbound one first — but for a captured sidecar, whose ClusterIP
 * listeners take the shared route objects in route configs of their own (shared by the scope as
 * well) and which has no listener serving the whole outbound table.
 */
function sidecarRoutes(shared: SharedSidecarPart, outbound: OutboundSide, inbound: readonly RouteConfig[]): RouteConfig[] {
  if (outbound.captured) return withSharedPrefix(outbound.routes, inbound);
  return withSharedPrefix(shared.routes, [...outbound.routes, ...inbound]);
}

function withTelemetry(index: ConfigIndex, namespace: string, labels: Readonly<Record<string, string>>): Pick<Body, 'telemetry'> {
  const telemetry = telemetrySection(index, namespace, labels);
  return telemetry === undefined ? {} : { telemetry };
}

function gatewaySnapshot(index: ConfigIndex, target: GatewayTarget, warn: (message: string) => void): Body {
  const subject: PolicySubject = { kind: 'gateway', name: target.name, namespace: target.namespace, labels: target.labels };
  // Whether policies apply decides the listeners' policy ports; their CUSTOM providers are resolved against the clusters.
  const withPolicies = selectPolicies(index.authorizationPolicies, index.mesh.rootNamespace, subject).length > 0;
  const { listeners, routes, secrets: serverSecrets } = buildGatewayListeners(index, target, warn, withPolicies);
  const patched = applyEnvoyFilters(envoyFiltersFor(index, target.namespace, target.labels), { listeners, routes }, warn);
  const secrets = new Map(serverSecrets.map((s) => [s.name, s]));
  const clusters = [...outboundClusters(index, index.servicesVisibleFrom(target.namespace), { namespace: target.namespace, secrets, warn }), ...fallbackClusters()];
  const authorization = authorizationSection(index, subject, clusterNames(clusters), warn);
  const requestAuthentication = requestAuthenticationSection(index, subject, warn);
  const node: NodeConfig = {
    id: target.id,
    kind: 'gateway',
    workload: { name: target.name, namespace: target.namespace, labels: { ...target.labels }, serviceAccount: target.serviceAccount ?? `${target.name}-service-account` },
  };
  return {
    node,
    listeners: patched.listeners,
    routes: patched.routes,
    clusters,
    ...withTelemetry(index, target.namespace, target.labels),
    ...(secrets.size === 0 ? {} : { secrets: sortedSecrets(secrets) }),
    ...(authorization === undefined ? {} : { authorization }),
    ...(requestAuthentication === undefined ? {} : { requestAuthentication }),
  };
}

function clusterNames(clusters: readonly { name: string }[]): Set<string> {
  return new Set(clusters.map((c) => c.name));
}

/** A short digest of the snapshot's content: equal content, equal version. */
export function contentVersion(body: Body): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
}
