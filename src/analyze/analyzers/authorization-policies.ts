/**
 * What Istio users trip over with AuthorizationPolicies, said before it bites:
 * - an HTTP-only field (`methods`, `paths`, `hosts`, `requestPrincipals`, `request.*` conditions)
 *   in a rule that applies to a TCP port of the workloads the policy selects: for those
 *   connections Istio drops the rule of an ALLOW policy (it matches nothing, so the port is closed
 *   to everyone) and the field of a DENY policy (the rule then matches every connection) —
 *   SKF0007;
 * - a principal (or `source.principal` condition) naming a namespace no workload runs in, or a
 *   service account no workload of that namespace runs as: the rule can never match — SKF0008.
 */
import type { AuthorizationPolicySpec } from '../../api/kinds/security/authorization-policy.js';
import type { ServiceSpec } from '../../api/kinds/kube/core.js';
import type { DeploymentSpec } from '../../api/kinds/kube/workloads.js';
import type { Analyzer, AnalysisContext } from '../context.js';
import { APPS, CORE, SECURITY, namespaceOf } from '../context.js';
import { ROOT_NAMESPACE } from '../builtins.js';
import { MessageTypes } from '../messages.js';
import { selected, workloads } from '../workloads.js';

type Rule = NonNullable<AuthorizationPolicySpec['rules']>[number];

const HTTP_SOURCE = ['requestPrincipals', 'notRequestPrincipals'] as const;
const HTTP_OPERATION = ['methods', 'notMethods', 'paths', 'notPaths', 'hosts', 'notHosts'] as const;

/** The HTTP-only fields a rule uses, as paths under the rule. */
function httpOnlyFields(rule: Rule): string[] {
  const out: string[] = [];
  rule.from?.forEach((f, i) => HTTP_SOURCE.forEach((k) => f.source?.[k] !== undefined && out.push(`from[${i}].source.${k}`)));
  rule.to?.forEach((t, i) => HTTP_OPERATION.forEach((k) => t.operation?.[k] !== undefined && out.push(`to[${i}].operation.${k}`)));
  rule.when?.forEach((c, i) => c.key.startsWith('request.') && out.push(`when[${i}].key ${c.key}`));
  return out;
}

/** Istio's protocol of a Service port, enough to tell TCP: appProtocol, then the name's prefix. */
function isTcpPort(p: NonNullable<ServiceSpec['ports']>[number]): boolean {
  const name = (p.appProtocol ?? p.name ?? '').toLowerCase();
  const prefix = name.split('-')[0];
  return ['tcp', 'mongo', 'redis', 'mysql', 'tls'].includes(prefix);
}

/** The TCP container ports of Services selecting any of the workloads (label sets) in `namespaces`. */
function tcpPortsOf(ctx: AnalysisContext, labelSets: readonly Readonly<Record<string, string>>[], namespaces: ReadonlySet<string>): Map<number, string> {
  const out = new Map<number, string>();
  for (const lr of ctx.all(CORE, 'Service')) {
    if (!namespaces.has(namespaceOf(lr.resource))) continue;
    const spec = lr.resource.spec as ServiceSpec;
    const sel = spec.selector;
    if (sel === undefined || !labelSets.some((l) => Object.entries(sel).every(([k, v]) => l[k] === v))) continue;
    for (const p of spec.ports ?? []) {
      if (!isTcpPort(p)) continue;
      const target = typeof p.targetPort === 'number' ? p.targetPort : p.port;
      out.set(target, `${lr.resource.metadata.name}`);
    }
  }
  return out;
}

