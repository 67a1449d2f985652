/**
 * Istio's webhook validation of a WorkloadEntry (and of ServiceEntry endpoints): an address
 * (IP, DNS name or unix socket) unless a network is given, valid port names and numbers, labels.
 */
import type { Issue, Resource } from '../../../types.js';
import type { WorkloadEntry } from '../workload-entry.js';
import { at, Findings, type Path } from './findings.js';
import { fqdnProblem, isIPAddress, portNameProblem, portProblem, unixAddressProblem } from './names.js';
import { checkLabels } from './shared.js';

const UNIX = 'unix://';

/**
 * `servicePorts`: the ServiceEntry's port names the endpoint may use (undefined for a standalone
 * WorkloadEntry). `allowFQDN`: DNS names are fine (not for STATIC ServiceEntry endpoints).
 */
export function checkWorkloadEntry(we: WorkloadEntry, path: Path, f: Findings, servicePorts: ReadonlySet<string> | undefined, allowFQDN: boolean): void {
  const addr = we.address ?? '';
  if (addr === '') {
    if ((we.network ?? '') === '') {
      f.error(at(path, 'address'), 'address is required');
      return;
    }
    f.warn(at(path, 'address'), `address is unset with network "${we.network ?? ''}"`);
  }
  const unix = addr.startsWith(UNIX);
  if (unix) {
    f.check(at(path, 'address'), unixAddressProblem(addr.slice(UNIX.length)));
    if (Object.keys(we.ports ?? {}).length > 0) f.error(at(path, 'ports'), `unix endpoint ${addr} must not include ports`);
  } else if (addr !== '' && !isIPAddress(addr)) {
    // Without its ServiceEntry the address may be an IP (STATIC) or a DNS name (DNS).
    if (!allowFQDN) f.error(at(path, 'address'), `endpoint address "${addr}" is not a valid IP address`);
    else if (fqdnProblem(addr) !== undefined) f.error(at(path, 'address'), `endpoint address "${addr}" is not a valid FQDN or an IP address`);
  }
  checkEndpointPorts(we, path, f, servicePorts);
  checkLabels(we.labels, at(path, 'labels'), f);
  if (unix && servicePorts !== undefined && servicePorts.size !== 1) {
    f.error(path, 'exactly 1 service port required for unix endpoints');
  }
}

export function checkEndpointPorts(we: WorkloadEntry, path: Path, f: Findings, servicePorts: ReadonlySet<string> | undefined): void {
  for (const [name, port] of Object.entries(we.ports ?? {})) {
    const p = at(path, 'ports', name);
    if (servicePorts !== undefined && !servicePorts.has(name)) f.error(p, `endpoint port ${port} is not defined by the service entry`);
    f.check(p, portNameProblem(name), portProblem(port));
  }
}

export function workloadEntryRules(r: Resource): Issue[] {
  const f = new Findings();
  checkWorkloadEntry(r.spec as WorkloadEntry, ['spec'], f, undefined, true);
  return f.issues;
}
