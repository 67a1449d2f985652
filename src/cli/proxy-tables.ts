/**
 * The tables of `skiff proxy-status` and `skiff proxy-config` (istioctl's columns, adapted to
 * what a Skiff proxy has), and how a WORKLOAD argument finds its proxy.
 */
import { isIP } from 'node:net';
import type { CertsDump } from '../proxy/admin/certs.js';
import type { ProxyStatus } from '../controlplane/push/types.js';
import type { LeftOutEntry } from '../controlplane/api-types.js';
import type { HeaderMatch, JwksFetchState, RouteMatch, StringMatch, ListenerConfig, ProxySnapshot, ClusterConfigInput } from '../snapshot/index.js';

type Row = Record<string, string>;

/** Columns padded to their widest cell, three spaces apart, as kubectl and istioctl print. */
export function renderTable(columns: readonly string[], rows: readonly Row[]): string {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('').trimEnd();
  return `${[line([...columns]), ...rows.map((r) => line(columns.map((c) => r[c] ?? '')))].join('\n')}\n`;
}

/** `name.namespace` as istioctl names proxies; the node id when the workload is unknown. */
export function proxyName(s: ProxyStatus): string {
  return s.workload !== undefined ? `${s.workload.name}.${s.workload.namespace}` : s.id;
}

/** The JWKS column: how many of the proxy's fetched key sets are in each state (`2 ready, 1 failed`). */
function jwksSummary(jwks: readonly JwksFetchState[] | undefined): string {
  if (jwks === undefined || jwks.length === 0) return '-';
  const counts = new Map<string, number>();
  for (const j of jwks) counts.set(j.state, (counts.get(j.state) ?? 0) + 1);
  return ['ready', 'fetching', 'failed'].flatMap((state) => (counts.has(state) ? [`${counts.get(state)} ${state}`] : [])).join(', ');
}

/** `in 4s`, `2m ago`: a moment relative to `now`, in the largest whole unit. */
function relative(at: number, now: number): string {
  const s = Math.round(Math.abs(at - now) / 1000);
  const text = s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
  return at >= now ? `in ${text}` : `${text} ago`;
}

/** The line under the table for a key set whose last fetch failed: what fails, since when it retries, and what is in use meanwhile. */
export function jwksLine(name: string, j: JwksFetchState, now = Date.now()): string | null {
  if (j.error === '' || j.state === 'fetching') return null;
  const retry = j.nextFetchAt > 0 ? `, next try ${relative(j.nextFetchAt, now)}` : '';
  const tries = `${j.failures} fetch${j.failures === 1 ? '' : 'es'} failed`;
  const meanwhile = j.state === 'failed' ? 'tokens are refused with "Jwks remote fetch is failed"' : `the ${j.keys} key${j.keys === 1 ? '' : 's'} fetched ${relative(j.fetchedAt, now)} stay in use`;
  return `${name} cannot fetch JWKS ${j.uri}: ${j.error} (${tries}${retry}); ${meanwhile}`;
}

/**
 * NAME VERSION STATUS ADMIN METRICS (and JWKS when a proxy fetches key sets), then a line per
 * refusal, failure or JWKS that cannot be fetched, so the reason is in view.
 */
export function proxyStatusTable(statuses: readonly ProxyStatus[], now = Date.now()): string {
  const withJwks = statuses.some((s) => (s.jwks?.length ?? 0) > 0);
  const rows = statuses.map((s) => ({
    NAME: proxyName(s),
    KIND: s.node.kind,
    VERSION: s.ackedVersion ?? '<none>',
    STATUS: s.state,
    ADMIN: s.adminUrl ?? '<none>',
    METRICS: s.metricsUrl ?? '<none>',
    JWKS: jwksSummary(s.jwks),
  }));
  let out = renderTable(['NAME', 'KIND', 'VERSION', 'STATUS', 'ADMIN', 'METRICS', ...(withJwks ? ['JWKS'] : [])], rows);
  for (const s of statuses) {
    if (s.state === 'NACKED' && s.lastNack !== undefined) {
      out += `\n${proxyName(s)} refused snapshot ${s.lastNack.version}: ${s.lastNack.path ? `${s.lastNack.path}: ` : ''}${s.lastNack.reason}`;
    }
    if (s.error !== undefined) out += `\n${proxyName(s)}: ${s.error}`;
    for (const j of s.jwks ?? []) {
      const line = jwksLine(proxyName(s), j, now);
      if (line !== null) out += `\n${line}`;
    }
  }
  return out.endsWith('\n') ? out : `${out}\n`;
}

