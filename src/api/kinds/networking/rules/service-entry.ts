/**
 * Istio's webhook validation of a ServiceEntry: hosts, addresses and CIDRs, unique well-formed
 * ports, and what each resolution mode allows (endpoints, FQDN hosts, selectors).
 */
import type { Issue, Resource } from '../../../types.js';
import type { ServiceEntrySpec } from '../service-entry.js';
import { at, Findings } from './findings.js';
import {
  exportToProblems, fqdnProblem, ipSubnetProblem, isHTTPProtocol, isIPAddress, isTCPProtocol, isTLSProtocol,
  parseProtocol, partialWildcardProblem, portNameProblem, portProblem, protocolProblem, wildcardDomainProblem,
} from './names.js';
import { checkLabels, checkWorkloadSelector } from './shared.js';
import { checkEndpointPorts, checkWorkloadEntry } from './workload-entry.js';

export function serviceEntryRules(r: Resource): Issue[] {
  const spec = r.spec as ServiceEntrySpec;
  const f = new Findings();
  const resolution = spec.resolution ?? 'NONE';
  checkWorkloadSelector(spec.workloadSelector, ['spec', 'workloadSelector'], f, 'service entry');
  if (spec.workloadSelector !== undefined && spec.endpoints !== undefined) {
    f.error(['spec'], 'only one of WorkloadSelector or Endpoints is allowed in Service Entry');
  }
  if (spec.hosts.length === 0) f.error(['spec', 'hosts'], 'service entry must have at least one host');
  spec.hosts.forEach((h, i) => {
    if (h === '*') {
      f.error(['spec', 'hosts', i], `invalid host ${h}`);
      return;
    }
    f.check(['spec', 'hosts', i], wildcardDomainProblem(h));
    const partial = partialWildcardProblem(h);
    if (partial !== undefined) f.warn(['spec', 'hosts', i], partial);
  });
  let cidr = false;
  spec.addresses?.forEach((a, i) => {
    cidr ||= a.includes('/');
    f.check(['spec', 'addresses', i], ipSubnetProblem(a));
  });
  if (cidr && resolution !== 'NONE' && resolution !== 'STATIC') {
    f.error(['spec', 'addresses'], 'CIDR addresses are allowed only for NONE/STATIC resolution types');
  }
  const portNames = new Set<string>();
  const portNumbers = new Set<number>();
  spec.ports?.forEach((p, i) => {
    const path = ['spec', 'ports', i] as const;
    if (portNames.has(p.name)) f.error(at(path, 'name'), `service entry port name "${p.name}" already defined`);
    if (portNumbers.has(p.number)) f.error(at(path, 'number'), `service entry port ${p.number} already defined`);
    portNames.add(p.name);
    portNumbers.add(p.number);
    if ((p.targetPort ?? 0) !== 0) {
      f.check(at(path, 'targetPort'), portProblem(p.targetPort ?? 0));
      if (resolution === 'NONE') f.warn(at(path, 'targetPort'), 'targetPort has no effect when resolution mode is NONE');
    }
    f.check(at(path, 'name'), portNameProblem(p.name));
    f.check(at(path, 'protocol'), protocolProblem(p.protocol));
    f.check(at(path, 'number'), portProblem(p.number));
  });
  checkResolution(spec, resolution, portNames, f);
  // Plain TCP carries no host name, so several hosts could not be told apart (unless resolution is NONE).
  if (resolution !== 'NONE' && spec.hosts.length > 1) {
    const i = (spec.ports ?? []).findIndex((p) => {
      const proto = parseProtocol(p.protocol ?? '');
      return !isHTTPProtocol(proto) && !isTLSProtocol(proto);
    });
    if (i >= 0) f.error(['spec', 'ports', i, 'protocol'], 'multiple hosts provided with non-HTTP, non-TLS ports');
  }
  f.check(['spec', 'exportTo'], ...exportToProblems(r.metadata.namespace ?? 'default', spec.exportTo ?? [], true, false));
  return f.issues;
}

function checkResolution(spec: ServiceEntrySpec, resolution: string, portNames: ReadonlySet<string>, f: Findings): void {
  const endpoints = spec.endpoints ?? [];
  switch (resolution) {
    case 'NONE':
      if (endpoints.length > 0) f.error(['spec', 'endpoints'], 'no endpoints should be provided for resolution type none');
      if (spec.workloadSelector !== undefined) f.warn(['spec', 'workloadSelector'], 'workloadSelector should not be set when resolution mode is NONE');
      break;
    case 'STATIC':
      endpoints.forEach((ep, i) => checkWorkloadEntry(ep, ['spec', 'endpoints', i], f, portNames, false));
      break;
    case 'DNS':
    case 'DNS_ROUND_ROBIN':
      if (endpoints.length === 0) {
        spec.hosts.forEach((h, i) => {
          if (fqdnProblem(h) !== undefined) {
            f.error(['spec', 'hosts', i], `hosts must be FQDN if no endpoints are provided for resolution mode ${resolution}`);
          }
        });
      }
      if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) {
        f.error(['spec', 'endpoints'], `there must only be 0 or 1 endpoint for resolution mode ${resolution}`);
      }
      endpoints.forEach((ep, i) => {
        const path = ['spec', 'endpoints', i] as const;
        const addr = ep.address ?? '';
        if (!isIPAddress(addr) && fqdnProblem(addr) !== undefined) {
          f.error(at(path, 'address'), `endpoint address "${addr}" is not a valid FQDN or an IP address`);
        }
        checkLabels(ep.labels, at(path, 'labels'), f);
        checkEndpointPorts(ep, path, f, portNames);
      });
      if (spec.workloadSelector !== undefined) {
        f.warn(['spec', 'workloadSelector'], `workloadSelector should not be set when resolution mode is ${resolution}`);
      }
      if ((spec.addresses?.length ?? 0) > 0 && spec.hosts.length > 1 && (spec.ports ?? []).some((p) => isTCPProtocol(parseProtocol(p.protocol ?? '')))) {
        f.warn(['spec', 'hosts'], 'service entry can not have more than one host specified simultaneously with address and tcp port');
      }
      break;
    default:
      // DYNAMIC_DNS: addresses are resolved on demand; nothing more to check statically.
      break;
  }
}
