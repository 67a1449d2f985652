/**
 * What Skiff accepts, validates and stores but does not act on yet: whole kinds, and fields of
 * kinds it otherwise enforces. This is the one list `skiff apply` warns from and `skiff analyze`
 * reports from (SKF0005); the README's "What is enforced" table says the same in prose. When a
 * kind or field comes to be enforced, its entry is removed here and both fall silent for it.
 *
 * Kinds Skiff does not even store (ProxyConfig, WorkloadGroup, ...) are not here: the loader skips
 * them with a "not supported" warning (`registry.ts`). EnvoyFilter is stored; of its patches Skiff
 * applies the rate-limit ones (`kinds/networking/envoy-filter-ratelimit.ts`), and every other patch
 * is listed here.
 */
import { readRateLimitPatch } from './kinds/networking/envoy-filter-ratelimit.js';
import type { EnvoyFilterSpec } from './kinds/networking/envoy-filter.js';
import { formatPath, type Resource } from './types.js';

export type FieldPath = readonly (string | number)[];

export interface NotEnforced {
  group: string;
  kind: string;
  /** The field as messages name it (`trafficPolicy.tls`); absent when the whole kind is not enforced. */
  field?: string;
  /** What happens instead, for the analyzer's message: `requests are not checked against it`. */
  effect: string;
  /** Where a resource sets the field (paths from the resource root); required with `field`. */
  find?: (resource: Resource) => FieldPath[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function items(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The value at `path` under `root`, or undefined. */
function at(root: unknown, path: readonly string[]): unknown {
  let v = root;
  for (const key of path) v = isObj(v) ? v[key] : undefined;
  return v;
}

/**
 * Every traffic policy of a DestinationRule with its path: the top-level one, each subset's, and
 * (when `portLevel`) their portLevelSettings, where Istio allows load balancer, pool, outlier and tls.
 */
function trafficPolicies(r: Resource, portLevel: boolean): [FieldPath, unknown][] {
  const spec = r.spec;
  const out: [FieldPath, unknown][] = [];
  const add = (base: FieldPath, policy: unknown): void => {
    if (!isObj(policy)) return;
    out.push([base, policy]);
    if (portLevel) items(policy.portLevelSettings).forEach((pls, i) => out.push([[...base, 'portLevelSettings', i], pls]));
  };
  add(['spec', 'trafficPolicy'], at(spec, ['trafficPolicy']));
  items(at(spec, ['subsets'])).forEach((subset, i) => add(['spec', 'subsets', i, 'trafficPolicy'], at(subset, ['trafficPolicy'])));
  return out;
}

/** A DestinationRule traffic-policy field (`tls`, `loadBalancer.localityLbSetting`) wherever it is set and `applies`. */
function policyField(field: string, portLevel: boolean, applies: (value: unknown) => boolean = () => true): (r: Resource) => FieldPath[] {
  const keys = field.split('.');
  return (r) =>
    trafficPolicies(r, portLevel)
      .filter(([, policy]) => {
        const value = at(policy, keys);
        return value !== undefined && applies(value);
      })
      .map(([base]) => [...base, ...keys]);
}

/**
 * Gateway servers whose TLS Skiff does not serve: TLS-protocol servers that terminate (HTTPS
 * servers in SIMPLE, MUTUAL or ISTIO_MUTUAL are served, and PASSTHROUGH on either protocol), and
 * the modes OPTIONAL_MUTUAL and AUTO_PASSTHROUGH.
 */
function unservedTlsServers(r: Resource): FieldPath[] {
  const out: FieldPath[] = [];
  items(at(r.spec, ['servers'])).forEach((server, i) => {
    const declared = at(server, ['port', 'protocol']);
    const protocol = typeof declared === 'string' ? declared.toUpperCase() : '';
    if (protocol !== 'HTTPS' && protocol !== 'TLS') return;
    const mode = at(server, ['tls', 'mode']) ?? 'PASSTHROUGH';
    if (mode === 'OPTIONAL_MUTUAL' || mode === 'AUTO_PASSTHROUGH' || (protocol === 'TLS' && mode !== 'PASSTHROUGH')) out.push(['spec', 'servers', i, 'tls']);
  });
  return out;
}

/** EnvoyFilter patches Skiff does not apply (every patch of one attached by targetRefs, reported there). */
function unappliedPatches(r: Resource): FieldPath[] {
  const spec = r.spec as EnvoyFilterSpec;
  if (spec.targetRefs !== undefined) return [];
  const out: FieldPath[] = [];
  (spec.configPatches ?? []).forEach((cp, i) => {
    if (!readRateLimitPatch(cp).ok) out.push(['spec', 'configPatches', i]);
  });
  return out;
}

/** AuthorizationPolicy conditions on Envoy's own filter metadata (`experimental.envoy.filters.…`), which Skiff does not keep. */
function envoyMetadataConditions(r: Resource): FieldPath[] {
  const out: FieldPath[] = [];
  items(at(r.spec, ['rules'])).forEach((rule, i) => {
    items(at(rule, ['when'])).forEach((cond, j) => {
      const key = at(cond, ['key']);
      if (typeof key === 'string' && key.startsWith('experimental.envoy.filters.')) out.push(['spec', 'rules', i, 'when', j, 'key']);
    });
  });
  return out;
}

const always = (): boolean => true;

/** `spec.<keys>` when set (and `applies`). */
function inSpec(keys: readonly string[], applies: (value: unknown) => boolean = always): (r: Resource) => FieldPath[] {
  return (r) => {
    const value = at(r.spec, keys);
    return value !== undefined && applies(value) ? [['spec', ...keys]] : [];
  };
}

/** `spec.<list>[i].<keys>` for every item that sets it (and `applies`). */
function inEach(list: string, keys: readonly string[], applies: (value: unknown) => boolean = always): (r: Resource) => FieldPath[] {
  return (r) => {
    const out: FieldPath[] = [];
    items(at(r.spec, [list])).forEach((item, i) => {
      const value = at(item, keys);
      if (value !== undefined && applies(value)) out.push(['spec', list, i, ...keys]);
    });
    return out;
  };
}

const NETWORKING = 'networking.istio.io';
const TELEMETRY = 'telemetry.istio.io';
const SECURITY = 'security.istio.io';

export const NOT_ENFORCED: readonly NotEnforced[] = [
  { group: NETWORKING, kind: 'DestinationRule', field: 'trafficPolicy.loadBalancer.localityLbSetting', effect: 'the local mesh has no localities; endpoints are balanced as one set', find: policyField('loadBalancer.localityLbSetting', true) },
  { group: NETWORKING, kind: 'DestinationRule', field: 'trafficPolicy.loadBalancer.zoneAwareLbSetting', effect: 'the local mesh has no zones; endpoints are balanced as one set', find: policyField('loadBalancer.zoneAwareLbSetting', true) },
  { group: NETWORKING, kind: 'DestinationRule', field: 'trafficPolicy.loadBalancer.warmupDurationSecs', effect: 'new endpoints get their full share at once', find: policyField('loadBalancer.warmupDurationSecs', true) },
  { group: NETWORKING, kind: 'DestinationRule', field: 'trafficPolicy.loadBalancer.warmup', effect: 'new endpoints get their full share at once', find: policyField('loadBalancer.warmup', true) },
  { group: NETWORKING, kind: 'DestinationRule', field: 'trafficPolicy.connectionPool.tcp.tcpKeepalive', effect: 'upstream connections use the operating system\'s keepalive settings', find: policyField('connectionPool.tcp.tcpKeepalive', true) },
  { group: NETWORKING, kind: 'DestinationRule', field: 'trafficPolicy.tunnel', effect: 'requests go to the destination directly, not through a tunnel', find: policyField('tunnel', false) },
  { group: NETWORKING, kind: 'DestinationRule', field: 'trafficPolicy.proxyProtocol', effect: 'no PROXY protocol header is sent upstream', find: policyField('proxyProtocol', false) },
  { group: NETWORKING, kind: 'DestinationRule', field: 'trafficPolicy.retryBudget', effect: 'retries are bounded only by the route\'s attempts and the circuit breaker', find: policyField('retryBudget', false) },
  {
    group: NETWORKING,
    kind: 'EnvoyFilter',
    field: 'configPatches[]',
    effect: 'the patch is not applied: Skiff applies only the rate-limit patches Istio documents (HTTP_FILTER inserts of local_ratelimit and ratelimit, VIRTUAL_HOST and HTTP_ROUTE merges of typed_per_filter_config and rate_limits); skiffd logs why',
    find: unappliedPatches,
  },
  { group: NETWORKING, kind: 'EnvoyFilter', field: 'targetRefs', effect: 'none of its patches is applied: Skiff attaches EnvoyFilters by workloadSelector only', find: inSpec(['targetRefs']) },
  {
    group: NETWORKING,
    kind: 'Gateway',
    field: 'servers[].tls',
    effect: 'TLS-protocol servers that terminate TLS, and tls.mode OPTIONAL_MUTUAL or AUTO_PASSTHROUGH, are left out of the gateway (HTTPS servers terminating TLS and PASSTHROUGH servers are served)',
    find: unservedTlsServers,
  },
  { group: NETWORKING, kind: 'Sidecar', field: 'ingress[].tls', effect: 'the inbound listener does not terminate TLS', find: inEach('ingress', ['tls']) },
  { group: NETWORKING, kind: 'Sidecar', field: 'outboundTrafficPolicy.egressProxy', effect: 'unknown hosts are reached directly, not through the egress proxy', find: inSpec(['outboundTrafficPolicy', 'egressProxy']) },
  { group: NETWORKING, kind: 'VirtualService', field: 'http[].fault.delay.exponentialDelay', effect: 'the fault is left out of the route; only fixedDelay delays requests', find: inEach('http', ['fault', 'delay', 'exponentialDelay']) },
  { group: NETWORKING, kind: 'VirtualService', field: 'http[].fault.abort.http2Error', effect: 'the fault is left out of the route; only httpStatus and grpcStatus abort requests', find: inEach('http', ['fault', 'abort', 'http2Error']) },
  { group: NETWORKING, kind: 'WorkloadEntry', effect: 'it is no endpoint of any service: Service and ServiceEntry selectors select only the workloads the local runtime runs' },
  {
    group: SECURITY,
    kind: 'AuthorizationPolicy',
    field: 'rules[].when[].key experimental.envoy.filters.*',
    effect: 'the condition matches no request: Skiff keeps no Envoy filter metadata, so an ALLOW rule with it allows nothing and a DENY rule with it denies nothing',
    find: envoyMetadataConditions,
  },
  { group: TELEMETRY, kind: 'Telemetry', field: 'targetRef', effect: 'the resource applies by namespace and selector alone', find: inSpec(['targetRef']) },
  { group: TELEMETRY, kind: 'Telemetry', field: 'targetRefs', effect: 'the resource applies by namespace and selector alone', find: inSpec(['targetRefs']) },
  { group: TELEMETRY, kind: 'Telemetry', field: 'metrics', effect: 'every proxy reports Istio\'s standard metrics unchanged', find: inSpec(['metrics']) },
  { group: TELEMETRY, kind: 'Telemetry', field: 'tracing[].customTags', effect: 'spans carry the standard tags only', find: inEach('tracing', ['customTags']) },
  { group: TELEMETRY, kind: 'Telemetry', field: 'tracing[].disableSpanReporting', effect: 'spans are reported as sampled', find: inEach('tracing', ['disableSpanReporting'], (v) => v === true) },
  { group: TELEMETRY, kind: 'Telemetry', field: 'accessLogging[].filter', effect: 'every request is logged when access logging is on', find: inEach('accessLogging', ['filter']) },
  {
    group: TELEMETRY,
    kind: 'Telemetry',
    field: 'tracing[].match.mode / accessLogging[].match.mode',
    effect: 'entries for CLIENT or SERVER only are ignored; only CLIENT_AND_SERVER entries apply',
    find: (r) => [...inEach('tracing', ['match', 'mode'], (m) => m !== 'CLIENT_AND_SERVER')(r), ...inEach('accessLogging', ['match', 'mode'], (m) => m !== 'CLIENT_AND_SERVER')(r)],
  },
];

function groupOf(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** One not-enforced kind or field a resource uses. */
export interface UnenforcedUse {
  entry: NotEnforced;
  /** Where the resource sets the field (each occurrence); empty when the whole kind is not enforced. */
  paths: FieldPath[];
}

/** The not-enforced kind or fields `resource` uses, in the order of NOT_ENFORCED. */
export function unenforcedUses(resource: Resource): UnenforcedUse[] {
  const group = groupOf(resource.apiVersion);
  const out: UnenforcedUse[] = [];
  for (const entry of NOT_ENFORCED) {
    if (entry.group !== group || entry.kind !== resource.kind) continue;
    if (entry.find === undefined) out.push({ entry, paths: [] });
    else {
      const paths = entry.find(resource);
      if (paths.length > 0) out.push({ entry, paths });
    }
  }
  return out;
}

/**
 * The warning `skiff apply` prints, naming the resource and, for a field, where it is set:
 * `AuthorizationPolicy default/allow-nothing is stored but not enforced by Skiff yet`,
 * `DestinationRule default/reviews: spec.trafficPolicy.tls is stored but not enforced by Skiff yet`.
 */
export function unenforcedWarning(resource: Resource, use: UnenforcedUse): string {
  const ns = resource.metadata.namespace;
  const name = `${resource.kind} ${ns !== undefined && ns !== '' ? `${ns}/` : ''}${resource.metadata.name}`;
  if (use.paths.length === 0) return `${name} is stored but not enforced by Skiff yet`;
  return `${name}: ${use.paths.map(formatPath).join(', ')} ${use.paths.length === 1 ? 'is' : 'are'} stored but not enforced by Skiff yet`;
}