/** The resources no proxy gets, each with why and how to mend it; empty when there are none. */
export function leftOutLines(entries: readonly LeftOutEntry[]): string {
  if (entries.length === 0) return '';
  const lines = [`Left out of every proxy's config (${entries.length}):`];
  for (const e of entries) lines.push(`  ${e.resource}: ${e.reason}`, `    ${e.mend}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The proxy a WORKLOAD argument names in namespace `ns`: a node id, `POD` or `POD.NAMESPACE`, or
 * `deploy/NAME` (also plain NAME when no pod has it) for any replica of a Deployment — replicas
 * share their configuration, so the first by name stands for all.
 */
export function findProxy(statuses: readonly ProxyStatus[], workload: string, ns: string): ProxyStatus | undefined {
  const deployment = /^(?:deploy|deployment|deployments)\/(.+)$/.exec(workload)?.[1];
  const inNs = (s: ProxyStatus): boolean => (s.workload?.namespace ?? s.id.split('.').slice(1).join('.')) === ns;
  const podName = (s: ProxyStatus): string => s.workload?.name ?? s.id.split('.')[0];
  if (deployment === undefined) {
    const exact = statuses.find((s) => s.id === workload || s.id === `${workload}.${ns}` || (podName(s) === workload && inNs(s)));
    if (exact !== undefined) return exact;
  }
  const name = deployment ?? workload;
  const replica = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[a-z0-9]+-[a-z0-9]+$`);
  return [...statuses].sort((a, b) => (a.id < b.id ? -1 : 1)).find((s) => inNs(s) && replica.test(podName(s)));
}

/** Bound addresses by listener name, from the admin `/listeners` text (`name::address:port`). */
export function parseListenerAddresses(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.lastIndexOf('::');
    if (at > 0) out.set(line.slice(0, at), line.slice(at + 2));
  }
  return out;
}

function listenerType(l: ListenerConfig): string {
  return l.protocol.toUpperCase();
}

function listenerDestination(l: ListenerConfig): string {
  const parts: string[] = [];
  if (l.http !== undefined) parts.push(`Route: ${l.http.routeConfig}`);
  for (const r of l.tcp?.routes ?? []) {
    const to = r.destinations.map((d) => (r.destinations.length > 1 ? `${d.cluster} (${d.weight})` : d.cluster)).join(', ');
    parts.push(`Cluster: ${to}`);
  }
  return parts.join('; ') || '-';
}

/** NAME ADDRESS PORT DIRECTION TYPE DESTINATION; the bound port when known (a snapshot may ask for port 0). */
export function listenersTable(snap: ProxySnapshot, bound: Map<string, string> = new Map()): string {
  const rows = snap.listeners.map((l) => {
    const b = bound.get(l.name);
    const port = b !== undefined ? b.slice(b.lastIndexOf(':') + 1) : String(l.port);
    return { NAME: l.name, ADDRESS: l.address, PORT: port, DIRECTION: l.direction, TYPE: listenerType(l), DESTINATION: listenerDestination(l) };
  });
  return renderTable(['NAME', 'ADDRESS', 'PORT', 'DIRECTION', 'TYPE', 'DESTINATION'], rows);
}

function stringMatch(m: StringMatch): string {
  if ('exact' in m) return m.exact;
  if ('prefix' in m) return `${m.prefix}*`;
  return `~${m.regex}`;
}

function headerMatch(name: string, m: HeaderMatch): string {
  if ('exact' in m || 'prefix' in m || 'regex' in m) return `${name}=${stringMatch(m as StringMatch)}`;
  return `${name} present`;
}

function matchText(match: RouteMatch[]): string {
  if (match.length === 0) return '/*';
  return match
    .map((m) => {
      const parts = [m.uri !== undefined ? stringMatch(m.uri) : '/*'];
      for (const [h, hm] of Object.entries(m.headers ?? {})) parts.push(headerMatch(h, hm));
      if (m.method !== undefined) parts.push(`method=${stringMatch(m.method)}`);
      if (m.port !== undefined) parts.push(`port=${m.port}`);
      return parts.join(' ');
    })
    .join(', ');
}

function domainsText(domains: string[]): string {
  return domains.length <= 2 ? domains.join(', ') : `${domains.slice(0, 2).join(', ')} + ${domains.length - 2} more...`;
}

