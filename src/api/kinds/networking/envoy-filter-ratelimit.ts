/**
 * Which EnvoyFilter patches Skiff applies, read into plain data: the rate-limit shapes Istio
 * documents and nothing else — `HTTP_FILTER` patches adding Envoy's `local_ratelimit` or
 * `ratelimit` filter (typed config or TypedStruct) and `HTTP_ROUTE` / `VIRTUAL_HOST` MERGE patches
 * of `typed_per_filter_config` and `rate_limits`. Every other patch gets a reason naming what
 * Skiff cannot apply, which `skiff analyze` reports and translation logs; translation
 * (`src/controlplane/translate/envoy-filter/`) puts the data read here into the proxy snapshot.
 * Envoy's JSON is read as protobuf JSON is: snake_case or camelCase field names, durations as
 * `"60s"`, fractional percents with their denominator.
 */
import type { EnvoyConfigObjectPatch } from './envoy-filter.js';

export const LOCAL_RATELIMIT_FILTER = 'envoy.filters.http.local_ratelimit';
export const RATELIMIT_FILTER = 'envoy.filters.http.ratelimit';
const HCM = 'envoy.filters.network.http_connection_manager';
const LOCAL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const GLOBAL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit';
const TYPED_STRUCTS = ['type.googleapis.com/udpa.type.v1.TypedStruct', 'type.googleapis.com/xds.type.v3.TypedStruct'];

/** Envoy's `TokenBucket`: `maxTokens` to start with and at most, `tokensPerFill` added every `fillIntervalMs`. */
export interface TokenBucket {
  maxTokens: number;
  tokensPerFill: number;
  fillIntervalMs: number;
}

/** A response header the filter adds to its 429 (Envoy's `HeaderValueOption`). */
export interface RateLimitHeader {
  name: string;
  value: string;
  /** Add beside existing values (true) or replace them (false). */
  append: boolean;
}

/** One `descriptors` entry of the local filter: requests whose descriptor equals `entries` take this bucket. */
export interface LocalRateLimitDescriptor {
  /** Key and value of each entry; an absent value matches any value of the key. */
  entries: { key: string; value?: string }[];
  tokenBucket: TokenBucket;
}

/** `envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`. */
export interface LocalRateLimit {
  /** Stats are `<statPrefix>.http_local_rate_limit.{enabled,enforced,rate_limited,ok}`. */
  statPrefix: string;
  /** Absent: the filter does nothing unless a route or virtual host carries its own config. */
  tokenBucket?: TokenBucket;
  /** `filter_enabled`, 0..100 (Envoy: absent = 0 %, the filter only counts nothing). */
  enabledPercent: number;
  /** `filter_enforced`, 0..100 (absent = 0 %: limited requests are counted but pass). */
  enforcedPercent: number;
  /** Added to the 429 (and, in Envoy, only to it). */
  responseHeaders?: RateLimitHeader[];
  descriptors?: LocalRateLimitDescriptor[];
  /** `local_rate_limit_per_downstream_connection`: one bucket per downstream connection. */
  perConnection?: boolean;
  /** Status of the rate-limited answer (`status.code`, default 429; below 400 means 429). */
  status?: number;
}

/** `envoy.extensions.filters.http.ratelimit.v3.RateLimit`: asks a rate-limit service. */
export interface GlobalRateLimit {
  /** The rate-limit service's domain. */
  domain: string;
  /** Cluster of the rate-limit service (`rate_limit_service.grpc_service.envoy_grpc.cluster_name`). */
  cluster: string;
  /** `:authority` of the call (`envoy_grpc.authority`); absent = the cluster name. */
  authority?: string;
  /** How long to wait for the service (Envoy's default 20 ms). */
  timeoutMs: number;
  /** Answer 500 when the service fails or times out, instead of letting the request pass. */
  failureModeDeny: boolean;
  /** `enable_x_ratelimit_headers: DRAFT_VERSION_03`: `x-ratelimit-limit/remaining/reset` on answers. */
  xRateLimitHeaders: boolean;
  /** Stats are `cluster.<rls cluster>.ratelimit.*` in Envoy; Skiff uses this prefix (`ratelimit` default). */
  statPrefix?: string;
}

