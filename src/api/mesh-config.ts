/**
 * Istio's MeshConfig (istio/api mesh/v1alpha1/config.proto, with ProxyConfig from proxy.proto):
 * the mesh-wide settings Istio users keep in the `mesh` key of the ConfigMap `istio` in
 * `istio-system`. One TypeBox schema gives the TypeScript type and the validator, as for the
 * kinds under `kinds/`; `checkMeshConfig` turns a parsed `mesh` value into a typed MeshConfig and
 * its findings. Field names are the proto's JSON names; the proto's own snake_case names are
 * accepted too, as protobuf's JSON parser accepts them.
 *
 * What Skiff does with each field is decided where the mesh options are read
 * (`src/controlplane/mesh-options.ts`); here every known field is typed, so that a misspelt or
 * unknown one can be told apart from one Skiff knows but does not act on.
 */
import type { Static } from 'typebox';
import { LabelSelector } from './kinds/kube/workloads.js';
import { Nullable } from './kinds/networking/common.js';
import { retryOnProblems } from './kinds/networking/rules/http-checks.js';
import { TcpKeepalive } from './kinds/networking/connection-pool.js';
import { ClientTLSSettings } from './kinds/networking/destination-rule.js';
import { HTTPRetry } from './kinds/networking/http-policies.js';
import { LocalityLoadBalancerSetting } from './kinds/networking/load-balancer.js';
import { checkSchema } from './schema-check.js';
import {
  Bool,
  Double,
  Duration,
  Enum,
  Int32,
  List,
  MapOf,
  OneOf,
  Opt,
  Str,
  StringList,
  StringMap,
  Strict,
  Struct,
  UInt32,
} from './schema-kit.js';
import type { Issue } from './types.js';

/** ProxyConfig's `tracing` (Tracing in proxy.proto). */
export const ProxyTracing = OneOf(
  Strict(
    {
      zipkin: Opt(Strict({ address: Opt(Str({ description: 'Address of the Zipkin service, e.g. zipkin:9411.' })) })),
      lightstep: Opt(Strict({ address: Opt(Str()), accessToken: Opt(Str()) })),
      datadog: Opt(Strict({ address: Opt(Str({ description: 'Address of the Datadog agent.' })) })),
      stackdriver: Opt(Struct()),
      openCensusAgent: Opt(Strict({ address: Opt(Str()), context: Opt(StringList()) })),
      customTags: Opt(MapOf(Struct())),
      maxPathTagLength: Opt(UInt32()),
      sampling: Opt(Double({ minimum: 0, maximum: 100, description: 'Percentage of requests (0.0 - 100.0) randomly selected for a new trace. Default 1.0.' })),
      tlsSettings: Opt(ClientTLSSettings),
    },
    { description: 'Tracing performed by the proxies.' },
  ),
  [['zipkin', 'lightstep', 'datadog', 'stackdriver', 'openCensusAgent']],
);

const RemoteService = Strict({ address: Opt(Str()), tlsSettings: Opt(ClientTLSSettings), tcpKeepalive: Opt(TcpKeepalive) });

