/**
 * The index of one configuration generation, built once and shared by the translation of every
 * proxy (Istio's PushContext): services by host, VirtualServices with their resolved hosts and
 * gateways, DestinationRules by namespace and host (same-host rules merged), Gateways, Sidecars,
 * Telemetry, EnvoyFilter and PeerAuthentication resources, Kubernetes Secrets by namespace and
 * name (TLS credentials),
 * and per-namespace visibility answers computed on first use. Immutable once built.
 */
import type { AuthorizationPolicySpec } from '../../api/kinds/security/authorization-policy.js';
import type { RequestAuthenticationSpec } from '../../api/kinds/security/request-authentication.js';
import type { DestinationRuleSpec, Subset, TrafficPolicy } from '../../api/kinds/networking/destination-rule.js';
import type { EnvoyFilterSpec } from '../../api/kinds/networking/envoy-filter.js';
import type { GatewaySpec } from '../../api/kinds/networking/gateway.js';
import type { SidecarSpec } from '../../api/kinds/networking/sidecar.js';
import type { PeerAuthenticationSpec } from '../../api/kinds/security/peer-authentication.js';
import type { TelemetrySpec } from '../../api/kinds/telemetry.js';
import type { VirtualServiceSpec } from '../../api/kinds/networking/virtual-service.js';
import type { Resource } from '../../api/types.js';
import { labelsMatch } from '../../registry/select.js';
import type { RegistrySnapshot, Service, WorkloadInstance } from '../../registry/types.js';
import { hostCovers, isExportedTo, specificity, toFqdn } from './hosts.js';
import { fromKubernetes, fromServiceEntry, type MeshService } from './services.js';
import { DEFAULT_MESH_OPTIONS, type MeshOptions } from './types.js';

const NETWORKING = 'networking.istio.io';

export interface VirtualServiceEntry {
  name: string;
  namespace: string;
  spec: VirtualServiceSpec;
  /** Hosts made fully qualified relative to the VirtualService's namespace. */
  hosts: string[];
  /** `mesh` or `namespace/name` of each Gateway; `[mesh]` when the spec names none. */
  gateways: string[];
}

export interface DestinationRuleEntry {
  name: string;
  namespace: string;
  host: string;
  exportTo?: readonly string[];
  /** Workload labels the rule is limited to (`workloadSelector.matchLabels`). */
  selector?: Readonly<Record<string, string>>;
  trafficPolicy?: TrafficPolicy;
  subsets: Subset[];
}

export interface GatewayEntry {
  name: string;
  namespace: string;
  spec: GatewaySpec;
}

export interface SidecarEntry {
  name: string;
  namespace: string;
  spec: SidecarSpec;
}

export interface EnvoyFilterEntry {
  name: string;
  namespace: string;
  spec: EnvoyFilterSpec;
}

export interface PeerAuthenticationEntry {
  name: string;
  namespace: string;
  spec: PeerAuthenticationSpec;
}

/** An AuthorizationPolicy or a RequestAuthentication, with what selection reads of its metadata. */
export interface PolicyEntry<S> {
  name: string;
  namespace: string;
  annotations: Readonly<Record<string, string>>;
  spec: S;
}

export interface TelemetryEntry {
  name: string;
  namespace: string;
  spec: TelemetrySpec;
}

/** Istio's resolution of a VirtualService `gateways` entry: `ns/name`, legacy `name.ns`, or `name` in the VS namespace. */
export function gatewayRef(ref: string, vsNamespace: string): string {
  if (ref === 'mesh') return ref;
  if (ref.includes('/')) return ref;
  const dot = ref.indexOf('.');
  if (dot > 0) return `${ref.slice(dot + 1).split('.')[0]}/${ref.slice(0, dot)}`;
  return `${vsNamespace}/${ref}`;
}

function ns(r: Resource): string {
  return r.metadata.namespace ?? 'default';
}