/** The listener's rate-limit filters, in the HTTP filter chain's order. */
export type RateLimitFilterConfig = { type: 'local'; local: LocalRateLimit } | { type: 'global'; global: GlobalRateLimit };

/** Envoy's `HeaderMatcher`, as rate-limit actions use it. */
export interface RateLimitHeaderMatcher {
  /** Lowercase header name; `:path`, `:method`, `:authority`, `:scheme` are the pseudo-headers. */
  name: string;
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  /** RE2, whole value. */
  regex?: string;
  /** True: the header must be present; false: absent. */
  present?: boolean;
  invert?: boolean;
}

/** One action of a `rate_limits` entry, producing one descriptor entry (or none: the descriptor is dropped). */
export type RateLimitAction =
  | { type: 'requestHeaders'; headerName: string; descriptorKey: string; skipIfAbsent?: boolean }
  | { type: 'headerValueMatch'; descriptorKey: string; descriptorValue: string; expectMatch: boolean; headers: RateLimitHeaderMatcher[] }
  | { type: 'remoteAddress' }
  | { type: 'genericKey'; descriptorKey: string; descriptorValue: string }
  | { type: 'destinationCluster' };

/** One `rate_limits` entry: its actions in order make one descriptor. */
export interface RateLimitPolicy {
  actions: RateLimitAction[];
}

/** What a route or virtual host says to the rate-limit filters. */
export interface RouteRateLimits {
  /** `typed_per_filter_config` of `envoy.filters.http.local_ratelimit`: replaces the listener's config. */
  local?: LocalRateLimit;
  /** `rate_limits`: the descriptors the filters compute for a request. */
  policies?: RateLimitPolicy[];
}

/** Where in the filter chain an HTTP filter goes. */
export type FilterPosition = { at: 'first' } | { at: 'last' } | { at: 'before' | 'after'; filter: string };

/** A patch Skiff applies. */
export type RateLimitPatch =
  | { kind: 'filter'; position: FilterPosition; filter: { type: 'local'; local: LocalRateLimit } | { type: 'global'; global: GlobalRateLimit } }
  | { kind: 'merge'; level: 'route' | 'vhost'; limits: RouteRateLimits };

export type PatchReading = { ok: true; patch: RateLimitPatch } | { ok: false; reason: string };

type Obj = Record<string, unknown>;

class PatchProblem extends Error {}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function camel(snake: string): string {
  return snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** A field by its proto name, written snake_case or camelCase. */
function field(o: Obj, snake: string): unknown {
  return o[snake] ?? o[camel(snake)];
}

function objAt(o: Obj, snake: string, at: string): Obj | undefined {
  const v = field(o, snake);
  if (v === undefined) return undefined;
  if (!isObj(v)) throw new PatchProblem(`${at}.${snake} must be an object`);
  return v;
}

function strAt(o: Obj, snake: string, at: string): string | undefined {
  const v = field(o, snake);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new PatchProblem(`${at}.${snake} must be a string`);
  return v;
}

function boolAt(o: Obj, snake: string, at: string): boolean | undefined {
  const v = field(o, snake);
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new PatchProblem(`${at}.${snake} must be true or false`);
  return v;
}

/** A uint32 written as a number or a numeric string (protobuf JSON allows both). */
function uintAt(o: Obj, snake: string, at: string): number | undefined {
  const v = field(o, snake);
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) throw new PatchProblem(`${at}.${snake} must be a non-negative integer`);
  return n;
}

/** A google.protobuf.Duration: `"60s"`, `"0.5s"`, or `{seconds, nanos}`. */
function durationMsAt(o: Obj, snake: string, at: string): number | undefined {
  const v = field(o, snake);
  if (v === undefined) return undefined;
  if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)s$/.exec(v);
    if (m === null) throw new PatchProblem(`${at}.${snake} must be a duration such as "60s", got ${JSON.stringify(v)}`);
    return Math.round(Number(m[1]) * 1000);
  }
  if (isObj(v)) return Number(v.seconds ?? 0) * 1000 + Math.round(Number(v.nanos ?? 0) / 1e6);
  throw new PatchProblem(`${at}.${snake} must be a duration such as "60s"`);
}

const DENOMINATORS: Readonly<Record<string, number>> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