/** MeshConfig's `defaultConfig`: the ProxyConfig every proxy starts from. */
export const ProxyConfig = Strict(
  {
    configPath: Opt(Str()),
    binaryPath: Opt(Str()),
    serviceCluster: Opt(Str()),
    tracingServiceName: Opt(Enum(['APP_LABEL_AND_NAMESPACE', 'CANONICAL_NAME_ONLY', 'CANONICAL_NAME_AND_NAMESPACE'] as const)),
    drainDuration: Opt(Duration()),
    parentShutdownDuration: Opt(Duration()),
    discoveryAddress: Opt(Str()),
    discoveryRefreshDelay: Opt(Duration()),
    zipkinAddress: Opt(Str()),
    statsdUdpAddress: Opt(Str()),
    envoyMetricsServiceAddress: Opt(Str()),
    proxyAdminPort: Opt(Int32()),
    availabilityZone: Opt(Str()),
    controlPlaneAuthPolicy: Opt(Enum(['NONE', 'MUTUAL_TLS', 'INHERIT'] as const)),
    customConfigFile: Opt(Str()),
    statNameLength: Opt(Int32()),
    concurrency: Opt(Nullable(Int32())),
    proxyBootstrapTemplatePath: Opt(Str()),
    interceptionMode: Opt(Enum(['REDIRECT', 'TPROXY', 'NONE'] as const)),
    tracing: Opt(ProxyTracing),
    sds: Opt(Strict({ enabled: Opt(Bool()), k8sSaJwtPath: Opt(Str()) })),
    envoyAccessLogService: Opt(RemoteService),
    envoyMetricsService: Opt(RemoteService),
    proxyMetadata: Opt(StringMap()),
    runtimeValues: Opt(StringMap()),
    statusPort: Opt(Int32()),
    extraStatTags: Opt(StringList()),
    gatewayTopology: Opt(Strict({ numTrustedProxies: Opt(UInt32()), forwardClientCertDetails: Opt(Str()), proxyProtocol: Opt(Struct()) })),
    terminationDrainDuration: Opt(Duration()),
    meshId: Opt(Str()),
    readinessProbe: Opt(Struct()),
    proxyStatsMatcher: Opt(Strict({ inclusionPrefixes: Opt(StringList()), inclusionSuffixes: Opt(StringList()), inclusionRegexps: Opt(StringList()) })),
    holdApplicationUntilProxyStarts: Opt(Nullable(Bool())),
    caCertificatesPem: Opt(StringList()),
    image: Opt(Strict({ imageType: Opt(Str()) })),
    privateKeyProvider: Opt(Struct()),
    proxyHeaders: Opt(Struct()),
    fileFlushInterval: Opt(Duration()),
    fileFlushMinSizeKb: Opt(Nullable(UInt32())),
  },
  { description: 'Default ProxyConfig of gateways and sidecars.' },
);
export type ProxyConfig = Static<typeof ProxyConfig>;

/** `service` and `port` of a provider: `[<namespace>/]<hostname>` of a Kubernetes Service or ServiceEntry. */
const ProviderService = {
  service: Str({ description: 'Fully qualified host of the service, optionally `namespace/` first.' }),
  port: UInt32({ minimum: 1, maximum: 65535, description: 'Port of the service.' }),
};

const RequestBody = Strict({ maxRequestBytes: Opt(UInt32()), allowPartialMessage: Opt(Bool()), packAsBytes: Opt(Bool()) });

export const EnvoyExternalAuthorizationHttpProvider = Strict({
  ...ProviderService,
  timeout: Opt(Duration({ description: 'How long to wait for the authorizer (default 600s).' })),
  pathPrefix: Opt(Str({ description: 'Prefix of the check request path.' })),
  failOpen: Opt(Bool({ description: 'Allow the request when the authorizer cannot be reached or answers 5xx.' })),
  statusOnError: Opt(Str({ description: 'Status answered when the authorizer cannot be reached (default 403).' })),
  includeHeadersInCheck: Opt(StringList({ description: 'Deprecated: use includeRequestHeadersInCheck.' })),
  includeRequestHeadersInCheck: Opt(StringList({ description: 'Client request headers sent in the check.' })),
  includeAdditionalHeadersInCheck: Opt(StringMap({ description: 'Fixed headers added to the check.' })),
  includeRequestBodyInCheck: Opt(RequestBody),
  headersToUpstreamOnAllow: Opt(StringList()),
  headersToDownstreamOnDeny: Opt(StringList()),
  headersToDownstreamOnAllow: Opt(StringList()),
});
export type EnvoyExternalAuthorizationHttpProvider = Static<typeof EnvoyExternalAuthorizationHttpProvider>;

export const EnvoyExternalAuthorizationGrpcProvider = Strict({
  ...ProviderService,
  timeout: Opt(Duration({ description: 'How long to wait for the authorizer (default 600s).' })),
  failOpen: Opt(Bool()),
  statusOnError: Opt(Str()),
  includeRequestBodyInCheck: Opt(RequestBody),
});
export type EnvoyExternalAuthorizationGrpcProvider = Static<typeof EnvoyExternalAuthorizationGrpcProvider>;

export const ZipkinTracingProvider = Strict({
  ...ProviderService,
  maxTagLength: Opt(UInt32()),
  enable64bitTraceId: Opt(Bool()),
  path: Opt(Str({ description: 'Path spans are posted to (default /api/v2/spans).' })),
});
export type ZipkinTracingProvider = Static<typeof ZipkinTracingProvider>;

const HttpService = Strict({
  path: Str({ description: 'Path on the service.' }),
  timeout: Opt(Duration()),
  headers: Opt(List(Strict({ name: Str(), value: Opt(Str()), envName: Opt(Str()) }))),
});

