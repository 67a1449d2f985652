/**
 * The authorization part of the proxy snapshot: the AuthorizationPolicies in force for this proxy,
 * selected and ordered by the control plane, each with its rules in Istio's own shape (the proxy
 * compiles them once per snapshot, `src/proxy/filters/authz/`). They apply on the proxy's server
 * side: a sidecar's inbound listeners and a gateway's listeners, never a sidecar's outbound.
 */
import type { AuthorizationPolicySpec } from '../api/kinds/security/authorization-policy.js';
import { SnapshotError, list, obj, oneOf, str } from './checks.js';

/** One rule as Istio writes it: `from` sources ORed, `to` operations ORed, `when` conditions ANDed. */
export type AuthzRule = NonNullable<AuthorizationPolicySpec['rules']>[number];
export type AuthzSource = NonNullable<NonNullable<AuthzRule['from']>[number]['source']>;
export type AuthzOperation = NonNullable<NonNullable<AuthzRule['to']>[number]['operation']>;
export type AuthzCondition = NonNullable<AuthzRule['when']>[number];

export type AuthzAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
export const AUTHZ_ACTIONS: readonly AuthzAction[] = Object.freeze(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']);

/** One AuthorizationPolicy in force. */
export interface AuthzPolicyConfig {
  name: string;
  namespace: string;
  action: AuthzAction;
  /** `istio.io/dry-run: "true"`: evaluated and reported, never enforced. */
  dryRun?: boolean;
  /** CUSTOM: the extension provider's name (an entry of `authorization.providers`). */
  provider?: string;
  /**
   * Absent or empty: the policy matches no request (an ALLOW policy without rules, `spec: {}`,
   * then denies every request, as no ALLOW matches). `[{}]` matches every request.
   */
  rules?: AuthzRule[];
}

/**
 * An external authorization service (MeshConfig `extensionProviders[]` `envoyExtAuthzHttp` or
 * `envoyExtAuthzGrpc`), resolved by the control plane to the cluster that reaches it.
 */
export interface ExtAuthzProviderConfig {
  name: string;
  kind: 'http' | 'grpc';
  /** The outbound cluster of the provider's service and port. */
  cluster: string;
  /** The provider's host as written (`ext-authz.foo.svc.cluster.local`), the check request's authority. */
  authority: string;
  /** How long a check may take; default 600 s (Istio's). */
  timeoutMs?: number;
  /** Let the request through when the service cannot be reached or fails. */
  failOpen?: boolean;
  /** HTTP: the status sent when the check fails (not denied); default 403. */
  statusOnError?: number;
  /** HTTP: prepended to the request path in the check request. */
  pathPrefix?: string;
  /** HTTP: request headers sent to the service (besides Istio's defaults); absent: all. */
  includeRequestHeadersInCheck?: string[];
  /** HTTP: headers added to the check request. */
  includeAdditionalHeadersInCheck?: Record<string, string>;
  /** HTTP: headers of the service's allowing answer copied onto the forwarded request. */
  headersToUpstreamOnAllow?: string[];
  /** HTTP: headers of the service's denying answer copied onto the answer to the client; absent: all. */
  headersToDownstreamOnDeny?: string[];
  /** HTTP: headers of the allowing answer added to the response to the client. */
  headersToDownstreamOnAllow?: string[];
  /** `includeRequestBodyInCheck.maxRequestBytes`, kept: no check carries the body yet (the mesh config warns). */
  maxRequestBytes?: number;
}

/** The snapshot's `authorization` section. */
export interface AuthorizationConfig {
  policies: AuthzPolicyConfig[];
  /** The extension providers CUSTOM policies name. */
  providers?: ExtAuthzProviderConfig[];
}

const SOURCE_FIELDS = [
  'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces',
  'serviceAccounts', 'notServiceAccounts', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks',
  'trustDomains', 'notTrustDomains',
] as const;
const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

function strings(v: unknown, at: string): string[] {
  return list(v, at).map((s, i) => str(s, `${at}[${i}]`));
}

function checkFields<K extends string>(v: unknown, at: string, fields: readonly K[]): Partial<Record<K, string[]>> {
  const o = obj(v, at);
  const out: Partial<Record<K, string[]>> = {};
  for (const key of Object.keys(o)) {
    if (!(fields as readonly string[]).includes(key)) throw new SnapshotError(`${at}.${key}`, `unknown field; one of ${fields.join(', ')}`);
    out[key as K] = strings(o[key], `${at}.${key}`);
  }
  return out;
}

function checkRule(v: unknown, at: string): AuthzRule {
  const o = obj(v, at);
  const rule: AuthzRule = {};
  for (const key of Object.keys(o)) if (!['from', 'to', 'when'].includes(key)) throw new SnapshotError(`${at}.${key}`, 'unknown field; one of from, to, when');
  if (o.from !== undefined) {
    rule.from = list(o.from, `${at}.from`).map((f, i) => {
      const fo = obj(f, `${at}.from[${i}]`);
      return fo.source === undefined ? {} : { source: checkFields(fo.source, `${at}.from[${i}].source`, SOURCE_FIELDS) };
    });
  }
  if (o.to !== undefined) {
    rule.to = list(o.to, `${at}.to`).map((t, i) => {
      const to = obj(t, `${at}.to[${i}]`);
      return to.operation === undefined ? {} : { operation: checkFields(to.operation, `${at}.to[${i}].operation`, OPERATION_FIELDS) };
    });
  }
  if (o.when !== undefined) {
    rule.when = list(o.when, `${at}.when`).map((c, i) => {
      const cat = `${at}.when[${i}]`;
      const co = obj(c, cat);
      const cond: AuthzCondition = { key: str(co.key, `${cat}.key`) };
      if (co.values !== undefined) cond.values = strings(co.values, `${cat}.values`);
      if (co.notValues !== undefined) cond.notValues = strings(co.notValues, `${cat}.notValues`);
      return cond;
    });
  }
  return rule;
}

function optionalStrings(v: unknown, at: string): string[] | undefined {
  return v === undefined ? undefined : strings(v, at);
}

function checkProvider(v: unknown, at: string): ExtAuthzProviderConfig {
  const o = obj(v, at);
  const p: ExtAuthzProviderConfig = {
    name: str(o.name, `${at}.name`),
    kind: oneOf(o.kind, ['http', 'grpc'] as const, `${at}.kind`),
    cluster: str(o.cluster, `${at}.cluster`),
    authority: str(o.authority, `${at}.authority`),
  };
  if (o.timeoutMs !== undefined) {
    if (typeof o.timeoutMs !== 'number' || !(o.timeoutMs > 0)) throw new SnapshotError(`${at}.timeoutMs`, 'must be a number of milliseconds > 0');
    p.timeoutMs = o.timeoutMs;
  }
  if (o.failOpen !== undefined) {
    if (typeof o.failOpen !== 'boolean') throw new SnapshotError(`${at}.failOpen`, 'must be true or false');
    p.failOpen = o.failOpen;
  }
  if (o.statusOnError !== undefined) {
    if (typeof o.statusOnError !== 'number' || !Number.isInteger(o.statusOnError) || o.statusOnError < 200 || o.statusOnError > 599) {
      throw new SnapshotError(`${at}.statusOnError`, 'must be an HTTP status 200..599');
    }
    p.statusOnError = o.statusOnError;
  }
  if (o.pathPrefix !== undefined) p.pathPrefix = str(o.pathPrefix, `${at}.pathPrefix`, true);
  if (o.maxRequestBytes !== undefined) {
    if (typeof o.maxRequestBytes !== 'number' || !Number.isInteger(o.maxRequestBytes) || o.maxRequestBytes < 0) throw new SnapshotError(`${at}.maxRequestBytes`, 'must be an integer >= 0');
    p.maxRequestBytes = o.maxRequestBytes;
  }
  for (const f of ['includeRequestHeadersInCheck', 'headersToUpstreamOnAllow', 'headersToDownstreamOnDeny', 'headersToDownstreamOnAllow'] as const) {
    const l = optionalStrings(o[f], `${at}.${f}`);
    if (l !== undefined) p[f] = l;
  }
  if (o.includeAdditionalHeadersInCheck !== undefined) {
    const h = obj(o.includeAdditionalHeadersInCheck, `${at}.includeAdditionalHeadersInCheck`);
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(h)) out[k] = str(val, `${at}.includeAdditionalHeadersInCheck.${k}`, true);
    p.includeAdditionalHeadersInCheck = out;
  }
  return p;
}