/** A RuntimeFractionalPercent's default value as a percentage; absent is 0 % (Envoy's default here). */
function percentAt(o: Obj, snake: string, at: string): number {
  const rfp = objAt(o, snake, at);
  if (rfp === undefined) return 0;
  const fp = objAt(rfp, 'default_value', `${at}.${snake}`);
  if (fp === undefined) return 0;
  const numerator = uintAt(fp, 'numerator', `${at}.${snake}.default_value`) ?? 0;
  const denName = strAt(fp, 'denominator', `${at}.${snake}.default_value`) ?? 'HUNDRED';
  const den = DENOMINATORS[denName];
  if (den === undefined) throw new PatchProblem(`${at}.${snake}.default_value.denominator must be HUNDRED, TEN_THOUSAND or MILLION`);
  return Math.min(100, (numerator / den) * 100);
}

function tokenBucket(o: Obj, at: string): TokenBucket {
  const maxTokens = uintAt(o, 'max_tokens', at);
  if (maxTokens === undefined || maxTokens < 1) throw new PatchProblem(`${at}.max_tokens must be at least 1`);
  const tokensPerFill = uintAt(o, 'tokens_per_fill', at) ?? 1;
  const fillIntervalMs = durationMsAt(o, 'fill_interval', at);
  if (fillIntervalMs === undefined || fillIntervalMs < 50) throw new PatchProblem(`${at}.fill_interval must be at least 50ms`);
  return { maxTokens, tokensPerFill: Math.max(1, tokensPerFill), fillIntervalMs };
}

/** The config of a typed_config: the object itself, or a TypedStruct's `value`, with its type URL. */
function typedConfig(v: unknown, at: string): { type: string; value: Obj } {
  if (!isObj(v)) throw new PatchProblem(`${at} must be an object`);
  const type = typeof v['@type'] === 'string' ? v['@type'] : '';
  if (TYPED_STRUCTS.includes(type)) {
    const url = field(v, 'type_url');
    const value = v.value ?? {};
    if (typeof url !== 'string' || !isObj(value)) throw new PatchProblem(`${at}: a TypedStruct needs type_url and an object value`);
    return { type: url, value };
  }
  return { type, value: v };
}

const LOCAL_FIELDS = new Set(['@type', 'stat_prefix', 'token_bucket', 'filter_enabled', 'filter_enforced', 'response_headers_to_add', 'descriptors', 'local_rate_limit_per_downstream_connection', 'status', 'enable_x_ratelimit_headers', 'always_consume_default_token_bucket']);
const GLOBAL_FIELDS = new Set(['@type', 'domain', 'failure_mode_deny', 'timeout', 'rate_limit_service', 'enable_x_ratelimit_headers', 'stage', 'request_type', 'stat_prefix']);

function unknownFields(o: Obj, known: Set<string>, at: string): void {
  for (const k of Object.keys(o)) {
    const snake = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (!known.has(k) && !known.has(snake)) throw new PatchProblem(`${at}.${k} is not supported by Skiff`);
  }
}