/** Service accounts workloads run as, per namespace (a workload naming none runs as `default`). */
function serviceAccounts(ctx: AnalysisContext): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (ns: string, sa: string | undefined): void => {
    let s = out.get(ns);
    if (s === undefined) out.set(ns, (s = new Set()));
    s.add(sa === undefined || sa === '' ? 'default' : sa);
  };
  for (const lr of ctx.all(APPS, 'Deployment')) add(namespaceOf(lr.resource), (lr.resource.spec as DeploymentSpec).template.spec?.serviceAccountName);
  for (const lr of ctx.all(CORE, 'Pod')) add(namespaceOf(lr.resource), (lr.resource.spec as { serviceAccountName?: string }).serviceAccountName);
  for (const lr of ctx.all(CORE, 'ServiceAccount')) add(namespaceOf(lr.resource), lr.resource.metadata.name);
  // The ingress gateway Skiff runs.
  add('istio-system', 'istio-ingressgateway-service-account');
  return out;
}

/** Why a principal can never match, or null when it can (wildcards are not judged). */
function principalProblem(principal: string, accounts: Map<string, Set<string>>): string | null {
  // With no workload in the set but the gateway (a policy file analysed alone), nothing can be judged.
  if (principal.includes('*') || accounts.size <= 1) return null;
  const m = /^[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(principal.replace(/^spiffe:\/\//, ''));
  if (m === null) return null;
  const [, ns, sa] = m;
  const known = accounts.get(ns);
  if (known === undefined) return `namespace ${ns} has no workloads`;
  if (!known.has(sa)) return `no workload in namespace ${ns} runs as service account ${sa} (known: ${[...known].sort().join(', ')})`;
  return null;
}

export const authorizationPolicies: Analyzer = {
  name: 'security.AuthorizationPolicyAnalyzer',
  description: 'Checks AuthorizationPolicies for HTTP-only fields on TCP ports and principals that name no workload',
  analyze(ctx) {
    const all = workloads(ctx);
    const accounts = serviceAccounts(ctx);
    for (const lr of ctx.all(SECURITY, 'AuthorizationPolicy')) {
      const spec = lr.resource.spec as AuthorizationPolicySpec;
      const ns = namespaceOf(lr.resource);
      const action = spec.action ?? 'ALLOW';
      const targets = selected(all, spec.selector?.matchLabels ?? {}, ns === ROOT_NAMESPACE ? undefined : [ns]);
      const tcp = tcpPortsOf(ctx, targets.map((w) => w.labels), new Set(targets.map((w) => w.namespace)));
      (spec.rules ?? []).forEach((rule, i) => {
        const fields = httpOnlyFields(rule);
        if (fields.length > 0 && tcp.size > 0) {
          const named = (rule.to ?? []).flatMap((t) => t.operation?.ports ?? []).map(Number);
          const hit = [...tcp.keys()].filter((p) => named.length === 0 || named.includes(p));
          if (hit.length > 0) {
            const effect = action === 'ALLOW' || action === 'CUSTOM'
              ? 'for TCP connections the rule is dropped and matches nothing, so no connection is allowed by it'
              : 'for TCP connections these fields are dropped and the rule matches every connection';
            ctx.report(
              MessageTypes.HttpFieldOnTcpPort,
              lr,
              `rules[${i}] uses HTTP-only ${fields.join(', ')} and applies to TCP port ${hit.join(', ')} (Service ${hit.map((p) => tcp.get(p)).join(', ')}): ${effect}`,
              ['spec', 'rules', i],
            );
          }
        }
        rule.from?.forEach((f, j) => {
          (f.source?.principals ?? []).forEach((p, k) => {
            const problem = principalProblem(p, accounts);
            if (problem !== null) ctx.report(MessageTypes.PrincipalNotFound, lr, `principal ${p} names no workload: ${problem}`, ['spec', 'rules', i, 'from', j, 'source', 'principals', k]);
          });
        });
        rule.when?.forEach((c, j) => {
          if (c.key !== 'source.principal') return;
          (c.values ?? []).forEach((p) => {
            const problem = principalProblem(p, accounts);
            if (problem !== null) ctx.report(MessageTypes.PrincipalNotFound, lr, `principal ${p} names no workload: ${problem}`, ['spec', 'rules', i, 'when', j]);
          });
        });
      });
    }
  },
};
