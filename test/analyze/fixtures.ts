/** Builds small resource sets for analyzer tests and runs the real loader and analyzer on them. */
import { analyze } from '../../src/analyze/index.js';
import type { AnalysisMessage } from '../../src/analyze/index.js';
import { loadText } from '../../src/config/load.js';

/** Loads YAML documents (joined with `---`) as one file and analyzes them. */
export function analyzeDocs(docs: readonly string[], opts: { namespace?: string; allNamespaces?: boolean } = {}): AnalysisMessage[] {
  const load = loadText('set.yaml', docs.join('---\n'), { defaultNamespace: opts.namespace ?? 'default' });
  return analyze(load, { namespace: opts.namespace ?? 'default', allNamespaces: opts.allNamespaces === true });
}

/** `CODE kind ns/name: message` lines, easy to compare and to read in a failure. */
export function summary(messages: readonly AnalysisMessage[]): string[] {
  return messages.map((m) => `${m.code} ${m.resource ? `${m.resource.kind} ${m.resource.namespace ?? ''}/${m.resource.name}` : '-'}: ${m.message}`);
}

export function codes(messages: readonly AnalysisMessage[]): string[] {
  return messages.map((m) => m.code);
}

export function service(name: string, opts: { namespace?: string; ports?: Array<{ name?: string; port: number; appProtocol?: string }> } = {}): string {
  const ports = opts.ports ?? [{ name: 'http', port: 9080 }];
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
${opts.namespace ? `  namespace: ${opts.namespace}\n` : ''}spec:
  selector:
    app: ${name}
  ports:
${ports.map((p) => `  - port: ${p.port}\n${p.name !== undefined ? `    name: ${p.name}\n` : ''}${p.appProtocol ? `    appProtocol: ${p.appProtocol}\n` : ''}`).join('')}`;
}

export function deployment(name: string, labels: Record<string, string>, namespace?: string): string {
  const lines = Object.entries(labels).map(([k, v]) => `        ${k}: ${v}`).join('\n');
  const sel = Object.entries(labels).map(([k, v]) => `      ${k}: ${v}`).join('\n');
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
${namespace ? `  namespace: ${namespace}\n` : ''}spec:
  selector:
    matchLabels:
${sel}
  template:
    metadata:
      labels:
${lines}
    spec:
      containers:
      - name: app
        image: example/app:1
`;
}

export function destinationRule(name: string, host: string, subsets: string[], extra = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ${name}
spec:
  host: ${host}
${extra}${subsets.length ? `  subsets:\n${subsets.map((s) => `  - name: ${s}\n    labels:\n      version: ${s}\n`).join('')}` : ''}`;
}

/** A VirtualService routing `hosts` to `host` (optionally a subset), with optional gateways. */
export function virtualService(name: string, opts: { hosts: string[]; host: string; subset?: string; gateways?: string[]; namespace?: string }): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
${opts.namespace ? `  namespace: ${opts.namespace}\n` : ''}spec:
  hosts:
${opts.hosts.map((h) => `  - "${h}"\n`).join('')}${opts.gateways ? `  gateways:\n${opts.gateways.map((g) => `  - ${g}\n`).join('')}` : ''}  http:
  - route:
    - destination:
        host: ${opts.host}
${opts.subset ? `        subset: ${opts.subset}\n` : ''}`;
}

export function gateway(name: string, hosts: string[], selector: Record<string, string> = { istio: 'ingressgateway' }): string {
  return `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: ${name}
spec:
  selector:
${Object.entries(selector).map(([k, v]) => `    ${k}: ${v}\n`).join('')}  servers:
  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
${hosts.map((h) => `    - "${h}"\n`).join('')}`;
}
