/**
 * Istio's webhook validation of a VirtualService: hosts, gateways, delegates, each HTTP, TLS and
 * TCP rule, exportTo, durations, and warnings for rules that can never match.
 */
import type { Issue, Resource } from '../../../types.js';
import { VirtualServiceSpec, type L4MatchAttributes, type TLSMatchAttributes } from '../virtual-service.js';
import { checkDurations } from './durations.js';
import { at, Findings, type Path } from './findings.js';
import { isJwtClaimRoute } from './http-checks.js';
import { checkHTTPRoute, checkRouteDestinations } from './http-route.js';
import {
  exportToProblems, gatewayBoundDomainProblem, hostsMatch, hostSubsetOf, ipSubnetProblem, isIPAddress, portProblem,
  wildcardDomainProblem,
} from './names.js';
import { checkGatewayNames, checkLabels } from './shared.js';
import { checkUnreachableRules } from './unreachable.js';

export function virtualServiceRules(r: Resource): Issue[] {
  const spec = r.spec as VirtualServiceSpec;
  const f = new Findings();
  const hosts = spec.hosts ?? [];
  const gateways = spec.gateways ?? [];
  const isDelegate = hosts.length === 0;
  if (isDelegate) {
    // Without hosts this is a delegate, reachable only from a root VirtualService's HTTP rules.
    if (gateways.length > 0) f.error(['spec', 'gateways'], 'delegate virtual service must have no gateways specified');
    if ((spec.tls?.length ?? 0) > 0) f.error(['spec', 'tls'], 'delegate virtual service must have no tls route specified');
    if ((spec.tcp?.length ?? 0) > 0) f.error(['spec', 'tcp'], 'delegate virtual service must have no tcp route specified');
  }
  checkGatewayNames(gateways, ['spec', 'gateways'], f);
  // With no gateways the rules apply to sidecars ("mesh"); listing gateways without "mesh" limits them to those.
  const appliesToGateway = gateways.length > 0 && !gateways.includes('mesh');
  const appliesToMesh = !appliesToGateway;
  if (!appliesToGateway) checkJwtClaimRoutes(spec, gateways, f);
  checkHosts(spec, appliesToGateway, appliesToMesh, f);
  if ((spec.http?.length ?? 0) === 0 && (spec.tcp?.length ?? 0) === 0 && (spec.tls?.length ?? 0) === 0) {
    f.error(['spec'], 'http, tcp or tls must be provided in virtual service');
  }
  spec.http?.forEach((h, i) => checkHTTPRoute(h, isDelegate, ['spec', 'http', i], f));
  spec.tls?.forEach((t, i) => {
    const p: Path = ['spec', 'tls', i];
    if (t.match.length === 0) f.error(at(p, 'match'), 'TLS route must have at least one match condition');
    t.match.forEach((m, j) => checkTLSMatch(m, spec, at(p, 'match', j), f));
    if ((t.route?.length ?? 0) === 0) f.error(at(p, 'route'), 'TLS route is required');
    checkRouteDestinations(t.route, at(p, 'route'), f);
  });
  spec.tcp?.forEach((t, i) => {
    const p: Path = ['spec', 'tcp', i];
    t.match?.forEach((m, j) => checkL4Match(m, at(p, 'match', j), f));
    if ((t.route?.length ?? 0) === 0) f.error(at(p, 'route'), 'TCP route is required');
    checkRouteDestinations(t.route, at(p, 'route'), f);
  });
  const ns = r.metadata.namespace ?? 'default';
  f.check(['spec', 'exportTo'], ...exportToProblems(ns, spec.exportTo ?? [], false, false));
  checkDurations(VirtualServiceSpec, spec, ['spec'], f);
  checkUnreachableRules(spec, f);
  return f.issues;
}

function checkHosts(spec: VirtualServiceSpec, appliesToGateway: boolean, appliesToMesh: boolean, f: Findings): void {
  const hosts = spec.hosts ?? [];
  const sni = (spec.tls ?? []).some((t) => t.match.some((m) => m.sniHosts.length > 0));
  let allValid = true;
  hosts.forEach((h, i) => {
    const problem = appliesToGateway ? gatewayBoundDomainProblem(sni, h) : wildcardDomainProblem(h);
    if (problem !== undefined) {
      if (!isIPAddress(h)) {
        f.error(['spec', 'hosts', i], problem);
        allValid = false;
      }
    } else if (appliesToMesh && h === '*') {
      f.error(['spec', 'hosts', i], 'wildcard host * is not allowed for virtual services bound to the mesh gateway');
      allValid = false;
    }
  });
  if (!allValid) return;
  for (let i = 0; i < hosts.length; i++) {
    for (let j = i + 1; j < hosts.length; j++) {
      const a = hosts[i] ?? '';
      const b = hosts[j] ?? '';
      if (hostsMatch(a, b)) f.error(['spec', 'hosts', j], `duplicate hosts in virtual service: ${a} & ${b}`);
    }
  }
}

/** `@request.auth.claims` matches need the JWT a gateway validated; sidecars cannot route on them. */
function checkJwtClaimRoutes(spec: VirtualServiceSpec, gateways: readonly string[], f: Findings): void {
  spec.http?.forEach((h, i) =>
    h.match?.forEach((m, j) => {
      for (const field of ['headers', 'withoutHeaders'] as const) {
        for (const key of Object.keys(m[field] ?? {})) {
          if (!isJwtClaimRoute(key)) continue;
          f.error(['spec', 'http', i, 'match', j, field, key],
            `JWT claim based routing (key: ${key}) is only supported for gateway, found no gateways: [${gateways.join(' ')}]`);
        }
      }
    }),
  );
}

function checkL4Common(m: L4MatchAttributes | TLSMatchAttributes, path: Path, f: Findings): void {
  m.destinationSubnets?.forEach((s, i) => f.check(at(path, 'destinationSubnets', i), ipSubnetProblem(s)));
  if (m.port !== undefined && m.port !== 0) f.check(at(path, 'port'), portProblem(m.port));
  checkLabels(m.sourceLabels, at(path, 'sourceLabels'), f);
  checkGatewayNames(m.gateways, at(path, 'gateways'), f);
}

function checkL4Match(m: L4MatchAttributes, path: Path, f: Findings): void {
  checkL4Common(m, path, f);
}

function checkTLSMatch(m: TLSMatchAttributes, spec: VirtualServiceSpec, path: Path, f: Findings): void {
  if (m.sniHosts.length === 0) f.error(at(path, 'sniHosts'), 'TLS match must have at least one SNI host');
  // Istio treats a VirtualService without "mesh" among its gateways (or with none) as gateway-bound here.
  const gatewayBound = !(spec.gateways ?? []).includes('mesh');
  m.sniHosts.forEach((sni, i) => {
    const p = at(path, 'sniHosts', i);
    const problem = gatewayBound ? gatewayBoundDomainProblem(true, sni) : wildcardDomainProblem(sni);
    if (problem !== undefined) {
      if (isIPAddress(sni)) f.warn(p, `using an IP address ("${sni}") goes against SNI spec and most clients do not support this`);
      else f.error(p, problem);
      return;
    }
    const hosts = spec.hosts ?? [];
    if (!hosts.some((h) => hostSubsetOf(sni, h))) {
      f.error(p, `SNI host "${sni}" is not a compatible subset of any of the virtual service hosts: [${hosts.join(', ')}]`);
    }
  });
  checkL4Common(m, path, f);
}
