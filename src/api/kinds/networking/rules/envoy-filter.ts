/**
 * Istio's webhook validation of an EnvoyFilter (validateEnvoyFilter): every patch names what it
 * applies to and how, REMOVE carries no value, the listener/route/cluster matches fit what the
 * patch applies to. What Skiff then does with a valid patch is translation's and analyze's.
 */
import type { Issue, Resource } from '../../../types.js';
import type { EnvoyFilterSpec } from '../envoy-filter.js';
import { at, Findings } from './findings.js';

const ROUTE_LEVEL = new Set(['ROUTE_CONFIGURATION', 'VIRTUAL_HOST', 'HTTP_ROUTE']);
const LISTENER_LEVEL = new Set(['LISTENER', 'FILTER_CHAIN', 'NETWORK_FILTER', 'HTTP_FILTER', 'LISTENER_FILTER']);

export function envoyFilterRules(r: Resource): Issue[] {
  const spec = r.spec as EnvoyFilterSpec;
  const f = new Findings();
  for (const [k, v] of Object.entries(spec.workloadSelector?.labels ?? {})) {
    if (k === '') f.error(['spec', 'workloadSelector', 'labels', k], `empty key is not supported in selector: "${k}=${v}"`);
    if (k.includes('*') || v.includes('*')) f.error(['spec', 'workloadSelector', 'labels', k], `wildcard is not supported in selector: "${k}=${v}"`);
  }
  spec.configPatches?.forEach((cp, i) => {
    const p = ['spec', 'configPatches', i];
    if (cp.applyTo === undefined || cp.applyTo === 'INVALID') {
      f.error(at(p, 'applyTo'), 'Envoy filter: missing applyTo');
      return;
    }
    if (cp.patch === undefined) {
      f.error(at(p, 'patch'), 'Envoy filter: missing patch');
      return;
    }
    if (cp.patch.operation === undefined || cp.patch.operation === 'INVALID') {
      f.error(at(p, 'patch', 'operation'), 'Envoy filter: missing patch operation');
      return;
    }
    if (cp.patch.operation !== 'REMOVE' && cp.patch.value === undefined) f.error(at(p, 'patch', 'value'), 'Envoy filter: missing patch value for non-remove operation');
    const m = cp.match;
    if (m?.listener !== undefined && ROUTE_LEVEL.has(cp.applyTo)) f.error(at(p, 'match', 'listener'), 'Envoy filter: applyTo for route configuration/virtual host/route, but match is for listener');
    if (m?.routeConfiguration !== undefined && LISTENER_LEVEL.has(cp.applyTo)) f.error(at(p, 'match', 'routeConfiguration'), 'Envoy filter: applyTo for listener class objects, but match is for routeConfiguration');
    if (m?.cluster !== undefined && cp.applyTo !== 'CLUSTER') f.error(at(p, 'match', 'cluster'), 'Envoy filter: applyTo for listener or route class objects, but match is for cluster');
    if (cp.applyTo === 'HTTP_FILTER' && m?.listener?.filterChain?.filter?.name !== undefined && m.listener.filterChain.filter.name !== 'envoy.filters.network.http_connection_manager') {
      f.error(at(p, 'match', 'listener', 'filterChain', 'filter', 'name'), 'Envoy filter: applyTo HTTP_FILTER needs the filter match to name envoy.filters.network.http_connection_manager');
    }
  });
  return f.issues;
}