export function readLocalRateLimit(o: Obj, at: string): LocalRateLimit {
  unknownFields(o, LOCAL_FIELDS, at);
  const statPrefix = strAt(o, 'stat_prefix', at);
  if (statPrefix === undefined || statPrefix === '') throw new PatchProblem(`${at}.stat_prefix is required`);
  const out: LocalRateLimit = {
    statPrefix,
    enabledPercent: percentAt(o, 'filter_enabled', at),
    enforcedPercent: percentAt(o, 'filter_enforced', at),
  };
  const tb = objAt(o, 'token_bucket', at);
  if (tb !== undefined) out.tokenBucket = tokenBucket(tb, `${at}.token_bucket`);
  const headers = field(o, 'response_headers_to_add');
  if (headers !== undefined) {
    if (!Array.isArray(headers)) throw new PatchProblem(`${at}.response_headers_to_add must be a list`);
    out.responseHeaders = headers.map((h: unknown, i) => {
      const hat = `${at}.response_headers_to_add[${i}]`;
      if (!isObj(h)) throw new PatchProblem(`${hat} must be an object`);
      const header = objAt(h, 'header', hat);
      const name = header === undefined ? undefined : strAt(header, 'key', `${hat}.header`);
      if (header === undefined || name === undefined || name === '') throw new PatchProblem(`${hat}.header.key is required`);
      const append = boolAt(h, 'append', hat) ?? (strAt(h, 'append_action', hat) ?? 'APPEND_IF_EXISTS_OR_ADD') === 'APPEND_IF_EXISTS_OR_ADD';
      return { name: name.toLowerCase(), value: strAt(header, 'value', `${hat}.header`) ?? '', append };
    });
  }
  const descriptors = field(o, 'descriptors');
  if (descriptors !== undefined) {
    if (!Array.isArray(descriptors)) throw new PatchProblem(`${at}.descriptors must be a list`);
    out.descriptors = descriptors.map((d: unknown, i) => {
      const dat = `${at}.descriptors[${i}]`;
      if (!isObj(d) || !Array.isArray(d.entries) || d.entries.length === 0) throw new PatchProblem(`${dat}.entries must be a non-empty list`);
      const entries = (d.entries as unknown[]).map((e, j) => {
        if (!isObj(e) || typeof e.key !== 'string') throw new PatchProblem(`${dat}.entries[${j}].key is required`);
        return typeof e.value === 'string' ? { key: e.key, value: e.value } : { key: e.key };
      });
      const tb2 = objAt(d, 'token_bucket', dat);
      if (tb2 === undefined) throw new PatchProblem(`${dat}.token_bucket is required`);
      return { entries, tokenBucket: tokenBucket(tb2, `${dat}.token_bucket`) };
    });
  }
  const perConnection = boolAt(o, 'local_rate_limit_per_downstream_connection', at);
  if (perConnection !== undefined) out.perConnection = perConnection;
  const status = objAt(o, 'status', at);
  if (status !== undefined) {
    const code = uintAt(status, 'code', `${at}.status`);
    if (code !== undefined) out.status = code;
  }
  return out;
}

function readGlobalRateLimit(o: Obj, at: string): GlobalRateLimit {
  unknownFields(o, GLOBAL_FIELDS, at);
  const domain = strAt(o, 'domain', at);
  if (domain === undefined || domain === '') throw new PatchProblem(`${at}.domain is required`);
  const grpc = objAt(objAt(o, 'rate_limit_service', at) ?? {}, 'grpc_service', `${at}.rate_limit_service`);
  const envoyGrpc = grpc === undefined ? undefined : objAt(grpc, 'envoy_grpc', `${at}.rate_limit_service.grpc_service`);
  if (grpc !== undefined && envoyGrpc === undefined) throw new PatchProblem(`${at}.rate_limit_service.grpc_service: only envoy_grpc is supported by Skiff`);
  const cluster = envoyGrpc === undefined ? undefined : strAt(envoyGrpc, 'cluster_name', `${at}.rate_limit_service.grpc_service.envoy_grpc`);
  if (cluster === undefined || cluster === '') throw new PatchProblem(`${at}.rate_limit_service.grpc_service.envoy_grpc.cluster_name is required`);
  const xHeaders = strAt(o, 'enable_x_ratelimit_headers', at);
  if (xHeaders !== undefined && xHeaders !== 'OFF' && xHeaders !== 'DRAFT_VERSION_03') throw new PatchProblem(`${at}.enable_x_ratelimit_headers must be OFF or DRAFT_VERSION_03`);
  const stage = uintAt(o, 'stage', at);
  if (stage !== undefined && stage !== 0) throw new PatchProblem(`${at}.stage ${stage} is not supported by Skiff (only stage 0)`);
  const out: GlobalRateLimit = {
    domain,
    cluster,
    timeoutMs: durationMsAt(o, 'timeout', at) ?? 20,
    failureModeDeny: boolAt(o, 'failure_mode_deny', at) ?? false,
    xRateLimitHeaders: xHeaders === 'DRAFT_VERSION_03',
  };
  const authority = strAt(envoyGrpc!, 'authority', `${at}.rate_limit_service.grpc_service.envoy_grpc`);
  if (authority !== undefined && authority !== '') out.authority = authority;
  const statPrefix = strAt(o, 'stat_prefix', at);
  if (statPrefix !== undefined && statPrefix !== '') out.statPrefix = statPrefix;
  return out;
}