/** Istio orders config by creation time, then name and namespace; so does every list here. */
function byAge(a: Resource, b: Resource): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.name}/${ns(a)}`;
  const kb = `${b.metadata.name}/${ns(b)}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function isNetworking(r: Resource, kind: string): boolean {
  return r.kind === kind && r.apiVersion.startsWith(`${NETWORKING}/`);
}

/**
 * Each registry Service's mesh model, kept while the registry keeps the Service object: indexes of
 * successive config generations over one registry then share the objects, and with them the
 * endpoint selections cached per service (`services.ts`), which a config change leaves valid.
 */
const meshServices = new WeakMap<Service, MeshService>();

function meshServiceOf(s: Service): MeshService {
  let out = meshServices.get(s);
  if (out === undefined) {
    out = fromKubernetes(s);
    meshServices.set(s, out);
  }
  return out;
}

export class ConfigIndex {
  readonly mesh: MeshOptions;
  readonly workloads: readonly WorkloadInstance[];
  /** Kubernetes services first, then ServiceEntry hosts; one per hostname (the first defined wins). */
  readonly services: readonly MeshService[];
  private readonly byHost = new Map<string, MeshService>();
  /** VirtualServices with hosts, oldest first. */
  readonly virtualServices: readonly VirtualServiceEntry[];
  /** Every VirtualService by `namespace/name`, for delegates. */
  private readonly vsByName = new Map<string, VirtualServiceEntry>();
  readonly gateways: readonly GatewayEntry[];
  readonly sidecars: readonly SidecarEntry[];
  /** Telemetry resources (telemetry.istio.io), oldest first. */
  readonly telemetries: readonly TelemetryEntry[];
  /** EnvoyFilters, oldest first (`envoy-filter/select.ts` orders them per proxy). */
  readonly envoyFilters: readonly EnvoyFilterEntry[];
  /** AuthorizationPolicies (security.istio.io), oldest first. */
  readonly authorizationPolicies: readonly PolicyEntry<AuthorizationPolicySpec>[];
  /** RequestAuthentications (security.istio.io), oldest first. */
  readonly requestAuthentications: readonly PolicyEntry<RequestAuthenticationSpec>[];
  /** PeerAuthentication resources (security.istio.io), oldest first. */
  readonly peerAuthentications: readonly PeerAuthenticationEntry[];
  private readonly drsByNamespace = new Map<string, DestinationRuleEntry[]>();
  /** core/v1 Secrets by `namespace/name`. */
  private readonly secrets = new Map<string, Resource>();
  private readonly visibleServices = new Map<string, MeshService[]>();
  private readonly visibleVs = new Map<string, VirtualServiceEntry[]>();

