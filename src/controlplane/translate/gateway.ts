/**
 * A gateway proxy's listeners: every Gateway whose selector matches the gateway's labels
 * contributes its servers; servers are grouped by the local port their number translates to.
 * HTTP servers serve virtual hosts for the intersection of server hosts and the hosts of the
 * VirtualServices bound to that Gateway (routes of several VirtualServices for one host merged in
 * order); nothing matching answers 404; a server with `tls.httpsRedirect` answers every request
 * for its hosts with a 301 to `https` (Envoy's `require_tls`). TCP servers forward by the bound
 * VirtualServices' `tcp` rules.
 *
 * HTTPS servers terminating TLS (SIMPLE, MUTUAL, ISTIO_MUTUAL) become one filter chain each, as
 * Istio builds them: matched on the server's hosts as SNI names (none for `*`), terminating with
 * the server's certificate (its `credentialName` Secret, in the gateway proxy's namespace, or its
 * files), then serving HTTP with the port's virtual hosts. A server whose credential is missing or
 * malformed is left out with a warning naming the Secret; the others keep serving. PASSTHROUGH
 * servers on the same port are chains of their own that route by SNI without terminating.
 */
import type { Server, ServerTLSSettings } from '../../api/kinds/networking/gateway.js';
import { labelsMatch } from '../../registry/select.js';
import type { FilterChainConfig, Route, RouteConfig, ListenerConfig, ServerTlsConfig, TcpRoute, TlsSecret } from '../../snapshot/index.js';
import { resolveCredential } from '../../config/tls-credentials.js';
import { hostCovers, hostIntersection, parseNamespacedHost } from './hosts.js';
import { httpListenerOptions } from './http-listener.js';
import { httpRoutesOf, type RouteScope } from './http-routes.js';
import type { ConfigIndex, GatewayEntry, VirtualServiceEntry } from './push-context.js';
import { tcpDestinationsOf, tlsRoutesOf } from './tcp-routes.js';
import type { GatewayTarget } from './types.js';

interface BoundServer {
  gateway: GatewayEntry;
  server: Server;
  /** Where the server is, for warnings and chain names: `Gateway ns/name servers[i]`. */
  where: string;
  /** The TLS it terminates (HTTPS servers in SIMPLE, MUTUAL, ISTIO_MUTUAL), credentials resolved. */
  terminate?: ServerTlsConfig;
}

interface PortGroup {
  localPort: number;
  /** `tls`: TLS passed through unterminated, routed by SNI (Gateway `tls.mode: PASSTHROUGH`). */
  kind: 'http' | 'tcp' | 'tls';
  servers: BoundServer[];
}

