/**
 * The rate-limit part of the proxy snapshot: Envoy's `local_ratelimit` and `ratelimit` HTTP filters
 * as a listener carries them (in the order the EnvoyFilter patches inserted them), the per-route
 * and per-virtual-host overrides (`typed_per_filter_config`) and the `rate_limits` descriptors the
 * filters send or match. The control plane produces them from EnvoyFilter patches
 * (`src/controlplane/translate/envoy-filter/`); `check*` validate them where the proxy receives
 * them, each error naming its field.
 */
import { SnapshotError, int, list, obj, str } from './checks.js';
import type {
  TokenBucket,
  RateLimitHeader,
  LocalRateLimitDescriptor,
  LocalRateLimit,
  GlobalRateLimit,
  RateLimitFilterConfig,
  RateLimitHeaderMatcher,
  RateLimitAction,
  RateLimitPolicy,
  RouteRateLimits,
} from '../api/kinds/networking/envoy-filter-ratelimit.js';

// The shapes are the EnvoyFilter reading's (src/api): a snapshot carries what the patch said, checked again here.
export type {
  TokenBucket,
  RateLimitHeader,
  LocalRateLimitDescriptor,
  LocalRateLimit,
  GlobalRateLimit,
  RateLimitFilterConfig,
  RateLimitHeaderMatcher,
  RateLimitAction,
  RateLimitPolicy,
  RouteRateLimits,
};

function bool(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') throw new SnapshotError(at, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function percent(v: unknown, at: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 100)) throw new SnapshotError(at, `must be a percentage 0..100, got ${JSON.stringify(v)}`);
  return v;
}

export function checkTokenBucket(v: unknown, at: string): TokenBucket {
  const o = obj(v, at);
  return {
    maxTokens: int(o.maxTokens, `${at}.maxTokens`, 1, 2 ** 32 - 1),
    tokensPerFill: int(o.tokensPerFill, `${at}.tokensPerFill`, 1, 2 ** 32 - 1),
    // Envoy refuses fill intervals under 50 ms.
    fillIntervalMs: int(o.fillIntervalMs, `${at}.fillIntervalMs`, 50, 2 ** 42),
  };
}

export function checkLocalRateLimit(v: unknown, at: string): LocalRateLimit {
  const o = obj(v, at);
  const out: LocalRateLimit = {
    statPrefix: str(o.statPrefix, `${at}.statPrefix`),
    enabledPercent: percent(o.enabledPercent, `${at}.enabledPercent`),
    enforcedPercent: percent(o.enforcedPercent, `${at}.enforcedPercent`),
  };
  if (o.tokenBucket !== undefined) out.tokenBucket = checkTokenBucket(o.tokenBucket, `${at}.tokenBucket`);
  if (o.responseHeaders !== undefined) {
    out.responseHeaders = list(o.responseHeaders, `${at}.responseHeaders`).map((h, i) => {
      const hat = `${at}.responseHeaders[${i}]`;
      const ho = obj(h, hat);
      return { name: str(ho.name, `${hat}.name`).toLowerCase(), value: str(ho.value, `${hat}.value`, true), append: bool(ho.append, `${hat}.append`) };
    });
  }
  if (o.descriptors !== undefined) {
    out.descriptors = list(o.descriptors, `${at}.descriptors`).map((d, i) => {
      const dat = `${at}.descriptors[${i}]`;
      const dobj = obj(d, dat);
      const entries = list(dobj.entries, `${dat}.entries`).map((e, j) => {
        const eo = obj(e, `${dat}.entries[${j}]`);
        const key = str(eo.key, `${dat}.entries[${j}].key`);
        return eo.value === undefined ? { key } : { key, value: str(eo.value, `${dat}.entries[${j}].value`, true) };
      });
      if (entries.length === 0) throw new SnapshotError(`${dat}.entries`, 'at least one entry is required');
      return { entries, tokenBucket: checkTokenBucket(dobj.tokenBucket, `${dat}.tokenBucket`) };
    });
  }
  if (o.perConnection !== undefined) out.perConnection = bool(o.perConnection, `${at}.perConnection`);
  if (o.status !== undefined) out.status = int(o.status, `${at}.status`, 100, 599);
  return out;
}

