/**
 * A gateway proxy's listeners: every Gateway whose selector matches the gateway's labels
 * contributes its servers; servers are grouped by the local port their number translates to.
 * HTTP servers serve virtual hosts for the intersection of server hosts and the hosts of the
 * VirtualServices bound to that Gateway (routes of several VirtualServices for one host merged in
 * order); nothing matching answers 404. TCP servers forward by the bound VirtualServices' `tcp` rules.
 */
import type { Server } from '../../api/kinds/networking/gateway.js';
import { labelsMatch } from '../../registry/select.js';
import type { Route, RouteConfig, ListenerConfig, TcpRoute } from '../../snapshot/index.js';
import { hostCovers, hostIntersection, parseNamespacedHost } from './hosts.js';
import { httpListenerOptions } from './http-listener.js';
import { httpRoutesOf, type RouteScope } from './http-routes.js';
import type { ConfigIndex, GatewayEntry, VirtualServiceEntry } from './push-context.js';
import { tcpDestinationsOf, tlsRoutesOf } from './tcp-routes.js';
import type { GatewayTarget } from './types.js';

interface BoundServer {
  gateway: GatewayEntry;
  server: Server;
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

function groupServers(index: ConfigIndex, target: GatewayTarget, warn: (m: string) => void): PortGroup[] {
  const groups = new Map<number, PortGroup>();
  for (const gateway of gatewaysFor(index, target)) {
    (gateway.spec.servers ?? []).forEach((server, i) => {
      const where = `Gateway ${gateway.namespace}/${gateway.name} servers[${i}]`;
      const kind = serverKind(server.port.protocol);
      if (kind === 'tls' && server.tls?.mode !== 'PASSTHROUGH') {
        warn(`${where}: ${server.port.protocol} servers terminating TLS (tls.mode ${server.tls?.mode ?? 'SIMPLE'}) are not served; left out`);
        return;
      }
      if (server.tls?.httpsRedirect === true) warn(`${where}: tls.httpsRedirect is not applied`);
      const localPort = target.portMap[server.port.number] ?? server.port.number;
      let group = groups.get(localPort);
      if (group === undefined) {
        group = { localPort, kind, servers: [] };
        groups.set(localPort, group);
      } else if (group.kind !== kind) {
        warn(`${where}: port ${server.port.number} (${server.port.protocol}) conflicts with a ${group.kind.toUpperCase()} server on the same port; left out`);
        return;
      }
      group.servers.push({ gateway, server });
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

export interface GatewayListeners {
  listeners: ListenerConfig[];
  routes: RouteConfig[];
}

export function buildGatewayListeners(index: ConfigIndex, target: GatewayTarget, warn: (m: string) => void): GatewayListeners {
  const out: GatewayListeners = { listeners: [], routes: [] };
  for (const group of groupServers(index, target, warn)) {
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
    if (group.kind === 'http') {
      const routeConfig = `http.${group.localPort === 0 ? first : group.localPort}`;
      out.routes.push({ name: routeConfig, virtualHosts: httpVirtualHosts(index, group, scopeFor) });
      listener.http = httpListenerOptions(index.mesh, routeConfig, { serverHeader: 'istio-envoy' });
    } else if (group.kind === 'tls') {
      listener.tcp = { routes: sniRoutes(index, group, scopeFor) };
    } else {
      listener.tcp = { routes: tcpRoutes(index, group, scopeFor) };
    }
    out.listeners.push(listener);
  }
  return out;
}

function httpVirtualHosts(index: ConfigIndex, group: PortGroup, scopeFor: (b: BoundServer) => RouteScope): RouteConfig['virtualHosts'] {
  const byDomain = new Map<string, { name: string; routes: Route[]; from: Set<string> }>();
  for (const b of group.servers) {
    const scope = scopeFor(b);
    for (const vs of boundVirtualServices(index, b.gateway, scope.proxyNamespace)) {
      const hosts = servedHosts(b.server, b.gateway, vs);
      if (hosts.length === 0) continue;
      const routes = httpRoutesOf(vs, scope);
      const key = `${vs.namespace}/${vs.name}@${scope.gateway}:${scope.port}`;
      for (const host of hosts) {
        const domain = host.toLowerCase();
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

