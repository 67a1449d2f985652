/**
 * DestinationRule `tls` against PeerAuthentication (Istio's IST0113, MTLSPolicyConflict): for each
 * port of each Service a DestinationRule names, and each workload behind it, the mode the client
 * would use against the mode the workload's port enforces. Traffic breaks when the rule turns mTLS
 * off (`DISABLE`) towards a STRICT port, or requires it (`ISTIO_MUTUAL`) towards a DISABLE port or a
 * workload that runs no sidecar. Without a rule, clients use automatic mutual TLS, which reads only
 * namespace-wide and mesh-wide policies: a workload or port-level DISABLE then breaks traffic
 * unless a DestinationRule turns TLS off beside it (SKF0009).
 */
import type { DestinationRuleSpec, TrafficPolicy } from '../../api/kinds/networking/destination-rule.js';
import type { ServiceSpec } from '../../api/kinds/kube/core.js';
import type { DeploymentSpec } from '../../api/kinds/kube/workloads.js';
import { composePeerAuthentication, namespaceMtlsMode } from '../../api/kinds/security/peer-authentication.js';
import type { EffectiveMtlsMode, PeerAuthenticationPolicy, PeerAuthenticationSpec } from '../../api/kinds/security/peer-authentication.js';
import type { Resource } from '../../api/types.js';
import type { LoadedResource } from '../../config/finding.js';
import { ROOT_NAMESPACE } from '../builtins.js';
import type { AnalysisContext, Analyzer } from '../context.js';
import { APPS, CORE, NETWORKING, SECURITY, fullName, namespaceOf } from '../context.js';
import { serviceFqdn, toFqdn } from '../hosts.js';
import { MessageTypes, text } from '../messages.js';
import { selectorMatches } from '../workloads.js';

/** A workload as this check needs it: labels, whether it runs a sidecar, its named container ports. */
interface MeshWorkload {
  name: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  sidecar: boolean;
  portNames: ReadonlyMap<string, number>;
}

interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { containers?: Array<{ ports?: Array<{ name?: string; containerPort: number }> }> };
}

function meshWorkloads(ctx: AnalysisContext): MeshWorkload[] {
  const disabledNamespaces = new Set(ctx.all(CORE, 'Namespace').filter((lr) => lr.resource.metadata.labels?.['istio-injection'] === 'disabled').map((lr) => lr.resource.metadata.name));
  const of = (r: Resource, template: PodTemplate): MeshWorkload => {
    const labels = template.metadata?.labels ?? {};
    const inject = template.metadata?.annotations?.['sidecar.istio.io/inject'] ?? labels['sidecar.istio.io/inject'];
    const portNames = new Map<string, number>();
    for (const c of template.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name !== undefined) portNames.set(p.name, p.containerPort);
    const namespace = namespaceOf(r);
    return { name: fullName(r), namespace, labels, sidecar: inject !== 'false' && !disabledNamespaces.has(namespace), portNames };
  };
  const out: MeshWorkload[] = [];
  for (const lr of ctx.all(CORE, 'Pod')) out.push(of(lr.resource, { metadata: lr.resource.metadata, spec: lr.resource.spec as PodTemplate['spec'] }));
  for (const lr of ctx.all(APPS, 'Deployment')) out.push(of(lr.resource, (lr.resource.spec as DeploymentSpec).template));
  return out;
}

/** The client TLS mode a rule sets for `port` (Istio's merge: port-level settings replace `tls`); undefined: none set. */
function ruleMode(policy: TrafficPolicy | undefined, port: number): { mode: string; path: (string | number)[] } | undefined {
  if (policy === undefined) return undefined;
  const i = (policy.portLevelSettings ?? []).findIndex((p) => p.port?.number === port);
  if (i >= 0) {
    const tls = policy.portLevelSettings![i].tls;
    return tls === undefined ? undefined : { mode: tls.mode ?? 'DISABLE', path: ['spec', 'trafficPolicy', 'portLevelSettings', i, 'tls'] };
  }
  return policy.tls === undefined ? undefined : { mode: policy.tls.mode ?? 'DISABLE', path: ['spec', 'trafficPolicy', 'tls'] };
}

interface ServicePortTarget {
  service: LoadedResource;
  host: string;
  port: number;
  workload: MeshWorkload;
  containerPort: number;
}