/** NAME VHOST NAME DOMAINS MATCH ROUTE: one row per route (ROUTE is the VirtualService's `name.namespace` unless the rule is named). */
export function routesTable(snap: ProxySnapshot): string {
  const rows: Row[] = [];
  for (const rc of snap.routes) {
    for (const vh of rc.virtualHosts) {
      for (const r of vh.routes) rows.push({ NAME: rc.name, 'VHOST NAME': vh.name, DOMAINS: domainsText(vh.domains), MATCH: matchText(r.match), ROUTE: r.name });
      if (vh.routes.length === 0) rows.push({ NAME: rc.name, 'VHOST NAME': vh.name, DOMAINS: domainsText(vh.domains), MATCH: '-', ROUTE: '-' });
    }
  }
  return renderTable(['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'ROUTE'], rows);
}

/** `outbound|9080|v1|reviews.default.svc.cluster.local` → its parts; other names are the service themselves. */
function clusterParts(c: ClusterConfigInput): { direction: string; port: string; subset: string; host: string } {
  const parts = c.name.split('|');
  if (parts.length === 4 && (parts[0] === 'outbound' || parts[0] === 'inbound')) {
    return { direction: parts[0], port: parts[1], subset: parts[2] || '-', host: c.metadata?.serviceHost ?? (parts[3] || '-') };
  }
  return { direction: '-', port: '-', subset: '-', host: c.name };
}

/**
 * The cluster's discovery type as Istio's proxies report it: ORIGINAL_DST for passthrough and
 * inbound clusters (they connect to the address the connection was for), STRICT_DNS when the
 * endpoints are host names the proxy resolves (a DNS ServiceEntry), EDS for the other service
 * clusters (their endpoints come from the control plane), STATIC for the rest (BlackHoleCluster).
 */
export function clusterType(c: ClusterConfigInput): 'EDS' | 'STRICT_DNS' | 'ORIGINAL_DST' | 'STATIC' {
  if (c.discovery === 'original-dst' || c.name.startsWith('inbound|')) return 'ORIGINAL_DST';
  if (!c.name.startsWith('outbound|')) return 'STATIC';
  return (c.endpoints ?? []).some((e) => isIP(e.address) === 0) ? 'STRICT_DNS' : 'EDS';
}

/** SERVICE FQDN PORT SUBSET DIRECTION TYPE LB ENDPOINTS. */
export function clustersTable(snap: ProxySnapshot): string {
  const rows = snap.clusters.map((c) => {
    const p = clusterParts(c);
    return {
      'SERVICE FQDN': p.host,
      PORT: p.port,
      SUBSET: p.subset,
      DIRECTION: p.direction,
      TYPE: clusterType(c),
      LB: c.lb?.policy ?? 'ROUND_ROBIN',
      ENDPOINTS: String(c.endpoints?.length ?? 0),
    };
  });
  return renderTable(['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'LB', 'ENDPOINTS'], rows);
}

export interface EndpointHealth {
  endpoint: string;
  cluster: string;
  status: 'HEALTHY' | 'UNHEALTHY' | 'DRAINING';
  outlierCheck: 'OK' | 'FAILED';
}

/** Endpoint health from the admin `/clusters` text (`CLUSTER::HOST::health_flags::FLAGS`). */
export function parseEndpointHealth(text: string): EndpointHealth[] {
  const out: EndpointHealth[] = [];
  const marker = '::health_flags::';
  for (const line of text.split('\n')) {
    const at = line.indexOf(marker);
    if (at < 0) continue;
    // Cluster names hold no `::`; an IPv6 host may, so split at the first one only.
    const head = line.slice(0, at);
    const sep = head.indexOf('::');
    if (sep < 0) continue;
    const flags = line.slice(at + marker.length);
    out.push({
      cluster: head.slice(0, sep),
      endpoint: head.slice(sep + 2),
      status: flags.includes('failed_eds_health') ? 'UNHEALTHY' : flags.includes('pending_dynamic_removal') ? 'DRAINING' : 'HEALTHY',
      outlierCheck: flags.includes('failed_outlier_check') ? 'FAILED' : 'OK',
    });
  }
  return out;
}

/** ENDPOINT STATUS OUTLIER CHECK CLUSTER, as istioctl prints it. */
export function endpointsTable(health: readonly EndpointHealth[]): string {
  const rows = health.map((h) => ({ ENDPOINT: h.endpoint, STATUS: h.status, 'OUTLIER CHECK': h.outlierCheck, CLUSTER: h.cluster }));
  return renderTable(['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'], rows);
}

/** The secrets of `/certs` as `istioctl proxy-config secret` lists them. */
export function secretsTable(dump: CertsDump, now = Date.now()): string {
  const rows = dump.secrets.map((s) => {
    const valid = Date.parse(s.notBefore) <= now && now < Date.parse(s.notAfter);
    return {
      'RESOURCE NAME': s.name,
      TYPE: s.type,
      STATUS: 'ACTIVE',
      'VALID CERT': String(valid),
      'SERIAL NUMBER': s.serialNumber,
      'NOT AFTER': s.notAfter.replace(/\.\d{3}Z$/, 'Z'),
      'NOT BEFORE': s.notBefore.replace(/\.\d{3}Z$/, 'Z'),
    };
  });
  return renderTable(['RESOURCE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'], rows);
}