export const OpenTelemetryTracingProvider = Strict({
  ...ProviderService,
  maxTagLength: Opt(UInt32()),
  http: Opt(HttpService),
  resourceDetectors: Opt(Struct()),
  dynatraceSampler: Opt(Struct()),
  sampling: Opt(Struct()),
});
export type OpenTelemetryTracingProvider = Static<typeof OpenTelemetryTracingProvider>;

const LogFormat = OneOf(Strict({ text: Opt(Str()), labels: Opt(Struct()) }), [['text', 'labels']]);

export const EnvoyFileAccessLogProvider = Strict({
  path: Opt(Str({ description: 'File the log is written to (default /dev/stdout).' })),
  logFormat: Opt(LogFormat),
});
export type EnvoyFileAccessLogProvider = Static<typeof EnvoyFileAccessLogProvider>;

const GrpcLogProvider = Strict({
  ...ProviderService,
  logName: Opt(Str()),
  filterStateObjectsToLog: Opt(StringList()),
  additionalRequestHeadersToLog: Opt(StringList()),
  additionalResponseHeadersToLog: Opt(StringList()),
  additionalResponseTrailersToLog: Opt(StringList()),
});

/** The kinds of extension provider, as the proto's `provider` oneof names them. */
export const EXTENSION_PROVIDER_KINDS = [
  'envoyExtAuthzHttp',
  'envoyExtAuthzGrpc',
  'zipkin',
  'lightstep',
  'datadog',
  'stackdriver',
  'opencensus',
  'skywalking',
  'opentelemetry',
  'prometheus',
  'envoyFileAccessLog',
  'envoyHttpAls',
  'envoyTcpAls',
  'envoyOtelAls',
] as const;
export type ExtensionProviderKind = (typeof EXTENSION_PROVIDER_KINDS)[number];

export const ExtensionProvider = OneOf(
  Strict({
    name: Str({ minLength: 1, description: 'Unique name the provider is referred to by.' }),
    envoyExtAuthzHttp: Opt(EnvoyExternalAuthorizationHttpProvider),
    envoyExtAuthzGrpc: Opt(EnvoyExternalAuthorizationGrpcProvider),
    zipkin: Opt(ZipkinTracingProvider),
    lightstep: Opt(Strict({ ...ProviderService, accessToken: Opt(Str()), maxTagLength: Opt(UInt32()) })),
    datadog: Opt(Strict({ ...ProviderService, maxTagLength: Opt(UInt32()) })),
    stackdriver: Opt(Struct()),
    opencensus: Opt(Strict({ ...ProviderService, context: Opt(StringList()), maxTagLength: Opt(UInt32()) })),
    skywalking: Opt(Strict({ ...ProviderService, accessToken: Opt(Str()) })),
    opentelemetry: Opt(OpenTelemetryTracingProvider),
    prometheus: Opt(Strict({})),
    envoyFileAccessLog: Opt(EnvoyFileAccessLogProvider),
    envoyHttpAls: Opt(GrpcLogProvider),
    envoyTcpAls: Opt(Strict({ ...ProviderService, logName: Opt(Str()), filterStateObjectsToLog: Opt(StringList()) })),
    envoyOtelAls: Opt(Strict({ ...ProviderService, logName: Opt(Str()), logFormat: Opt(Strict({ text: Opt(Str()), labels: Opt(Struct()) })) })),
  }, { description: 'An extension provider other resources refer to by name.' }),
  [[...EXTENSION_PROVIDER_KINDS]],
);
export type ExtensionProvider = Static<typeof ExtensionProvider>;

export const DefaultProviders = Strict({
  tracing: Opt(StringList({ description: 'Default tracing provider(s).' })),
  metrics: Opt(StringList({ description: 'Default metrics provider(s).' })),
  accessLogging: Opt(StringList({ description: 'Default access logging provider(s).' })),
});
export type DefaultProviders = Static<typeof DefaultProviders>;

export const PATH_NORMALIZATIONS = ['DEFAULT', 'NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'] as const;

const TLSConfig = Strict({
  minProtocolVersion: Opt(Enum(['TLS_AUTO', 'TLSV1_2', 'TLSV1_3'] as const)),
  ecdhCurves: Opt(StringList()),
  cipherSuites: Opt(StringList()),
});

const CertificateData = OneOf(
  Strict({ pem: Opt(Str()), spiffeBundleUrl: Opt(Str()), certSigners: Opt(StringList()), trustDomains: Opt(StringList()) }),
  [['pem', 'spiffeBundleUrl']],
);

