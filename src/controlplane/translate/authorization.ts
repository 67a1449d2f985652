/**
 * The AuthorizationPolicies that apply to one proxy, as Istio selects them, into the snapshot's
 * `authorization` section: those of the root namespace (mesh config `rootNamespace`) and of the
 * proxy's own namespace, without a selector or with one the workload's labels match; a policy with
 * `targetRef(s)` applies to no sidecar, and to a gateway only when a reference of kind Gateway
 * names it. Dry-run (`istio.io/dry-run: "true"`) is carried as `dryRun`. A CUSTOM policy's
 * provider is resolved from the mesh config's `extensionProviders` to the cluster of its service;
 * a CUSTOM policy whose provider cannot be resolved denies what it matches, as Istio makes it.
 */
import { parseDuration } from '../../api/duration.js';
import type { ExtensionProvider } from '../../api/mesh-config.js';
import type { AuthorizationPolicySpec } from '../../api/kinds/security/authorization-policy.js';
import { labelsMatch } from '../../registry/select.js';
import type { AuthorizationConfig, AuthzPolicyConfig, ExtAuthzProviderConfig } from '../../snapshot/index.js';
import { outboundClusterName } from './clusters.js';
import type { ConfigIndex, PolicyEntry } from './push-context.js';

/** Whom a policy is selected for. */
export interface PolicySubject {
  kind: 'sidecar' | 'gateway';
  /** The workload's (or gateway's) name, what a gateway `targetRef` names. */
  name: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';

function targetsOf(spec: { targetRef?: { kind: string; name: string }; targetRefs?: { kind: string; name: string }[] }): { kind: string; name: string }[] | undefined {
  if (spec.targetRefs !== undefined) return spec.targetRefs;
  return spec.targetRef === undefined ? undefined : [spec.targetRef];
}

/** Istio's selection of namespace-scoped workload policies (AuthorizationPolicy, RequestAuthentication). */
export function selectPolicies<S extends { selector?: { matchLabels?: Record<string, string> }; targetRef?: { kind: string; name: string }; targetRefs?: { kind: string; name: string }[] }>(
  entries: readonly PolicyEntry<S>[],
  rootNamespace: string,
  subject: PolicySubject,
): PolicyEntry<S>[] {
  return entries.filter((e) => {
    if (e.namespace !== rootNamespace && e.namespace !== subject.namespace) return false;
    const targets = targetsOf(e.spec);
    if (targets !== undefined) {
      return subject.kind === 'gateway' && e.namespace === subject.namespace && targets.some((t) => t.kind === 'Gateway' && t.name === subject.name);
    }
    const selector = e.spec.selector?.matchLabels;
    return selector === undefined || labelsMatch(selector, subject.labels);
  });
}

/** `outbound|port||host` of a provider's `service` (`ns/host` or a host), when the proxy has that cluster. */
function providerCluster(service: string, port: number, clusters: ReadonlySet<string>): { cluster: string; authority: string } | null {
  const host = service.includes('/') ? service.slice(service.indexOf('/') + 1) : service;
  const cluster = outboundClusterName(port, undefined, host);
  return clusters.has(cluster) ? { cluster, authority: host } : null;
}

function ms(d: string | undefined): number | undefined {
  if (d === undefined) return undefined;
  const v = parseDuration(d);
  return v === undefined || v <= 0 ? undefined : v;
}

function statusOf(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{3}$/.test(s)) return undefined;
  return Number(s);
}

/** A mesh config extension provider as the proxy calls it, or a reason it cannot be. */
export function extAuthzProvider(p: ExtensionProvider, clusters: ReadonlySet<string>): ExtAuthzProviderConfig | string {
  const http = p.envoyExtAuthzHttp;
  const grpc = p.envoyExtAuthzGrpc;
  const def = http ?? grpc;
  if (def === undefined) return `extension provider "${p.name}" is not an ext_authz provider (envoyExtAuthzHttp or envoyExtAuthzGrpc)`;
  const target = providerCluster(def.service, def.port, clusters);
  if (target === null) return `extension provider "${p.name}": no service ${def.service} with port ${def.port} is visible to this proxy`;
  const out: ExtAuthzProviderConfig = { name: p.name, kind: http !== undefined ? 'http' : 'grpc', ...target };
  const timeoutMs = ms(def.timeout);
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs;
  if (def.failOpen !== undefined) out.failOpen = def.failOpen;
  const status = statusOf(def.statusOnError);
  if (status !== undefined) out.statusOnError = status;
  if (def.includeRequestBodyInCheck?.maxRequestBytes !== undefined) out.maxRequestBytes = def.includeRequestBodyInCheck.maxRequestBytes;
  if (http !== undefined) {
    if (http.pathPrefix !== undefined) out.pathPrefix = http.pathPrefix;
    const include = http.includeRequestHeadersInCheck ?? http.includeHeadersInCheck;
    if (include !== undefined) out.includeRequestHeadersInCheck = [...include];
    if (http.includeAdditionalHeadersInCheck !== undefined) out.includeAdditionalHeadersInCheck = { ...http.includeAdditionalHeadersInCheck };
    if (http.headersToUpstreamOnAllow !== undefined) out.headersToUpstreamOnAllow = [...http.headersToUpstreamOnAllow];
    if (http.headersToDownstreamOnDeny !== undefined) out.headersToDownstreamOnDeny = [...http.headersToDownstreamOnDeny];
    if (http.headersToDownstreamOnAllow !== undefined) out.headersToDownstreamOnAllow = [...http.headersToDownstreamOnAllow];
  }
  return out;
}

function policyConfig(e: PolicyEntry<AuthorizationPolicySpec>): AuthzPolicyConfig {
  const out: AuthzPolicyConfig = { name: e.name, namespace: e.namespace, action: e.spec.action ?? 'ALLOW' };
  if (e.annotations[DRY_RUN_ANNOTATION]?.toLowerCase() === 'true') out.dryRun = true;
  if (e.spec.rules !== undefined) out.rules = structuredClone(e.spec.rules);
  return out;
}

/**
 * The `authorization` section for a proxy, or undefined when no policy applies. `clusters`: the
 * names of the proxy's clusters (a CUSTOM provider's service must be one of them).
 */
export function authorizationSection(index: ConfigIndex, subject: PolicySubject, clusters: ReadonlySet<string>, warn: (m: string) => void): AuthorizationConfig | undefined {
  const entries = selectPolicies(index.authorizationPolicies, index.mesh.rootNamespace, subject);
  if (entries.length === 0) return undefined;
  const providers = new Map<string, ExtAuthzProviderConfig>();
  const policies = entries.map((e) => {
    const policy = policyConfig(e);
    if (policy.action !== 'CUSTOM') return policy;
    const name = e.spec.provider?.name ?? '';
    const def = index.mesh.extensionProviders?.find((p) => p.name === name);
    const resolved = def === undefined ? `no extension provider "${name}" in the mesh config` : extAuthzProvider(def, clusters);
    if (typeof resolved === 'string') {
      warn(`AuthorizationPolicy ${e.namespace}/${e.name}: ${resolved}; the requests it matches are denied`);
      return { ...policy, action: 'DENY' as const };
    }
    providers.set(resolved.name, resolved);
    return { ...policy, provider: resolved.name };
  });
  const out: AuthorizationConfig = { policies };
  if (providers.size > 0) out.providers = [...providers.values()];
  return out;
}
