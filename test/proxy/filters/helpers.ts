/**
 * Helpers for filter tests, none of which needs a listener: a route compiled from a fragment of
 * route config (its per-route filters compiled with it), the per-route filters' decisions read
 * through it, and a request or connection description a filter decides on.
 */
import assert from 'node:assert/strict';
import type { ConnectionContext, ConnectionFilter } from '../../../src/proxy/filters/connection-filter.js';
import type { CorsHeaders, LocalResponse } from '../../../src/proxy/filters/cors/cors.js';
import type { FaultDecision } from '../../../src/proxy/filters/fault/fault.js';
import type { HttpFilter, HttpFilterRequest } from '../../../src/proxy/filters/http-filter.js';
import { waitFor, type Resume, type Wait } from '../../../src/proxy/filters/verdict.js';
import type { SkiffProxy } from '../../../src/proxy/proxy.js';
import type { SelectedRoute } from '../../../src/proxy/http/route/selected.js';
import type { RouteRequest } from '../../../src/proxy/http/route/request.js';
import type { Route } from '../../../src/snapshot/index.js';
import type { Headers} from '../route/helpers.js';
import { compile, oneHost, request, type RequestInit } from '../route/helpers.js';

/** The route a request takes in a table holding only `route` (forwarding to `c` unless it says otherwise). */
export function only(route: Partial<Route>, init: RequestInit = {}): SelectedRoute {
  const t = compile(oneHost([{ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: 'c', weight: 1 }] }, ...route }]));
  const sel = t.select(request(init));
  assert.ok(sel);
  return sel;
}

/** The fault a route injects into one request, or null. */
export function faultOf(sel: SelectedRoute, random: () => number): FaultDecision | null {
  return sel.filters.fault?.draw(random) ?? null;
}

/** The clusters a route mirrors one request to. */
export function mirrorsOf(sel: SelectedRoute, random: () => number): readonly string[] {
  return sel.filters.mirror?.clustersFor(random) ?? [];
}

/** A route's answer to a CORS preflight, or null. */
export function preflightOf(sel: SelectedRoute, req: RouteRequest): LocalResponse | null {
  return sel.filters.cors?.preflight(req) ?? null;
}

/** The CORS headers a route puts on the response to `req`, or null. */
export function corsHeadersOf(sel: SelectedRoute, req: RouteRequest): CorsHeaders | null {
  return sel.filters.cors?.responseHeaders(req) ?? null;
}

/** Fails unless `observed` of `n` draws is within four standard deviations of `n × p`. */
export function assertNear(observed: number, n: number, p: number, what: string): void {
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(observed - n * p) <= 4 * sd, `${what}: ${observed} of ${n}, expected about ${n * p}`);
}

/** A connection as a listener would describe it: a plaintext client on loopback. */
export function connection(init: Partial<ConnectionContext> = {}): ConnectionContext {
  return {
    listener: 'virtualInbound',
    direction: 'inbound',
    remoteAddress: '127.0.0.1',
    remotePort: 40000,
    localAddress: '127.0.0.1',
    localPort: 15006,
    destinationPort: 15006,
    tunnelTarget: null,
    originalDestination: null,
    tls: false,
    sni: null,
    alpn: null,
    peerIdentity: null,
    peerCertificate: null,
    localIdentity: null,
    tlsVersion: null,
    ...init,
  };
}

/** A request an HTTP filter decides on, with editable headers. */
export interface FilterRequestInit extends RequestInit {
  connection?: Partial<ConnectionContext>;
  random?: () => number;
}

export function filterRequest(init: FilterRequestInit = {}): HttpFilterRequest & { headers: Headers } {
  const { connection: conn, random, ...rest } = init;
  const req = request(rest);
  return {
    method: req.method,
    scheme: req.scheme,
    authority: req.authority,
    path: req.path,
    port: req.port,
    protocol: 'HTTP/1.1',
    headers: req.headers as Headers,
    connection: connection(conn),
    random: random ?? Math.random,
    facts: null,
  };
}

/**
 * Gives a running proxy's listener these listener-level filters, as a snapshot carrying such
 * policies would: the listener's binding is replaced, and requests and connections arriving from
 * now on run through them.
 */
export function withListenerFilters(proxy: SkiffProxy, listener: string, filters: { http?: readonly HttpFilter[]; connection?: readonly ConnectionFilter[] }): void {
  const l = proxy.listenerList().find((x) => x.name === listener);
  assert.ok(l?.binding, `no listener ${listener}`);
  const b = l.binding;
  const http = b.http === null ? null : Object.freeze({ ...b.http, httpFilters: filters.http ?? b.http.httpFilters, connectionFilters: filters.connection ?? b.http.connectionFilters });
  const tcp = b.tcp === null ? null : Object.freeze({ ...b.tcp, connectionFilters: filters.connection ?? b.tcp.connectionFilters });
  l.binding = Object.freeze({ ...b, http, tcp });
}

/** What a gate saw of one request or connection it held. */
export interface Held<R, V> {
  readonly subject: R;
  /** Ends the wait with a verdict. */
  readonly resume: Resume<V>;
  /** True once the request path cancelled the wait. */
  cancelled: boolean;
}

/**
 * A filter that holds every request or connection until the test resumes it (`held`), and records
 * whether the path cancelled the wait — a stand-in for a policy waiting on an external service.
 */
export class Gate<R, V> {
  readonly name = 'gate';
  readonly held: Held<R, V>[] = [];

  decide(subject: R): Wait<V> {
    return waitFor<V>((resume) => {
      const h: Held<R, V> = { subject, resume, cancelled: false };
      this.held.push(h);
      return () => {
        h.cancelled = true;
      };
    });
  }
}
