/**
 * A small Bookinfo-shaped mesh on loopback: the productpage-v1 sidecar (outbound) calls reviews
 * through the reviews-v2 sidecar (inbound) in front of a real app, plus a TCP service behind the
 * same sidecar, a route with an injected abort, and a cluster with a tight circuit breaker.
 */
import type http from 'node:http';
import type { ProxySnapshot } from '../../src/snapshot/index.js';
import type { ProxyTelemetryOptions } from '../../src/telemetry/proxy-telemetry.js';
import { startHttpBackend, startTcpEcho, startTelemetryProxy } from './helpers.js';
import type { HttpBackend, TelemetryProxy } from './helpers.js';

export const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';
export const RATINGS = 'outbound|9080||ratings.default.svc.cluster.local';
export const BUSY = 'outbound|9080||busy.default.svc.cluster.local';
export const TCP_ECHO = 'outbound|9000||tcp-echo.default.svc.cluster.local';

export interface Mesh {
  client: TelemetryProxy;
  server: TelemetryProxy;
  /** The app behind the server sidecar. */
  app: HttpBackend;
  /** A backend with no sidecar that holds its answers until `release()`. */
  busy: HttpBackend & { release(): void };
  /** The snapshots applied (to re-apply with changes). */
  clientSnapshot: ProxySnapshot;
  serverSnapshot: ProxySnapshot;
  close(): Promise<void>;
}

export interface MeshOptions {
  client?: ProxyTelemetryOptions;
  server?: ProxyTelemetryOptions;
  /** Handler of the app behind the server sidecar. */
  app?: http.RequestListener;
  clientTelemetry?: ProxySnapshot['telemetry'];
  serverTelemetry?: ProxySnapshot['telemetry'];
  /** AuthorizationPolicies in force on the server sidecar's inbound listeners. */
  serverAuthorization?: ProxySnapshot['authorization'];
}

export async function startMesh(opts: MeshOptions = {}): Promise<Mesh> {
  const app = await startHttpBackend(opts.app);
  const echo = await startTcpEcho();
  const held: (() => void)[] = [];
  const busyBackend = await startHttpBackend((_req, res) => {
    held.push(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('finally\n');
    });
  });
  const busy = Object.assign(busyBackend, {
    release() {
      for (const f of held.splice(0)) f();
    },
  });

  const serverSnap: ProxySnapshot = {
    version: 'server-1',
    node: {
      id: 'sidecar~127.0.0.1~reviews-v2-5b64f47978-x7k2p.default~default.svc.cluster.local',
      kind: 'sidecar',
      workload: { name: 'reviews-v2', namespace: 'default', labels: { app: 'reviews', version: 'v2' }, serviceAccount: 'bookinfo-reviews' },
    },
    listeners: [
      { name: 'inbound-http', address: '127.0.0.1', port: 0, direction: 'inbound', protocol: 'http', http: { routeConfig: 'inbound|9080||' } },
      { name: 'inbound-tcp', address: '127.0.0.1', port: 0, direction: 'inbound', protocol: 'tcp', tcp: { routes: [{ destinations: [{ cluster: 'inbound|9000||', weight: 1 }] }] } },
    ],
    routes: [
      {
        name: 'inbound|9080||',
        virtualHosts: [{ name: 'inbound|http|9080', domains: ['*'], routes: [{ name: 'default', match: [], action: { type: 'route', destinations: [{ cluster: 'inbound|9080||', weight: 100 }] } }] }],
      },
    ],
    clusters: [
      { name: 'inbound|9080||', endpoints: [{ address: '127.0.0.1', port: app.port }], metadata: { serviceHost: 'reviews.default.svc.cluster.local', serviceName: 'reviews', serviceNamespace: 'default' } },
      { name: 'inbound|9000||', protocol: 'tcp', endpoints: [{ address: '127.0.0.1', port: echo.port }], metadata: { serviceHost: 'tcp-echo.default.svc.cluster.local' } },
    ],
    ...(opts.serverTelemetry !== undefined ? { telemetry: opts.serverTelemetry } : {}),
    ...(opts.serverAuthorization !== undefined ? { authorization: opts.serverAuthorization } : {}),
  };
  const server = await startTelemetryProxy(serverSnap, opts.server);

  const clientSnap: ProxySnapshot = {
    version: 'client-1',
    node: {
      id: 'sidecar~127.0.0.1~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local',
      kind: 'sidecar',
      workload: { name: 'productpage-v1', namespace: 'default', labels: { app: 'productpage', version: 'v1' }, serviceAccount: 'bookinfo-productpage' },
    },
    listeners: [
      { name: 'outbound-http', address: '127.0.0.1', port: 0, direction: 'outbound', protocol: 'http', http: { routeConfig: '9080' } },
      { name: 'outbound-tcp', address: '127.0.0.1', port: 0, direction: 'outbound', protocol: 'tcp', tcp: { routes: [{ destinations: [{ cluster: TCP_ECHO, weight: 1 }] }] } },
    ],
    routes: [
      {
        name: '9080',
        virtualHosts: [
          { name: 'reviews.default.svc.cluster.local:9080', domains: ['reviews', 'reviews:9080', 'reviews.default.svc.cluster.local:9080'], routes: [{ name: 'default', match: [], action: { type: 'route', destinations: [{ cluster: REVIEWS, weight: 100 }] } }] },
          {
            name: 'ratings.default.svc.cluster.local:9080',
            domains: ['ratings', 'ratings:9080'],
            routes: [{ name: 'ratings-abort', match: [], fault: { abort: { httpStatus: 500, percent: 100 } }, action: { type: 'route', destinations: [{ cluster: RATINGS, weight: 100 }] } }],
          },
          { name: 'busy.default.svc.cluster.local:9080', domains: ['busy', 'busy:9080'], routes: [{ name: 'busy', match: [], action: { type: 'route', destinations: [{ cluster: BUSY, weight: 100 }] } }] },
        ],
      },
    ],
    clusters: [
      // No workload metadata on this endpoint: the destination's identity must come from the response.
      { name: REVIEWS, endpoints: [{ address: '127.0.0.1', port: server.port('inbound-http') }] },
      { name: RATINGS, endpoints: [{ address: '127.0.0.1', port: 1 }] },
      {
        name: BUSY,
        endpoints: [{ address: '127.0.0.1', port: busy.port, labels: { app: 'busy', version: 'v7' }, workload: { name: 'busy-v7', namespace: 'tools' } }],
        connectionPool: { maxConnections: 1, http1MaxPendingRequests: 1 },
      },
      // Endpoint metadata: TCP has no peer exchange without mTLS, so this is where identity comes from.
      {
        name: TCP_ECHO,
        protocol: 'tcp',
        endpoints: [{ address: '127.0.0.1', port: server.port('inbound-tcp'), labels: { app: 'reviews', version: 'v2' }, workload: { name: 'reviews-v2', namespace: 'default' } }],
      },
    ],
    ...(opts.clientTelemetry !== undefined ? { telemetry: opts.clientTelemetry } : {}),
  };
  const client = await startTelemetryProxy(clientSnap, opts.client);

  return {
    client,
    server,
    app,
    busy,
    clientSnapshot: clientSnap,
    serverSnapshot: serverSnap,
    close: async () => {
      busy.release();
      await client.close();
      await server.close();
      await Promise.all([app.close(), busy.close(), echo.close()]);
    },
  };
}
