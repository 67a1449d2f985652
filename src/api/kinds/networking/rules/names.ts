/**
 * Istio's checks for names and addresses: DNS labels and (wildcard) hostnames, ports, protocols,
 * label maps, IPs and CIDRs, unix sockets, `namespace/host` entries and exportTo lists. Each returns
 * Istio's message for the problem, or `undefined` when the value is fine.
 */
import { isIP } from 'node:net';

const DNS1123_LABEL = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
/** A label that may start with `*` or `*-`, or be just `*`. */
const WILDCARD_LABEL = /^(?:\*|(?:\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;
const QUALIFIED_NAME = '(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_KEY = new RegExp(
  `^((?:[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)(?:\\.[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)*/)?(${QUALIFIED_NAME})$`,
);
const LABEL_VALUE = new RegExp(`^(${QUALIFIED_NAME})?$`);

export function isDNS1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

function isWildcardDNS1123Label(s: string): boolean {
  return s.length <= 63 && WILDCARD_LABEL.test(s);
}

function dnsPreconditionProblem(name: string): string | undefined {
  if (name.length > 255) return `domain name "${name}" too long (max 255)`;
  if (name.length === 0) return 'empty domain name not allowed';
  return undefined;
}

function dnsLabelsProblem(domain: string): string | undefined {
  const parts = domain.split('.');
  const tld = parts[parts.length - 1] ?? '';
  if (/^[+-]?\d+$/.test(tld)) return `domain name "${domain}" invalid (top level domain "${tld}" cannot be all-numeric)`;
  for (let i = 0; i < parts.length; i++) {
    const label = parts[i] ?? '';
    // A trailing dot (`istio.io.`) is allowed.
    if (i === parts.length - 1 && label === '') return undefined;
    if (!isDNS1123Label(label)) return `domain name "${domain}" invalid (label "${label}" invalid)`;
  }
  return undefined;
}

/** A fully-qualified (or short) DNS name without wildcards. */
export function fqdnProblem(name: string): string | undefined {
  return dnsPreconditionProblem(name) ?? dnsLabelsProblem(name);
}

/** A DNS name whose first label may be a wildcard (`*`, `*.example.com`, `*-foo.example.com`). */
export function wildcardDomainProblem(domain: string): string | undefined {
  const pre = dnsPreconditionProblem(domain);
  if (pre !== undefined) return pre;
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (!isWildcardDNS1123Label(first)) return `domain name "${domain}" invalid (label "${first}" invalid)`;
  return dot < 0 ? undefined : dnsLabelsProblem(domain.slice(dot + 1));
}

/** Hosts of gateway-bound VirtualServices also allow Istio's generated `outbound_.PORT_._.HOST` SNI names. */
export function gatewayBoundDomainProblem(sni: boolean, domain: string): string | undefined {
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (sni && first === 'outbound_' && dnsPreconditionProblem(domain) === undefined) {
    return /outbound_.([0-8].*).*/.test(domain) ? undefined : `domain name "${domain}" invalid (label "${first}" invalid)`;
  }
  return wildcardDomainProblem(domain);
}

export function partialWildcardProblem(host: string): string | undefined {
  return host.includes('*') && host.length !== 1 && !host.startsWith('*.') ? `partial wildcard "${host}" not allowed` : undefined;
}

export function portProblem(port: number): string | undefined {
  return port >= 1 && port <= 65535 ? undefined : `port number ${port} must be in the range 1..65535`;
}

export function portNameProblem(name: string): string | undefined {
  return isDNS1123Label(name) ? undefined : `invalid port name: ${name}`;
}

type Protocol = 'TCP' | 'UDP' | 'GRPC' | 'GRPC-Web' | 'HTTP' | 'HTTP_PROXY' | 'HTTP2' | 'HTTPS' | 'TLS' | 'Mongo' | 'Redis' | 'MySQL';
const PROTOCOLS: Readonly<Record<string, Protocol>> = {
  tcp: 'TCP', udp: 'UDP', grpc: 'GRPC', 'grpc-web': 'GRPC-Web', http: 'HTTP', http_proxy: 'HTTP_PROXY', http2: 'HTTP2',
  https: 'HTTPS', tls: 'TLS', mongo: 'Mongo', redis: 'Redis', mysql: 'MySQL',
};

/** Istio's protocol names, case-insensitive; `undefined` for anything else. */
export function parseProtocol(p: string): Protocol | undefined {
  return PROTOCOLS[p.toLowerCase()];
}
export function isHTTPProtocol(p: Protocol | undefined): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'HTTP_PROXY' || p === 'GRPC' || p === 'GRPC-Web';
}
export function isTLSProtocol(p: Protocol | undefined): boolean {
  return p === 'HTTPS' || p === 'TLS';
}
export function isTCPProtocol(p: Protocol | undefined): boolean {
  return p === 'TCP' || p === 'HTTPS' || p === 'TLS' || p === 'Mongo' || p === 'Redis' || p === 'MySQL';
}

/** An empty protocol means "detect it"; anything else must be a protocol Istio knows. */
export function protocolProblem(p: string | undefined): string | undefined {
  return p === undefined || p === '' || parseProtocol(p) !== undefined ? undefined : `unsupported protocol: ${p}`;
}