function serverKind(protocol: string): 'http' | 'tcp' | 'tls' {
  const p = protocol.toUpperCase();
  if (p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-WEB') return 'http';
  if (p === 'HTTPS' || p === 'TLS') return 'tls';
  return 'tcp';
}

/** The Gateways that select this gateway proxy (a Gateway without selector selects every gateway). */
export function gatewaysFor(index: ConfigIndex, target: GatewayTarget): GatewayEntry[] {
  return index.gateways.filter((g) => g.spec.selector === undefined || labelsMatch(g.spec.selector, target.labels));
}

/** The named secrets a gateway's terminating servers take, by name (one per credential). */
type SecretSink = Map<string, TlsSecret>;

/**
 * The TLS an HTTPS server terminates, its credential resolved into `secrets`; a string saying why
 * the server cannot be served.
 */
function terminatingTls(tls: ServerTLSSettings, namespace: string, index: ConfigIndex, secrets: SecretSink): ServerTlsConfig | string {
  const mode = tls.mode ?? 'PASSTHROUGH';
  if (mode === 'ISTIO_MUTUAL') return { mode, ...(tls.subjectAltNames === undefined ? {} : { subjectAltNames: tls.subjectAltNames }) };
  if (mode !== 'SIMPLE' && mode !== 'MUTUAL') return `tls.mode ${mode} is not served by Skiff`;
  const mutual = mode === 'MUTUAL';
  const out: ServerTlsConfig = { mode };
  if (tls.subjectAltNames !== undefined && mutual) out.subjectAltNames = tls.subjectAltNames;
  if (tls.credentialName !== undefined) {
    const found = resolveCredential(index.secret, namespace, tls.credentialName, { cert: true, ca: mutual });
    if (!found.ok) return `credentialName ${tls.credentialName}: ${found.error}`;
    for (const s of [found.certificate, found.ca]) if (s !== undefined) secrets.set(s.name, s);
    out.certificate = { secret: found.certificate!.name };
    out.privateKey = { secret: found.certificate!.name };
    if (found.ca !== undefined) out.caCertificates = { secret: found.ca.name };
    return out;
  }
  if (tls.serverCertificate === undefined || tls.privateKey === undefined) return `${mode} needs credentialName, or serverCertificate and privateKey`;
  out.certificate = { file: tls.serverCertificate };
  out.privateKey = { file: tls.privateKey };
  if (mutual) {
    if (tls.caCertificates === undefined) return 'MUTUAL needs caCertificates (or a credentialName whose Secret holds ca.crt)';
    out.caCertificates = { file: tls.caCertificates };
  }
  return out;
}

function groupServers(index: ConfigIndex, target: GatewayTarget, warn: (m: string) => void, secrets: SecretSink): PortGroup[] {
  const groups = new Map<number, PortGroup>();
  for (const gateway of gatewaysFor(index, target)) {
    (gateway.spec.servers ?? []).forEach((server, i) => {
      const where = `Gateway ${gateway.namespace}/${gateway.name} servers[${i}]`;
      const kind = serverKind(server.port.protocol);
      const bound: BoundServer = { gateway, server, where };
      if (kind === 'tls' && (server.tls?.mode ?? 'PASSTHROUGH') !== 'PASSTHROUGH') {
        if (server.port.protocol.toUpperCase() !== 'HTTPS') {
          warn(`${where}: ${server.port.protocol} servers terminating TLS (tls.mode ${server.tls?.mode}) are not served by Skiff (HTTPS servers are); left out`);
          return;
        }
        const tls = terminatingTls(server.tls!, target.namespace, index, secrets);
        if (typeof tls === 'string') {
          warn(`${where}: ${tls}; left out`);
          return;
        }
        bound.terminate = tls;
      }
      const localPort = target.portMap[server.port.number] ?? server.port.number;
      let group = groups.get(localPort);
      if (group === undefined) {
        group = { localPort, kind, servers: [] };
        groups.set(localPort, group);
      } else if (group.kind !== kind) {
        warn(`${where}: port ${server.port.number} (${server.port.protocol}) conflicts with a ${group.kind.toUpperCase()} server on the same port; left out`);
        return;
      }
      group.servers.push(bound);
    });
  }
  return [...groups.values()].sort((a, b) => a.localPort - b.localPort);
}

/** VirtualServices bound to the Gateway and exported to the gateway proxy's namespace (as Istio checks it). */
function boundVirtualServices(index: ConfigIndex, gateway: GatewayEntry, proxyNamespace: string): VirtualServiceEntry[] {
  const ref = `${gateway.namespace}/${gateway.name}`;
  return index.virtualServicesVisibleFrom(proxyNamespace).filter((v) => v.gateways.includes(ref));
}

/** Hosts a VirtualService serves on a server: each VS host intersected with each server host whose namespace admits the VS. */
function servedHosts(server: Server, gateway: GatewayEntry, vs: VirtualServiceEntry): string[] {
  const out: string[] = [];
  for (const raw of server.hosts) {
    const sh = parseNamespacedHost(raw, gateway.namespace);
    if (sh.namespace === '~' || (sh.namespace !== '*' && sh.namespace !== vs.namespace)) continue;
    for (const h of vs.hosts) {
      const host = hostIntersection(sh.host, h);
      if (host !== undefined && !out.includes(host)) out.push(host);
    }
  }
  return out;
}

/** Istio's default ingress gateway Service: port → target port in the gateway pod. */
const GATEWAY_TARGET_PORTS: Readonly<Record<number, number>> = { 80: 8080, 443: 8443 };

export interface GatewayListeners {
  listeners: ListenerConfig[];
  routes: RouteConfig[];
  /** The credentials terminating servers take by name. */
  secrets: TlsSecret[];
}

/** `withPolicies`: authorization policies apply, so each listener says which port they name. */
export function buildGatewayListeners(index: ConfigIndex, target: GatewayTarget, warn: (m: string) => void, withPolicies = false): GatewayListeners {
  const secrets: SecretSink = new Map();
  const out: GatewayListeners = { listeners: [], routes: [], secrets: [] };
  for (const group of groupServers(index, target, warn, secrets)) {
    const first = group.servers[0].server.port.number;
    const name = `${target.listenAddress}_${group.localPort === 0 ? `0.${first}` : group.localPort}`;
    const scopeFor = (b: BoundServer): RouteScope => ({
      index,
      gateway: `${b.gateway.namespace}/${b.gateway.name}`,
      port: b.server.port.number,
      proxyNamespace: target.namespace,
      proxyLabels: target.labels,
      warn,
    });
    const listener: ListenerConfig = { name, address: target.listenAddress, port: group.localPort, direction: 'gateway', protocol: group.kind === 'http' ? 'http' : 'tcp' };
    // Policies name the port Envoy listens on in Istio's gateway pod: the gateway Service's target port.
    const podPort = GATEWAY_TARGET_PORTS[first] ?? first;
    if (withPolicies && podPort !== group.localPort) listener.policyPort = podPort;
    if (group.kind === 'http') {
      const routeConfig = `http.${group.localPort === 0 ? first : group.localPort}`;
      out.routes.push({ name: routeConfig, virtualHosts: httpVirtualHosts(index, group, scopeFor) });
      listener.http = httpListenerOptions(index.mesh, routeConfig, { serverHeader: 'istio-envoy' });
    } else if (group.kind === 'tls' && group.servers.some((b) => b.terminate !== undefined)) {
      const routeConfig = `https.${group.localPort === 0 ? first : group.localPort}`;
      const terminated = { ...group, servers: group.servers.filter((b) => b.terminate !== undefined) };
      const passthrough = { ...group, servers: group.servers.filter((b) => b.terminate === undefined) };
      out.routes.push({ name: routeConfig, virtualHosts: httpVirtualHosts(index, terminated, scopeFor) });
      listener.protocol = 'http';
      listener.http = httpListenerOptions(index.mesh, routeConfig, { serverHeader: 'istio-envoy' });
      if (passthrough.servers.length > 0) listener.tcp = { routes: sniRoutes(index, passthrough, scopeFor) };
      listener.filterChains = tlsChains(group, warn);
    } else if (group.kind === 'tls') {
      listener.tcp = { routes: sniRoutes(index, group, scopeFor) };
    } else {
      listener.tcp = { routes: tcpRoutes(index, group, scopeFor) };
    }
    out.listeners.push(listener);
  }
  out.secrets = [...secrets.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

/** The SNI names a server's hosts match (`ns/` dropped); none when a host is `*` (every connection). */
function serverNames(server: Server, namespace: string): string[] | undefined {
  const names: string[] = [];
  for (const raw of server.hosts) {
    const host = parseNamespacedHost(raw, namespace).host.toLowerCase();
    if (host === '*') return undefined;
    if (!names.includes(host)) names.push(host);
  }
  return names;
}

/**
 * One filter chain per server of a TLS port: terminating servers serve HTTP behind their TLS,
 * PASSTHROUGH servers route the bytes by SNI. A server whose hosts another server of the port
 * already matches is left out (Envoy refuses two chains with one match).
 */
function tlsChains(group: PortGroup, warn: (m: string) => void): FilterChainConfig[] {
  const chains: FilterChainConfig[] = [];
  const taken = new Map<string, string>();
  for (const b of group.servers) {
    const names = serverNames(b.server, b.gateway.namespace);
    const key = names === undefined ? '*' : [...names].sort().join(',');
    const other = taken.get(key);
    if (other !== undefined) {
      warn(`${b.where}: hosts ${b.server.hosts.join(', ')} are already served on port ${b.server.port.number} by ${other}; left out`);
      continue;
    }
    taken.set(key, b.where);
    const chain: FilterChainConfig = { name: b.where.replace('Gateway ', ''), ...(names === undefined ? {} : { match: { serverNames: names } }) };
    if (b.terminate !== undefined) {
      chain.transport = { mode: 'STRICT', tls: b.terminate };
      chain.protocol = 'http';
    } else {
      chain.protocol = 'tcp';
    }
    chains.push(chain);
  }
  return chains;
}

/** What a server with `tls.httpsRedirect` answers for its hosts (Envoy's `require_tls: ALL`). */
const HTTPS_REDIRECT: Route = { name: 'https-redirect', match: [], action: { type: 'redirect', scheme: 'https', redirectCode: 301 } };

function httpVirtualHosts(index: ConfigIndex, group: PortGroup, scopeFor: (b: BoundServer) => RouteScope): RouteConfig['virtualHosts'] {
  const byDomain = new Map<string, { name: string; routes: Route[]; from: Set<string> }>();
  // Redirecting servers first: their hosts answer the redirect whatever VirtualServices say.
  const redirected = new Set<string>();
  for (const b of group.servers) {
    if (b.server.tls?.httpsRedirect !== true || b.terminate !== undefined) continue;
    for (const raw of b.server.hosts) {
      const domain = parseNamespacedHost(raw, b.gateway.namespace).host.toLowerCase();
      if (byDomain.has(domain)) continue;
      redirected.add(domain);
      byDomain.set(domain, { name: `${domain}:${b.server.port.number}`, routes: [HTTPS_REDIRECT], from: new Set() });
    }
  }
  for (const b of group.servers) {
    const scope = scopeFor(b);
    for (const vs of boundVirtualServices(index, b.gateway, scope.proxyNamespace)) {
      const hosts = servedHosts(b.server, b.gateway, vs);
      if (hosts.length === 0) continue;
      const routes = httpRoutesOf(vs, scope);
      const key = `${vs.namespace}/${vs.name}@${scope.gateway}:${scope.port}`;
      for (const host of hosts) {
        const domain = host.toLowerCase();
        if (redirected.has(domain)) continue;
        let vh = byDomain.get(domain);
        if (vh === undefined) {
          vh = { name: `${host}:${b.server.port.number}`, routes: [], from: new Set() };
          byDomain.set(domain, vh);
        }
        // One VirtualService reached through two servers of the port still contributes its rules once.
        if (vh.from.has(key)) continue;
        vh.from.add(key);
        vh.routes.push(...routes);
      }
    }
  }
  return [...byDomain.entries()].map(([domain, vh]) => ({ name: vh.name, domains: [domain], routes: vh.routes }));
}

function tcpRoutes(index: ConfigIndex, group: PortGroup, scopeFor: (b: BoundServer) => RouteScope): TcpRoute[] {
  const out: TcpRoute[] = [];
  for (const b of group.servers) {
    const scope = scopeFor(b);
    for (const vs of boundVirtualServices(index, b.gateway, scope.proxyNamespace)) {
      if (servedHosts(b.server, b.gateway, vs).length === 0) continue;
      const dests = tcpDestinationsOf(vs, scope);
      if (dests !== undefined) out.push({ destinations: dests });
    }
  }
  return out;
}

/**
 * PASSTHROUGH servers: the VirtualServices' `tls` rules, each on the SNI names it lists that the
 * server's hosts admit (Istio drops a rule's SNI names outside the server's hosts).
 */
function sniRoutes(index: ConfigIndex, group: PortGroup, scopeFor: (b: BoundServer) => RouteScope): TcpRoute[] {
  const out: TcpRoute[] = [];
  for (const b of group.servers) {
    const scope = scopeFor(b);
    for (const vs of boundVirtualServices(index, b.gateway, scope.proxyNamespace)) {
      const served = servedHosts(b.server, b.gateway, vs);
      if (served.length === 0) continue;
      for (const route of tlsRoutesOf(vs, scope)) {
        const sniHosts = (route.match?.sniHosts ?? []).filter((sni) => served.some((h) => hostCovers(h.toLowerCase(), sni)));
        if (sniHosts.length > 0) out.push({ ...route, match: { sniHosts } });
      }
    }
  }
  return out;
}