  constructor(config: readonly Resource[], registry: RegistrySnapshot, mesh: Partial<MeshOptions> = {}) {
    this.mesh = { ...DEFAULT_MESH_OPTIONS, ...mesh };
    this.workloads = registry.workloads;
    const sorted = [...config].sort(byAge);
    const services: MeshService[] = [];
    const addService = (s: MeshService): void => {
      if (this.byHost.has(s.hostname)) return;
      this.byHost.set(s.hostname, s);
      services.push(s);
    };
    for (const s of [...registry.services].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0))) addService(meshServiceOf(s));
    for (const r of sorted) if (isNetworking(r, 'ServiceEntry')) for (const s of fromServiceEntry(r, ns(r))) addService(s);
    this.services = services;

    const vss: VirtualServiceEntry[] = [];
    for (const r of sorted) {
      if (!isNetworking(r, 'VirtualService')) continue;
      const spec = r.spec as VirtualServiceSpec;
      const namespace = ns(r);
      const entry: VirtualServiceEntry = {
        name: r.metadata.name,
        namespace,
        spec,
        hosts: (spec.hosts ?? []).map((h) => toFqdn(h, namespace, this.mesh.domainSuffix)),
        gateways: spec.gateways === undefined || spec.gateways.length === 0 ? ['mesh'] : spec.gateways.map((g) => gatewayRef(g, namespace)),
      };
      this.vsByName.set(`${namespace}/${entry.name}`, entry);
      if (entry.hosts.length > 0) vss.push(entry);
    }
    this.virtualServices = vss;

    this.gateways = sorted.filter((r) => isNetworking(r, 'Gateway')).map((r) => ({ name: r.metadata.name, namespace: ns(r), spec: r.spec as GatewaySpec }));
    this.sidecars = sorted.filter((r) => isNetworking(r, 'Sidecar')).map((r) => ({ name: r.metadata.name, namespace: ns(r), spec: r.spec as SidecarSpec }));
    this.envoyFilters = sorted.filter((r) => isNetworking(r, 'EnvoyFilter')).map((r) => ({ name: r.metadata.name, namespace: ns(r), spec: r.spec as EnvoyFilterSpec }));
    this.authorizationPolicies = sorted
      .filter((r) => r.kind === 'AuthorizationPolicy' && r.apiVersion.startsWith('security.istio.io/'))
      .map((r) => ({ name: r.metadata.name, namespace: ns(r), annotations: r.metadata.annotations ?? {}, spec: r.spec as AuthorizationPolicySpec }));
    this.requestAuthentications = sorted
      .filter((r) => r.kind === 'RequestAuthentication' && r.apiVersion.startsWith('security.istio.io/'))
      .map((r) => ({ name: r.metadata.name, namespace: ns(r), annotations: r.metadata.annotations ?? {}, spec: r.spec as RequestAuthenticationSpec }));
    this.telemetries = sorted
      .filter((r) => r.kind === 'Telemetry' && r.apiVersion.startsWith('telemetry.istio.io/'))
      .map((r) => ({ name: r.metadata.name, namespace: ns(r), spec: r.spec as TelemetrySpec }));
    this.peerAuthentications = sorted
      .filter((r) => r.kind === 'PeerAuthentication' && r.apiVersion.startsWith('security.istio.io/'))
      .map((r) => ({ name: r.metadata.name, namespace: ns(r), spec: r.spec as PeerAuthenticationSpec }));

    for (const r of sorted) {
      if (!isNetworking(r, 'DestinationRule')) continue;
      this.addDestinationRule(r);
    }
    for (const r of config) if (r.kind === 'Secret' && r.apiVersion === 'v1') this.secrets.set(`${ns(r)}/${r.metadata.name}`, r);
  }

  /** The Secret `name` of `namespace` (TLS credentials), if the config has it. */
  readonly secret = (namespace: string, name: string): Resource | undefined => this.secrets.get(`${namespace}/${name}`);

  /**
   * Rules for the same host in one namespace merge as Istio merges them: the first rule's traffic
   * policy, subsets from all of them (the first definition of a subset name wins). Rules with a
   * workload selector stay apart.
   */
  private addDestinationRule(r: Resource): void {
    const spec = r.spec as DestinationRuleSpec;
    const namespace = ns(r);
    const host = toFqdn(spec.host, namespace, this.mesh.domainSuffix);
    const list = this.drsByNamespace.get(namespace) ?? [];
    this.drsByNamespace.set(namespace, list);
    const selector = spec.workloadSelector?.matchLabels;
    const exportTo = spec.exportTo;
    const same = list.find((d) => d.host === host && d.selector === undefined && selector === undefined && sameList(d.exportTo, exportTo));
    if (same !== undefined) {
      same.trafficPolicy ??= spec.trafficPolicy;
      for (const s of spec.subsets ?? []) if (!same.subsets.some((x) => x.name === s.name)) same.subsets.push(s);
      return;
    }
    const entry: DestinationRuleEntry = { name: r.metadata.name, namespace, host, subsets: [...(spec.subsets ?? [])] };
    if (exportTo !== undefined) entry.exportTo = exportTo;
    if (selector !== undefined) entry.selector = selector;
    if (spec.trafficPolicy !== undefined) entry.trafficPolicy = spec.trafficPolicy;
    list.push(entry);
  }

  /** Every VirtualService, delegates (without hosts) included. */
  allVirtualServices(): IterableIterator<VirtualServiceEntry> {
    return this.vsByName.values();
  }

  /** DestinationRules limited to workloads by a selector, in every namespace. */
  destinationRulesWithSelector(): DestinationRuleEntry[] {
    return [...this.drsByNamespace.values()].flat().filter((d) => d.selector !== undefined);
  }

  service(hostname: string): MeshService | undefined {
    return this.byHost.get(hostname);
  }

  virtualServiceByName(namespace: string, name: string): VirtualServiceEntry | undefined {
    return this.vsByName.get(`${namespace}/${name}`);
  }

  /** Services whose `exportTo` admits `namespace`. */
  servicesVisibleFrom(namespace: string): MeshService[] {
    let out = this.visibleServices.get(namespace);
    if (out === undefined) {
      out = this.services.filter((s) => isExportedTo(s.exportTo, s.namespace, namespace));
      this.visibleServices.set(namespace, out);
    }
    return out;
  }

  /** VirtualServices whose `exportTo` admits `namespace`, own namespace first (Istio's precedence), then oldest first. */
  virtualServicesVisibleFrom(namespace: string): VirtualServiceEntry[] {
    let out = this.visibleVs.get(namespace);
    if (out === undefined) {
      const visible = this.virtualServices.filter((v) => isExportedTo(v.spec.exportTo, v.namespace, namespace));
      out = [...visible.filter((v) => v.namespace === namespace), ...visible.filter((v) => v.namespace !== namespace)];
      this.visibleVs.set(namespace, out);
    }
    return out;
  }

  /**
   * The DestinationRule that applies to `host` for a proxy in `proxyNs` (Istio's lookup order): a
   * rule in the proxy's namespace (one selecting the proxy's workload first), else one the
   * service's namespace exports to it, else one the root namespace exports to it. Within a
   * namespace the exact host wins over the most specific wildcard.
   */
  destinationRule(host: string, proxyNs: string, proxyLabels?: Readonly<Record<string, string>>): DestinationRuleEntry | undefined {
    const own = this.drsByNamespace.get(proxyNs) ?? [];
    if (proxyLabels !== undefined) {
      const selected = bestForHost(
        own.filter((d) => d.selector !== undefined && labelsMatch(d.selector, proxyLabels)),
        host,
      );
      if (selected !== undefined) return selected;
    }
    const inOwn = bestForHost(
      own.filter((d) => d.selector === undefined && isExportedTo(d.exportTo, d.namespace, proxyNs)),
      host,
    );
    if (inOwn !== undefined) return inOwn;
    const svcNs = this.byHost.get(host)?.namespace;
    for (const namespace of [svcNs, this.mesh.rootNamespace]) {
      if (namespace === undefined || namespace === proxyNs) continue;
      const found = bestForHost(
        (this.drsByNamespace.get(namespace) ?? []).filter((d) => d.selector === undefined && isExportedTo(d.exportTo, d.namespace, proxyNs)),
        host,
      );
      if (found !== undefined) return found;
    }
    return undefined;
  }
}

function bestForHost(rules: readonly DestinationRuleEntry[], host: string): DestinationRuleEntry | undefined {
  let best: DestinationRuleEntry | undefined;
  for (const d of rules) {
    if (d.host === host) return d;
    if (hostCovers(d.host, host) && (best === undefined || specificity(d.host) > specificity(best.host))) best = d;
  }
  return best;
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return (a ?? []).join(',') === (b ?? []).join(',');
}

/** Builds the index of one configuration generation. */
export function buildConfigIndex(config: readonly Resource[], registry: RegistrySnapshot, mesh: Partial<MeshOptions> = {}): ConfigIndex {
  return new ConfigIndex(config, registry, mesh);
}
