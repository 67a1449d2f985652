/**
 * What the translation takes and for whom: the proxy it builds a snapshot for (a workload's
 * sidecar or a gateway) and the mesh-wide options Istio keeps in its MeshConfig.
 */
import type { JsonFormatValue } from '../../api/access-log-format.js';
import type { DefaultProviders, ExtensionProvider, PATH_NORMALIZATIONS } from '../../api/mesh-config.js';
import type { HTTPRetry } from '../../api/kinds/networking/http-policies.js';
import type { Resource } from '../../api/types.js';
import type { RegistrySnapshot, WorkloadInstance } from '../../registry/types.js';
import type { CaptureTarget, ListenerConfig, RouteConfig } from '../../snapshot/index.js';

/** The sidecar of one workload instance; `workload.sidecar` gives its outbound and admin ports. */
export interface SidecarTarget {
  kind: 'sidecar';
  /** Proxy id (`name.namespace`), the snapshot's `node.id`. */
  id: string;
  workload: WorkloadInstance;
}

/** A gateway proxy (the ingress gateway). */
export interface GatewayTarget {
  kind: 'gateway';
  id: string;
  /** Gateway workload name, e.g. `istio-ingressgateway`. */
  name: string;
  namespace: string;
  /** Labels Gateway selectors match, e.g. `istio: ingressgateway`. */
  labels: Record<string, string>;
  serviceAccount?: string;
  /** Address the gateway listeners bind, e.g. 127.0.0.1. */
  listenAddress: string;
  /**
   * Istio's port translation: a Gateway server port that is a port of the gateway's Service
   * listens on that port's target port (80 and 8080 → the local ingress port, 443 and 8443 → the
   * local secure port). Server ports not in the map listen on their own number (31400 → 31400).
   */
  portMap: Record<number, number>;
}

export type ProxyTarget = SidecarTarget | GatewayTarget;

/**
 * Listeners a captured sidecar's `virtualOutbound` hands connections to, their route configs, and
 * the capture targets naming them (`sidecar-capture.ts` and the files it gathers them from).
 */
export interface CaptureListenerSet {
  listeners: ListenerConfig[];
  routes: RouteConfig[];
  targets: CaptureTarget[];
}

/**
 * The parts of Istio's MeshConfig the translation reads (skiffd derives them from the `istio`
 * ConfigMap over `skiff up`'s flags: `src/controlplane/mesh-options.ts`).
 */
export interface MeshOptions {
  /**
   * Traffic to hosts outside the registry: passed through (ALLOW_ANY, PassthroughCluster) or
   * stopped (REGISTRY_ONLY, BlackHoleCluster: HTTP answered 502, a tunnel closed at once).
   */
  outboundTrafficPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  /** Config here applies mesh-wide (Sidecar defaults, DestinationRule fallbacks). */
  rootNamespace: string;
  /** Kubernetes cluster domain: `name.ns.svc.<domainSuffix>`. */
  domainSuffix: string;
  /** Trust domain of workload identities: `spiffe://<trustDomain>/ns/<ns>/sa/<sa>`. */
  trustDomain: string;
  /**
   * MeshConfig `defaultHttpRetryPolicy`: the retries of HTTP routes that set none (a VirtualService
   * rule without `retries`, the default route of a service). Absent: Istio's default policy.
   */
  defaultHttpRetry?: HTTPRetry;
  /** MeshConfig `extensionProviders`, typed, for the policies that name them (authorization, tracing). */
  extensionProviders?: ExtensionProvider[];
  /** MeshConfig `defaultProviders`. */
  defaultProviders?: DefaultProviders;
  /**
   * MeshConfig `pathNormalization.normalization`: how every HTTP listener normalises request
   * paths before routing and policy (absent, DEFAULT: BASE).
   */
  pathNormalization?: (typeof PATH_NORMALIZATIONS)[number];
  /**
   * Tracing and access logging mesh-wide (MeshConfig's `defaultConfig.tracing.sampling`,
   * `accessLogFile`, `accessLogEncoding` and tracer addresses); Telemetry resources refine them.
   * Absent, and without Telemetry resources, snapshots carry no telemetry section.
   */
  telemetry?: MeshTelemetry;
}

/** Access logging as the mesh config sets it. */
export interface MeshAccessLog {
  enabled: boolean;
  format?: 'text' | 'json';
  /** A custom Envoy format string (ending in a newline). */
  text?: string;
  /** A custom JSON format: keys to format strings. */
  labels?: Record<string, JsonFormatValue>;
}

/** The mesh-wide telemetry settings. */
export interface MeshTelemetry {
  /** Percentage of new traces sampled, 0..100 (Istio's default 1). */
  sampling?: number;
  /** Zipkin v2 JSON endpoint every proxy also sends spans to (skiffd's embedded collector). */
  collectorUrl?: string;
  /** A user's Zipkin v2 JSON endpoint, e.g. `http://zipkin:9411/api/v2/spans`. */
  zipkinUrl?: string;
  /** A user's OTLP/HTTP JSON endpoint, e.g. `http://collector:4318/v1/traces`. */
  otlpUrl?: string;
  /**
   * Access log of every proxy (MeshConfig `accessLogFile: /dev/stdout`): the encoding of Istio's
   * default format, or a custom one (`accessLogFormat`, a default provider's `logFormat`).
   */
  accessLog?: MeshAccessLog;
}

export const DEFAULT_MESH_OPTIONS: Readonly<MeshOptions> = Object.freeze({
  outboundTrafficPolicy: 'ALLOW_ANY',
  rootNamespace: 'istio-system',
  domainSuffix: 'cluster.local',
  trustDomain: 'cluster.local',
});

export interface TranslateInput {
  /** Validated Istio resources (VirtualService, DestinationRule, Gateway, ServiceEntry, Sidecar); other kinds are ignored. */
  config: readonly Resource[];
  registry: RegistrySnapshot;
  proxy: ProxyTarget;
  mesh?: Partial<MeshOptions>;
  /** Receives a message for each piece of config left out of the snapshot, and why. */
  warn?: (message: string) => void;
}

/** Local ports of the gateway the local runtime runs. */
export interface GatewayPorts {
  /** Where Gateway servers on 80 and 8080 listen. Default 8080. */
  http?: number;
  /** Where Gateway servers on 443 and 8443 listen. Default 8443. */
  https?: number;
}

/**
 * The port map of Istio's default ingress gateway Service (80→8080, 443→8443) with the local
 * ports put in place of the target ports.
 */
export function gatewayPortMap(ports: GatewayPorts = {}): Record<number, number> {
  const http = ports.http ?? 8080;
  const https = ports.https ?? 8443;
  return { 80: http, 8080: http, 443: https, 8443: https };
}