export function checkGlobalRateLimit(v: unknown, at: string): GlobalRateLimit {
  const o = obj(v, at);
  const out: GlobalRateLimit = {
    domain: str(o.domain, `${at}.domain`),
    cluster: str(o.cluster, `${at}.cluster`),
    timeoutMs: int(o.timeoutMs, `${at}.timeoutMs`, 1, 2 ** 31),
    failureModeDeny: bool(o.failureModeDeny, `${at}.failureModeDeny`),
    xRateLimitHeaders: bool(o.xRateLimitHeaders, `${at}.xRateLimitHeaders`),
  };
  if (o.authority !== undefined) out.authority = str(o.authority, `${at}.authority`);
  if (o.statPrefix !== undefined) out.statPrefix = str(o.statPrefix, `${at}.statPrefix`);
  return out;
}

export function checkRateLimitFilters(v: unknown, at: string): RateLimitFilterConfig[] {
  return list(v, at).map((f, i) => {
    const fat = `${at}[${i}]`;
    const fo = obj(f, fat);
    if (fo.type === 'local') return { type: 'local', local: checkLocalRateLimit(fo.local, `${fat}.local`) };
    if (fo.type === 'global') return { type: 'global', global: checkGlobalRateLimit(fo.global, `${fat}.global`) };
    throw new SnapshotError(`${fat}.type`, `must be local or global, got ${JSON.stringify(fo.type)}`);
  });
}

const MATCH_KINDS = ['exact', 'prefix', 'suffix', 'contains', 'regex'] as const;

function checkHeaderMatcher(v: unknown, at: string): RateLimitHeaderMatcher {
  const o = obj(v, at);
  const out: RateLimitHeaderMatcher = { name: str(o.name, `${at}.name`).toLowerCase() };
  let kinds = 0;
  for (const k of MATCH_KINDS) {
    if (o[k] === undefined) continue;
    out[k] = str(o[k], `${at}.${k}`, true);
    kinds++;
  }
  if (o.present !== undefined) {
    out.present = bool(o.present, `${at}.present`);
    kinds++;
  }
  if (kinds > 1) throw new SnapshotError(at, `at most one of ${[...MATCH_KINDS, 'present'].join(', ')} may be set`);
  if (o.invert !== undefined) out.invert = bool(o.invert, `${at}.invert`);
  return out;
}

function checkAction(v: unknown, at: string): RateLimitAction {
  const o = obj(v, at);
  switch (o.type) {
    case 'requestHeaders': {
      const a: RateLimitAction = { type: 'requestHeaders', headerName: str(o.headerName, `${at}.headerName`).toLowerCase(), descriptorKey: str(o.descriptorKey, `${at}.descriptorKey`) };
      if (o.skipIfAbsent !== undefined) a.skipIfAbsent = bool(o.skipIfAbsent, `${at}.skipIfAbsent`);
      return a;
    }
    case 'headerValueMatch':
      return {
        type: 'headerValueMatch',
        descriptorKey: str(o.descriptorKey, `${at}.descriptorKey`),
        descriptorValue: str(o.descriptorValue, `${at}.descriptorValue`),
        expectMatch: bool(o.expectMatch, `${at}.expectMatch`),
        headers: list(o.headers, `${at}.headers`).map((h, i) => checkHeaderMatcher(h, `${at}.headers[${i}]`)),
      };
    case 'genericKey':
      return { type: 'genericKey', descriptorKey: str(o.descriptorKey, `${at}.descriptorKey`), descriptorValue: str(o.descriptorValue, `${at}.descriptorValue`) };
    case 'remoteAddress':
      return { type: 'remoteAddress' };
    case 'destinationCluster':
      return { type: 'destinationCluster' };
    default:
      throw new SnapshotError(`${at}.type`, `must be requestHeaders, headerValueMatch, genericKey, remoteAddress or destinationCluster, got ${JSON.stringify(o.type)}`);
  }
}

export function checkRouteRateLimits(v: unknown, at: string): RouteRateLimits {
  const o = obj(v, at);
  const out: RouteRateLimits = {};
  if (o.local !== undefined) out.local = checkLocalRateLimit(o.local, `${at}.local`);
  if (o.policies !== undefined) {
    out.policies = list(o.policies, `${at}.policies`).map((p, i) => {
      const po = obj(p, `${at}.policies[${i}]`);
      const actions = list(po.actions, `${at}.policies[${i}].actions`).map((a, j) => checkAction(a, `${at}.policies[${i}].actions[${j}]`));
      if (actions.length === 0) throw new SnapshotError(`${at}.policies[${i}].actions`, 'at least one action is required');
      return { actions };
    });
  }
  return out;
}