/** Every (service port, workload behind it, container port) of the set. */
function targets(ctx: AnalysisContext, workloads: readonly MeshWorkload[]): ServicePortTarget[] {
  const out: ServicePortTarget[] = [];
  for (const lr of ctx.all(CORE, 'Service')) {
    const spec = lr.resource.spec as ServiceSpec;
    if (spec.selector === undefined) continue;
    const ns = namespaceOf(lr.resource);
    const host = serviceFqdn(lr.resource.metadata.name, ns);
    for (const w of workloads) {
      if (w.namespace !== ns || !selectorMatches(spec.selector, w.labels)) continue;
      for (const p of spec.ports ?? []) {
        const target = p.targetPort ?? p.port;
        const containerPort = typeof target === 'number' ? target : /^\d+$/.test(target) ? Number(target) : w.portNames.get(target);
        if (containerPort !== undefined) out.push({ service: lr, host, port: p.port, workload: w, containerPort });
      }
    }
  }
  return out;
}

export const mtlsConflicts: Analyzer = {
  name: 'auth.MTLSAnalyzer',
  description: 'Checks that DestinationRule tls settings and PeerAuthentication modes agree, so that mutual TLS does not break traffic',
  analyze(ctx) {
    const paResources = ctx.all(SECURITY, 'PeerAuthentication');
    const policies: PeerAuthenticationPolicy[] = paResources.map((lr) => ({ namespace: namespaceOf(lr.resource), spec: lr.resource.spec as PeerAuthenticationSpec }));
    const workloads = meshWorkloads(ctx);
    const all = targets(ctx, workloads);
    const modeAt = (t: ServicePortTarget): EffectiveMtlsMode => {
      const composed = composePeerAuthentication(policies, ROOT_NAMESPACE, t.workload.namespace, t.workload.labels);
      return composed.ports.get(t.containerPort) ?? composed.mode;
    };
    const rules = ctx.all(NETWORKING, 'DestinationRule').filter((lr) => (lr.resource.spec as DestinationRuleSpec).workloadSelector === undefined);
    const covered = new Set<string>();
    for (const lr of rules) {
      const spec = lr.resource.spec as DestinationRuleSpec;
      const host = toFqdn(spec.host, namespaceOf(lr.resource));
      const seen = new Set<string>();
      for (const t of all) {
        if (t.host !== host) continue;
        const rule = ruleMode(spec.trafficPolicy, t.port);
        if (rule === undefined) continue;
        covered.add(`${t.host}|${t.port}`);
        const server = modeAt(t);
        let message: string | undefined;
        if (rule.mode === 'DISABLE' && server === 'STRICT') message = text.mtlsPolicyConflict(host, fullName(lr.resource), false, `STRICT for ${t.workload.name} port ${t.containerPort}`);
        else if (rule.mode === 'ISTIO_MUTUAL' && server === 'DISABLE') message = text.mtlsPolicyConflict(host, fullName(lr.resource), true, `DISABLE for ${t.workload.name} port ${t.containerPort}`);
        else if (rule.mode === 'ISTIO_MUTUAL' && !t.workload.sidecar) message = text.mtlsPolicyConflict(host, fullName(lr.resource), true, `no sidecar for ${t.workload.name} (it cannot accept mutual TLS)`);
        if (message === undefined || seen.has(message)) continue;
        seen.add(message);
        ctx.report(MessageTypes.MTLSPolicyConflict, lr, message, rule.path);
      }
    }
    // Automatic mTLS towards a port a workload or port-level policy disables.
    paResources.forEach((lr, i) => {
      const p = policies[i];
      if (Object.keys(p.spec.selector?.matchLabels ?? {}).length === 0) return;
      if (namespaceMtlsMode(policies, ROOT_NAMESPACE, p.namespace) === 'DISABLE') return;
      const reported = new Set<string>();
      for (const t of all) {
        if (!t.workload.sidecar || t.workload.namespace !== p.namespace || !selectorMatches(p.spec.selector?.matchLabels ?? {}, t.workload.labels)) continue;
        if (covered.has(`${t.host}|${t.port}`) || modeAt(t) !== 'DISABLE') continue;
        const key = `${t.host}|${t.port}`;
        if (reported.has(key)) continue;
        reported.add(key);
        const portLevel = p.spec.portLevelMtls?.[String(t.containerPort)] !== undefined;
        ctx.report(MessageTypes.AutoMtlsToDisabledPort, lr, text.autoMtlsToDisabledPort(t.workload.name, t.containerPort, t.host, t.port), portLevel ? ['spec', 'portLevelMtls', String(t.containerPort)] : ['spec', 'mtls']);
      }
    });
  },
};