function readHeaderMatcher(h: unknown, at: string): RateLimitHeaderMatcher {
  if (!isObj(h)) throw new PatchProblem(`${at} must be an object`);
  const name = strAt(h, 'name', at);
  if (name === undefined || name === '') throw new PatchProblem(`${at}.name is required`);
  const out: RateLimitHeaderMatcher = { name: name.toLowerCase() };
  const invert = boolAt(h, 'invert_match', at);
  if (invert !== undefined) out.invert = invert;
  const regexOf = (v: Obj | undefined, where: string): string | undefined => (v === undefined ? undefined : strAt(v, 'regex', where));
  const set = (k: 'exact' | 'prefix' | 'suffix' | 'contains' | 'regex', v: string | undefined): boolean => {
    if (v === undefined) return false;
    out[k] = v;
    return true;
  };
  if (set('exact', strAt(h, 'exact_match', at)) || set('prefix', strAt(h, 'prefix_match', at)) || set('suffix', strAt(h, 'suffix_match', at)) || set('contains', strAt(h, 'contains_match', at))) return out;
  if (set('regex', regexOf(objAt(h, 'safe_regex_match', at), `${at}.safe_regex_match`))) return out;
  const present = boolAt(h, 'present_match', at);
  if (present !== undefined) {
    out.present = present;
    return out;
  }
  const sm = objAt(h, 'string_match', at);
  if (sm !== undefined) {
    const sat = `${at}.string_match`;
    if (boolAt(sm, 'ignore_case', sat) === true) throw new PatchProblem(`${sat}.ignore_case is not supported by Skiff`);
    if (set('exact', strAt(sm, 'exact', sat)) || set('prefix', strAt(sm, 'prefix', sat)) || set('suffix', strAt(sm, 'suffix', sat)) || set('contains', strAt(sm, 'contains', sat))) return out;
    if (set('regex', regexOf(objAt(sm, 'safe_regex', sat), `${sat}.safe_regex`))) return out;
    throw new PatchProblem(`${sat} must set exact, prefix, suffix, contains or safe_regex`);
  }
  out.present = true;
  return out;
}

function readAction(a: unknown, at: string): RateLimitAction {
  if (!isObj(a)) throw new PatchProblem(`${at} must be an object`);
  const keys = Object.keys(a);
  if (keys.length !== 1) throw new PatchProblem(`${at} must set exactly one action`);
  const rh = objAt(a, 'request_headers', at);
  if (rh !== undefined) {
    const headerName = strAt(rh, 'header_name', `${at}.request_headers`);
    const descriptorKey = strAt(rh, 'descriptor_key', `${at}.request_headers`);
    if (headerName === undefined || descriptorKey === undefined) throw new PatchProblem(`${at}.request_headers needs header_name and descriptor_key`);
    const out: RateLimitAction = { type: 'requestHeaders', headerName: headerName.toLowerCase(), descriptorKey };
    const skip = boolAt(rh, 'skip_if_absent', `${at}.request_headers`);
    if (skip !== undefined) out.skipIfAbsent = skip;
    return out;
  }
  const hvm = objAt(a, 'header_value_match', at);
  if (hvm !== undefined) {
    const hat = `${at}.header_value_match`;
    const descriptorValue = strAt(hvm, 'descriptor_value', hat);
    if (descriptorValue === undefined) throw new PatchProblem(`${hat}.descriptor_value is required`);
    const headers = field(hvm, 'headers');
    if (!Array.isArray(headers) || headers.length === 0) throw new PatchProblem(`${hat}.headers must be a non-empty list`);
    return {
      type: 'headerValueMatch',
      descriptorKey: strAt(hvm, 'descriptor_key', hat) ?? 'header_match',
      descriptorValue,
      expectMatch: boolAt(hvm, 'expect_match', hat) ?? true,
      headers: headers.map((h: unknown, i) => readHeaderMatcher(h, `${hat}.headers[${i}]`)),
    };
  }
  const gk = objAt(a, 'generic_key', at);
  if (gk !== undefined) {
    const descriptorValue = strAt(gk, 'descriptor_value', `${at}.generic_key`);
    if (descriptorValue === undefined) throw new PatchProblem(`${at}.generic_key.descriptor_value is required`);
    return { type: 'genericKey', descriptorKey: strAt(gk, 'descriptor_key', `${at}.generic_key`) ?? 'generic_key', descriptorValue };
  }
  if (objAt(a, 'remote_address', at) !== undefined) return { type: 'remoteAddress' };
  if (objAt(a, 'destination_cluster', at) !== undefined) return { type: 'destinationCluster' };
  throw new PatchProblem(`${at}.${keys[0]}: rate-limit action not supported by Skiff (request_headers, header_value_match, remote_address, generic_key and destination_cluster are)`);
}