/** Kubernetes label syntax for keys and values (Istio's labels.Instance.Validate). */
export function labelProblems(labels: Readonly<Record<string, string>> | undefined): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    const m = LABEL_KEY.exec(k);
    if (m === null) out.push(`invalid tag key: "${k}"`);
    else if ((m[1]?.length ?? 0) - 1 > 253) out.push(`invalid tag key: "${k}" (DNS prefix is too long)`);
    else if ((m[2]?.length ?? 0) > 63) out.push(`invalid tag key: "${k}" (name is too long)`);
    if (!LABEL_VALUE.test(v)) out.push(`invalid tag value: "${v}"`);
  }
  return out;
}

export function isIPAddress(s: string): boolean {
  // Go's netip also accepts IPv6 zones (fe80::1%eth0).
  const zone = s.indexOf('%');
  return isIP(zone > 0 && s.includes(':') ? s.slice(0, zone) : s) !== 0;
}

export function ipProblem(s: string): string | undefined {
  return isIPAddress(s) ? undefined : `${s} is not a valid IP`;
}

/** An IP or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`). */
export function ipSubnetProblem(s: string): string | undefined {
  const parts = s.split('/');
  if (parts.length !== 2) return ipProblem(s);
  const [addr = '', bits = ''] = parts;
  const family = isIP(addr);
  const max = family === 4 ? 32 : family === 6 ? 128 : -1;
  return max > 0 && /^\d{1,3}$/.test(bits) && Number(bits) <= max ? undefined : `${s} is not a valid CIDR block`;
}

/** The path after `unix://`: absolute and not a directory, or abstract (`@name`). */
export function unixAddressProblem(addr: string): string | undefined {
  if (addr.length === 0) return 'unix address must not be empty';
  if (addr.startsWith('@')) return undefined;
  return addr.startsWith('/') && !addr.endsWith('/') ? undefined : `${addr} is not an absolute path to a file`;
}

function hostnamePartProblems(hostname: string, isGateway: boolean): string[] {
  const out: string[] = [];
  if (hostname !== '*' && !hostname.includes('.')) out.push('short names (non FQDN) are not allowed');
  const err = wildcardDomainProblem(hostname);
  // Gateways also accept an IP as the host.
  if (err !== undefined && !(isGateway && isIPAddress(hostname))) out.push(err);
  const partial = partialWildcardProblem(hostname);
  if (partial !== undefined) out.push(partial);
  return out;
}

/** Gateway server hosts and Sidecar egress hosts: `namespace/dnsName` (gateways also take a bare host). */
export function namespaceSlashHostProblems(host: string, isGateway: boolean): string[] {
  const slash = host.indexOf('/');
  if (slash < 0) return isGateway ? hostnamePartProblems(host, true) : ['host must be of form namespace/dnsName'];
  const ns = host.slice(0, slash);
  const name = host.slice(slash + 1);
  const out: string[] = [];
  if (ns === '' || name === '') out.push('config namespace and dnsName in host entry cannot be empty');
  const special = isGateway ? ['*', '.'] : ['*', '.', '~'];
  if (!special.includes(ns) && !isDNS1123Label(ns)) {
    out.push(`invalid namespace value "${ns}" in ${isGateway ? 'gateway' : 'sidecar'}`);
  }
  return [...out, ...hostnamePartProblems(name, isGateway)];
}

/** Istio's host.Name.Matches: equal, or one wildcard host covers the other. */
export function hostsMatch(a: string, b: string): boolean {
  const aw = a.startsWith('*');
  const bw = b.startsWith('*');
  if (aw && bw) return a.length < b.length ? b.slice(1).endsWith(a.slice(1)) : a.slice(1).endsWith(b.slice(1));
  if (aw) return b.endsWith(a.slice(1));
  if (bw) return a.endsWith(b.slice(1));
  return a === b;
}

/** Istio's host.Name.SubsetOf: every name matched by `a` is matched by `b`. */
export function hostSubsetOf(a: string, b: string): boolean {
  const aw = a.startsWith('*');
  const bw = b.startsWith('*');
  if (aw) return bw && a.slice(1).endsWith(b.slice(1));
  if (bw) return a.endsWith(b.slice(1));
  return a === b;
}

/** Istio's validateExportTo: ".", "*", namespace names (and "~" for ServiceEntry), no duplicates or mixes. */
export function exportToProblems(namespace: string, exportTo: readonly string[], isServiceEntry: boolean, drWithSelector: boolean): string[] {
  const out: string[] = [];
  if (exportTo.length === 0) return out;
  const seen = new Set<string>();
  for (const e of exportTo) {
    const key = e === '.' ? namespace : e;
    if (seen.has(key)) {
      out.push(key !== e ? `duplicate entries in exportTo: . and current namespace ${namespace}` : `duplicate entries in exportTo for entry ${e}`);
    } else if (e === '~' && !isServiceEntry) {
      out.push('exportTo ~ (none) is not allowed for Istio configuration objects');
    } else if (e !== '~' && e !== '*' && e !== '.' && !isDNS1123Label(e)) {
      out.push('only .,*, or a valid DNS 1123 label is allowed as exportTo entry');
    } else {
      seen.add(key);
    }
  }
  if (drWithSelector && seen.size > 0) {
    if (!seen.has(namespace)) out.push('destination rule with workload selector cannot have exportTo beyond current namespace');
    else if (seen.size > 1) out.push('destination rule with workload selector cannot have multiple entries in exportTo');
  }
  if (seen.has('*') && exportTo.length > 1) out.push('cannot have both public (*) and non-public exportTo values for a resource');
  if (seen.has('~') && exportTo.length > 1) out.push('cannot export service entry to no one (~) and someone');
  return out;
}