/** Checks the snapshot's `authorization` section, naming the first bad field. */
export function checkAuthorization(v: unknown, clusterNames: ReadonlySet<string>): AuthorizationConfig {
  const at = 'authorization';
  const o = obj(v, at);
  const providers = o.providers === undefined ? undefined : list(o.providers, `${at}.providers`).map((p, i) => checkProvider(p, `${at}.providers[${i}]`));
  const providerNames = new Set(providers?.map((p) => p.name));
  for (const [i, p] of (providers ?? []).entries()) {
    if (!clusterNames.has(p.cluster)) throw new SnapshotError(`${at}.providers[${i}].cluster`, `no cluster named ${JSON.stringify(p.cluster)} in clusters`);
  }
  const policies = list(o.policies ?? [], `${at}.policies`).map((p, i) => {
    const pat = `${at}.policies[${i}]`;
    const po = obj(p, pat);
    const policy: AuthzPolicyConfig = {
      name: str(po.name, `${pat}.name`),
      namespace: str(po.namespace, `${pat}.namespace`),
      action: oneOf(po.action, AUTHZ_ACTIONS, `${pat}.action`),
    };
    if (po.dryRun !== undefined) {
      if (typeof po.dryRun !== 'boolean') throw new SnapshotError(`${pat}.dryRun`, 'must be true or false');
      policy.dryRun = po.dryRun;
    }
    if (po.provider !== undefined) policy.provider = str(po.provider, `${pat}.provider`);
    if (policy.action === 'CUSTOM' && (policy.provider === undefined || !providerNames.has(policy.provider))) {
      throw new SnapshotError(`${pat}.provider`, `a CUSTOM policy names one of authorization.providers, got ${JSON.stringify(policy.provider ?? null)}`);
    }
    if (po.rules !== undefined) policy.rules = list(po.rules, `${pat}.rules`).map((r, j) => checkRule(r, `${pat}.rules[${j}]`));
    return policy;
  });
  const out: AuthorizationConfig = { policies };
  if (providers !== undefined) out.providers = providers;
  return out;
}