function readRateLimits(v: unknown, at: string): { actions: RateLimitAction[] }[] {
  if (!Array.isArray(v)) throw new PatchProblem(`${at} must be a list`);
  return v.map((entry: unknown, i) => {
    const eat = `${at}[${i}]`;
    if (!isObj(entry)) throw new PatchProblem(`${eat} must be an object`);
    for (const k of Object.keys(entry)) if (k !== 'actions' && k !== 'stage') throw new PatchProblem(`${eat}.${k} is not supported by Skiff`);
    if (entry.stage !== undefined && entry.stage !== 0) throw new PatchProblem(`${eat}.stage is not supported by Skiff (only stage 0)`);
    if (!Array.isArray(entry.actions) || entry.actions.length === 0) throw new PatchProblem(`${eat}.actions must be a non-empty list`);
    return { actions: (entry.actions as unknown[]).map((a, j) => readAction(a, `${eat}.actions[${j}]`)) };
  });
}

function readPerFilterConfig(v: unknown, at: string): LocalRateLimit {
  if (!isObj(v)) throw new PatchProblem(`${at} must be an object`);
  for (const k of Object.keys(v)) if (k !== LOCAL_RATELIMIT_FILTER) throw new PatchProblem(`${at}.${k}: per-route config of this filter is not supported by Skiff`);
  const tc = typedConfig(v[LOCAL_RATELIMIT_FILTER], `${at}.${LOCAL_RATELIMIT_FILTER}`);
  if (tc.type !== LOCAL_TYPE) throw new PatchProblem(`${at}.${LOCAL_RATELIMIT_FILTER}: type ${tc.type} is not supported by Skiff`);
  return readLocalRateLimit(tc.value, `${at}.${LOCAL_RATELIMIT_FILTER}`);
}

function readMerge(value: Obj, level: 'route' | 'vhost'): RouteRateLimits {
  const out: RouteRateLimits = {};
  for (const k of Object.keys(value)) {
    const snake = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (snake === 'typed_per_filter_config') out.local = readPerFilterConfig(value[k], 'value.typed_per_filter_config');
    else if (level === 'vhost' && snake === 'rate_limits') out.policies = readRateLimits(value[k], 'value.rate_limits');
    else if (level === 'route' && snake === 'route') {
      const r = value[k];
      if (!isObj(r)) throw new PatchProblem('value.route must be an object');
      for (const rk of Object.keys(r)) {
        const rs = rk.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
        if (rs !== 'rate_limits') throw new PatchProblem(`value.route.${rk}: only rate_limits is supported by Skiff in a route merge`);
        out.policies = readRateLimits(r[rk], 'value.route.rate_limits');
      }
    } else throw new PatchProblem(`value.${k}: only typed_per_filter_config and ${level === 'route' ? 'route.rate_limits' : 'rate_limits'} are supported by Skiff in a ${level === 'route' ? 'HTTP_ROUTE' : 'VIRTUAL_HOST'} merge`);
  }
  return out;
}

/** Where the patch puts its filter, from the operation and the sub-filter it names. */
function position(cp: EnvoyConfigObjectPatch): FilterPosition {
  const sub = cp.match?.listener?.filterChain?.filter?.subFilter?.name;
  switch (cp.patch?.operation) {
    case 'INSERT_FIRST':
      return { at: 'first' };
    case 'ADD':
      return { at: 'last' };
    case 'INSERT_BEFORE':
      // Istio: INSERT_BEFORE without a sub-filter match inserts first.
      return sub === undefined ? { at: 'first' } : { at: 'before', filter: sub };
    case 'INSERT_AFTER':
      return sub === undefined ? { at: 'last' } : { at: 'after', filter: sub };
    default:
      throw new PatchProblem(`operation ${cp.patch?.operation ?? 'unset'} on HTTP_FILTER is not supported by Skiff (INSERT_BEFORE, INSERT_AFTER, INSERT_FIRST and ADD are)`);
  }
}

