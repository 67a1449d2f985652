/**
 * Checks several networking kinds share: destinations, subset names, gateway references, header
 * operations, percentages and workload selectors.
 */
import type { Destination, Percent, TypeWorkloadSelector, WorkloadSelector } from '../common.js';
import type { Headers } from '../virtual-service.js';
import { at, type Findings, type Path } from './findings.js';
import { headerOperationProblem, headerValueProblem, headerWithAuthorityOperationProblem } from './http-checks.js';
import { fqdnProblem, isDNS1123Label, labelProblems, portProblem, wildcardDomainProblem } from './names.js';

export function subsetNameProblem(name: string): string | undefined {
  if (name === '') return 'subset name cannot be empty';
  return isDNS1123Label(name) ? undefined : `subset name is invalid: ${name}`;
}

/** Istio's validateDestination: a real (possibly wildcard) host, a DNS-label subset, a port in range. */
export function checkDestination(d: Destination | undefined, path: Path, f: Findings): void {
  if (d === undefined) return;
  f.check(at(path, 'host'), d.host === '*' ? `invalid destination host ${d.host}` : wildcardDomainProblem(d.host));
  if (d.subset !== undefined && d.subset !== '') f.check(at(path, 'subset'), subsetNameProblem(d.subset));
  if (d.port !== undefined) f.check(at(path, 'port', 'number'), portProblem(d.port.number ?? 0));
}

/** Gateway references: `namespace/name`, or the legacy `name[.namespace...]` form (with a warning). */
export function checkGatewayNames(names: readonly string[] | undefined, path: Path, f: Findings): void {
  (names ?? []).forEach((name, i) => {
    const p = at(path, i);
    const slash = name.indexOf('/');
    if (slash < 0) {
      if (name.includes('.')) {
        const [gw = '', ns = ''] = name.split('.');
        f.warn(p, `using legacy gatewayName format "${name}"; prefer the <namespace>/<name> format: "${ns}/${gw}"`);
      }
      f.check(p, fqdnProblem(name));
      return;
    }
    const ns = name.slice(0, slash);
    const gw = name.slice(slash + 1);
    if (ns === '' || gw === '') f.error(p, 'config namespace and gateway name cannot be empty');
    if (!isDNS1123Label(ns)) f.error(p, `invalid value for namespace: "${ns}"`);
    if (!isDNS1123Label(gw)) f.error(p, `invalid value for gateway name: "${gw}"`);
  });
}

/** Fractional percentages: 0, or 0.0001..100. */
export function percentageProblem(p: Percent | undefined): string | undefined {
  const v = p?.value ?? 0;
  return v < 0 || v > 100 || (v > 0 && v < 0.0001) ? `percentage ${v} is neither 0.0, nor in range [0.0001, 100.0]` : undefined;
}

export function checkLabels(labels: Readonly<Record<string, string>> | undefined, path: Path, f: Findings): void {
  for (const problem of labelProblems(labels)) f.error(path, problem);
}

/** Request and response header manipulations of a route or destination. */
export function checkHeaderOperations(headers: Headers | undefined, path: Path, f: Findings): void {
  if (headers === undefined) return;
  const req = headers.request;
  const res = headers.response;
  for (const op of ['set', 'add'] as const) {
    for (const [name, value] of Object.entries(req?.[op] ?? {})) {
      f.check(at(path, 'request', op, name), headerWithAuthorityOperationProblem(name), headerValueProblem(value));
    }
    for (const [name, value] of Object.entries(res?.[op] ?? {})) {
      f.check(at(path, 'response', op, name), headerOperationProblem(name), headerValueProblem(value));
    }
  }
  req?.remove?.forEach((name, i) => f.check(at(path, 'request', 'remove', i), headerOperationProblem(name)));
  res?.remove?.forEach((name, i) => f.check(at(path, 'response', 'remove', i), headerOperationProblem(name)));
}

function selectorProblems(labels: Readonly<Record<string, string>>, path: Path, f: Findings): void {
  for (const [k, v] of Object.entries(labels)) {
    if (k === '') f.error(at(path, k), `empty key is not supported in selector: "${k}=${v}"`);
    if (k.includes('*') || v.includes('*')) f.error(at(path, k), `wildcard is not supported in selector: "${k}=${v}"`);
  }
}

/** networking WorkloadSelector (`labels`), as Sidecar and ServiceEntry use it. */
export function checkWorkloadSelector(sel: WorkloadSelector | undefined, path: Path, f: Findings, what: string): void {
  if (sel === undefined) return;
  selectorProblems(sel.labels ?? {}, at(path, 'labels'), f);
  if (Object.keys(sel.labels ?? {}).length === 0) {
    f.warn(path, `${what}: workload selector specified without labels, will be applied to all services in namespace`);
  }
}

/** type.v1beta1 WorkloadSelector (`matchLabels`), as DestinationRule uses it. */
export function checkTypeWorkloadSelector(sel: TypeWorkloadSelector | undefined, path: Path, f: Findings): void {
  if (sel === undefined) return;
  selectorProblems(sel.matchLabels ?? {}, at(path, 'matchLabels'), f);
  if (Object.keys(sel.matchLabels ?? {}).length === 0) f.warn(path, 'workload selector specified without labels');
}