export const MeshConfig = Strict(
  {
    proxyListenPort: Opt(Int32()),
    proxyInboundListenPort: Opt(Int32()),
    proxyHttpPort: Opt(Int32()),
    connectTimeout: Opt(Duration({ description: 'Connect timeout of the proxies (default 10s).' })),
    protocolDetectionTimeout: Opt(Duration()),
    tcpKeepalive: Opt(TcpKeepalive),
    ingressClass: Opt(Str()),
    ingressService: Opt(Str()),
    ingressControllerMode: Opt(Enum(['UNSPECIFIED', 'OFF', 'DEFAULT', 'STRICT'] as const)),
    ingressSelector: Opt(Str()),
    enableTracing: Opt(Bool({ description: 'Generate trace spans and request ids (default true).' })),
    accessLogFile: Opt(Str({ description: 'Access log file of every proxy, e.g. /dev/stdout; empty: none.' })),
    accessLogFormat: Opt(Str()),
    accessLogEncoding: Opt(Enum(['TEXT', 'JSON'] as const, { description: 'Access log encoding (default TEXT).' })),
    enableEnvoyAccessLogService: Opt(Bool()),
    disableEnvoyListenerLog: Opt(Bool()),
    defaultConfig: Opt(ProxyConfig),
    outboundTrafficPolicy: Opt(
      Strict({ mode: Opt(Enum(['REGISTRY_ONLY', 'ALLOW_ANY'] as const, { description: 'Traffic to hosts outside the registry (default ALLOW_ANY).' })) }),
    ),
    inboundTrafficPolicy: Opt(Strict({ mode: Opt(Enum(['PASSTHROUGH', 'LOCALHOST'] as const)) })),
    configSources: Opt(List(Strict({ address: Opt(Str()), tlsSettings: Opt(ClientTLSSettings), subscribedResources: Opt(List(Enum(['SERVICE_REGISTRY'] as const))) }))),
    enableAutoMtls: Opt(Nullable(Bool())),
    trustDomain: Opt(Str({ description: 'Trust domain of workload identities (default cluster.local).' })),
    trustDomainAliases: Opt(StringList()),
    caCertificates: Opt(List(CertificateData)),
    defaultServiceExportTo: Opt(StringList()),
    defaultVirtualServiceExportTo: Opt(StringList()),
    defaultDestinationRuleExportTo: Opt(StringList()),
    rootNamespace: Opt(Str({ description: 'Namespace whose config applies mesh-wide (default istio-system).' })),
    localityLbSetting: Opt(LocalityLoadBalancerSetting),
    dnsRefreshRate: Opt(Duration()),
    h2UpgradePolicy: Opt(Enum(['DO_NOT_UPGRADE', 'UPGRADE'] as const)),
    inboundClusterStatName: Opt(Str()),
    outboundClusterStatName: Opt(Str()),
    certificates: Opt(List(Strict({ secretName: Opt(Str()), dnsNames: Opt(StringList()) }))),
    serviceSettings: Opt(List(Strict({ settings: Opt(Strict({ clusterLocal: Opt(Bool()) })), hosts: Opt(StringList()) }))),
    enablePrometheusMerge: Opt(Nullable(Bool())),
    verifyCertificateAtClient: Opt(Nullable(Bool())),
    ca: Opt(Strict({ address: Opt(Str()), tlsSettings: Opt(ClientTLSSettings), requestTimeout: Opt(Duration()), istiodSide: Opt(Bool()) })),
    extensionProviders: Opt(List(ExtensionProvider, { description: 'Providers AuthorizationPolicy (CUSTOM) and Telemetry refer to by name.' })),
    defaultProviders: Opt(DefaultProviders),
    discoverySelectors: Opt(List(LabelSelector)),
    pathNormalization: Opt(Strict({ normalization: Opt(Enum(PATH_NORMALIZATIONS)) })),
    defaultHttpRetryPolicy: Opt(HTTPRetry),
    meshMTLS: Opt(TLSConfig),
    tlsDefaults: Opt(TLSConfig),
    compliancePolicy: Opt(Str()),
    serviceScopeConfigs: Opt(List(Struct())),
  },
  { description: "Istio's mesh-wide configuration." },
);
export type MeshConfig = Static<typeof MeshConfig>;

/** What checking a parsed `mesh` value yields. */
export interface MeshConfigCheck {
  /** The typed mesh config (unknown fields left out); absent when there is an error. */
  config?: MeshConfig;
  /**
   * Findings with field paths as written (snake_case names kept). Unknown fields are warnings:
   * istiod ignores them, so the rest of the mesh config still applies.
   */
  issues: Issue[];
}

