/**
 * The networking.istio.io kinds (VirtualService, DestinationRule, Gateway, ServiceEntry, Sidecar,
 * WorkloadEntry), served at v1, v1beta1 and v1alpha3 with one schema, as Istio's CRDs do, and
 * EnvoyFilter, served at v1alpha3 only.
 * Spec schemas and their TypeScript types are re-exported for the control plane.
 */
import type { KindDef } from '../../types.js';
import { API_GROUP, API_VERSIONS } from './common.js';
import { DestinationRuleSpec } from './destination-rule.js';
import { EnvoyFilterSpec } from './envoy-filter.js';
import { GatewaySpec } from './gateway.js';
import { destinationRuleRules } from './rules/destination-rule.js';
import { envoyFilterRules } from './rules/envoy-filter.js';
import { gatewayRules } from './rules/gateway.js';
import { serviceEntryRules } from './rules/service-entry.js';
import { sidecarRules } from './rules/sidecar.js';
import { virtualServiceRules } from './rules/virtual-service.js';
import { workloadEntryRules } from './rules/workload-entry.js';
import { ServiceEntrySpec } from './service-entry.js';
import { SidecarSpec } from './sidecar.js';
import { VirtualServiceSpec } from './virtual-service.js';
import { WorkloadEntrySpec } from './workload-entry.js';

export * from './common.js';
export * from './connection-pool.js';
export * from './destination-rule.js';
export * from './envoy-filter.js';
export * from './gateway.js';
export * from './http-policies.js';
export * from './load-balancer.js';
export * from './service-entry.js';
export * from './sidecar.js';
export * from './virtual-service.js';
export * from './workload-entry.js';

const base = { group: API_GROUP, versions: API_VERSIONS, namespaced: true } as const;

export const networkingKinds: KindDef[] = [
  { ...base, kind: 'VirtualService', plural: 'virtualservices', schema: VirtualServiceSpec, rules: virtualServiceRules },
  { ...base, kind: 'DestinationRule', plural: 'destinationrules', schema: DestinationRuleSpec, rules: destinationRuleRules },
  // Istio requires Gateway names to be DNS labels (no dots): they appear in `namespace/name` references.
  { ...base, kind: 'Gateway', plural: 'gateways', nameFormat: 'label', schema: GatewaySpec, rules: gatewayRules },
  { ...base, kind: 'ServiceEntry', plural: 'serviceentries', schema: ServiceEntrySpec, rules: serviceEntryRules },
  { ...base, kind: 'Sidecar', plural: 'sidecars', schema: SidecarSpec, rules: sidecarRules },
  { ...base, kind: 'WorkloadEntry', plural: 'workloadentries', schema: WorkloadEntrySpec, rules: workloadEntryRules },
  { ...base, versions: ['v1alpha3'], kind: 'EnvoyFilter', plural: 'envoyfilters', schema: EnvoyFilterSpec, rules: envoyFilterRules },
];