/** Match fields Skiff does not evaluate: a patch using one is not applied rather than applied too widely. */
function unsupportedMatch(cp: EnvoyConfigObjectPatch): string | undefined {
  const m = cp.match;
  if (m === undefined) return undefined;
  if (m.context === 'WAYPOINT') return 'match.context WAYPOINT is not supported by Skiff';
  if (m.proxy !== undefined) return 'match.proxy is not supported by Skiff';
  if (m.cluster !== undefined) return 'match.cluster is not supported by Skiff';
  const l = m.listener;
  if (l !== undefined) {
    if (l.name !== undefined || l.portName !== undefined || l.listenerFilter !== undefined) return 'match.listener: only portNumber and filterChain.filter are supported by Skiff';
    const fc = l.filterChain;
    if (fc !== undefined) {
      const { filter, ...rest } = fc;
      if (Object.keys(rest).length > 0) return `match.listener.filterChain.${Object.keys(rest)[0]} is not supported by Skiff`;
      if (filter?.name !== undefined && filter.name !== HCM) return `match.listener.filterChain.filter.name ${filter.name} is not supported by Skiff`;
    }
  }
  const rc = m.routeConfiguration;
  if (rc !== undefined && rc.portName !== undefined) return 'match.routeConfiguration.portName is not supported by Skiff';
  return undefined;
}

/** Reads one patch: the rate-limit shape it is, or why Skiff does not apply it. */
export function readRateLimitPatch(cp: EnvoyConfigObjectPatch): PatchReading {
  try {
    const m = unsupportedMatch(cp);
    if (m !== undefined) throw new PatchProblem(m);
    const value = cp.patch?.value;
    if (cp.applyTo === 'HTTP_FILTER') {
      const pos = position(cp);
      if (!isObj(value)) throw new PatchProblem('value must be an HTTP filter');
      const name = value.name;
      if (name !== LOCAL_RATELIMIT_FILTER && name !== RATELIMIT_FILTER) {
        throw new PatchProblem(`HTTP filter ${typeof name === 'string' ? name : '(unnamed)'} is not supported by Skiff (${LOCAL_RATELIMIT_FILTER} and ${RATELIMIT_FILTER} are)`);
      }
      const tc = typedConfig(field(value, 'typed_config'), 'value.typed_config');
      const want = name === LOCAL_RATELIMIT_FILTER ? LOCAL_TYPE : GLOBAL_TYPE;
      if (tc.type !== want) throw new PatchProblem(`value.typed_config: type ${tc.type || '(none)'} is not ${want}`);
      const filter = name === LOCAL_RATELIMIT_FILTER
        ? { type: 'local' as const, local: readLocalRateLimit(tc.value, 'value.typed_config') }
        : { type: 'global' as const, global: readGlobalRateLimit(tc.value, 'value.typed_config') };
      return { ok: true, patch: { kind: 'filter', position: pos, filter } };
    }
    if (cp.applyTo === 'HTTP_ROUTE' || cp.applyTo === 'VIRTUAL_HOST') {
      if (cp.patch?.operation !== 'MERGE') throw new PatchProblem(`operation ${cp.patch?.operation ?? 'unset'} on ${cp.applyTo} is not supported by Skiff (MERGE is)`);
      if (!isObj(value)) throw new PatchProblem('value must be an object');
      const level = cp.applyTo === 'HTTP_ROUTE' ? 'route' : 'vhost';
      return { ok: true, patch: { kind: 'merge', level, limits: readMerge(value, level) } };
    }
    return { ok: false, reason: `applyTo ${cp.applyTo ?? 'unset'} is not supported by Skiff (only the rate-limit patches of HTTP_FILTER, HTTP_ROUTE and VIRTUAL_HOST are)` };
  } catch (err) {
    if (err instanceof PatchProblem) return { ok: false, reason: err.message };
    throw err;
  }
}