/**
 * Checks a parsed `mesh` value against the schema. Snake_case field names (the proto's own) are
 * read as their camelCase JSON names; `null` (an empty `mesh` key) is an empty mesh config.
 */
export function checkMeshConfig(value: unknown): MeshConfigCheck {
  if (value === null || value === undefined) return { config: {}, issues: [] };
  const renamed = new Map<string, string>();
  const normalized = camelCaseFields(MeshConfig, value, '', renamed);
  const checked = checkSchema(MeshConfig, normalized, []);
  const issues = checked.issues.map((i): Issue => {
    const path = originalPath(i.path, renamed);
    // istiod reads a mesh config with fields it does not know: they are a warning, not a refusal.
    return /^unknown field\b/.test(i.message) ? { ...i, path, severity: 'warning' } : { ...i, path };
  });
  if (issues.some((i) => i.severity === 'error')) return { issues };
  const config = checked.value as MeshConfig;
  issues.push(...meshRules(config, renamed));
  if (issues.some((i) => i.severity === 'error')) return { issues };
  return { config, issues };
}

/** Checks beyond the schema, as istiod's mesh config validation makes them. */
function meshRules(config: MeshConfig, renamed: ReadonlyMap<string, string>): Issue[] {
  const out: Issue[] = [];
  const err = (path: Array<string | number>, message: string): void => void out.push({ severity: 'error', path: originalPath(path, renamed), message });
  const retry = config.defaultHttpRetryPolicy;
  if (retry !== undefined) {
    if ((retry.attempts ?? 0) < 0) err(['defaultHttpRetryPolicy', 'attempts'], 'attempts cannot be negative');
    if (retry.retryOn !== undefined && retry.retryOn !== '') {
      for (const problem of retryOnProblems(retry.retryOn)) err(['defaultHttpRetryPolicy', 'retryOn'], problem);
    }
  }
  const names = new Set<string>();
  (config.extensionProviders ?? []).forEach((p, i) => {
    if (names.has(p.name)) err(['extensionProviders', i, 'name'], `duplicate extension provider name "${p.name}"`);
    names.add(p.name);
    if (!EXTENSION_PROVIDER_KINDS.some((k) => p[k] !== undefined)) err(['extensionProviders', i], `provider "${p.name}" sets no provider (one of ${EXTENSION_PROVIDER_KINDS.join(', ')})`);
  });
  return out;
}

type SchemaNode = Readonly<Record<string, unknown>>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function snakeToCamel(name: string): string {
  return name.replace(/_([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * A copy of `value` with snake_case field names of messages replaced by their JSON names where
 * the schema knows them (map keys are left alone), and integers written as strings read as
 * numbers (protobuf's JSON mapping takes both, and Istio's pages write `port: "9000"`). `renamed`
 * records `path/jsonName` → the name as written, so findings can name and locate what the user
 * wrote.
 */
function camelCaseFields(schema: unknown, value: unknown, path: string, renamed: Map<string, string>): unknown {
  const node = isRecord(schema) ? (schema as SchemaNode) : undefined;
  if (node === undefined) return value;
  if (typeof value === 'string' && node.type === 'integer' && /^-?\d{1,15}$/.test(value)) return Number(value);
  if (Array.isArray(value)) return value.map((v, i) => camelCaseFields(node.items, v, `${path}/${i}`, renamed));
  if (!isRecord(value)) return value;
  const props = isRecord(node.properties) ? node.properties : undefined;
  if (props === undefined) {
    // A map: keys are data; its values may still be messages.
    const values = node.additionalProperties;
    if (!isRecord(values)) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, camelCaseFields(values, v, `${path}/${k}`, renamed)]));
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const camel = key.includes('_') ? snakeToCamel(key) : key;
    const name = camel !== key && camel in props && !(camel in value) ? camel : key;
    if (name !== key) renamed.set(`${path}/${name}`, key);
    out[name] = camelCaseFields(props[name], v, `${path}/${name}`, renamed);
  }
  return out;
}

/** A finding's path with every renamed field back to the name the user wrote. */
function originalPath(path: ReadonlyArray<string | number>, renamed: ReadonlyMap<string, string>): Array<string | number> {
  let at = '';
  return path.map((seg) => {
    at += `/${seg}`;
    return typeof seg === 'string' ? (renamed.get(at) ?? seg) : seg;
  });
}
