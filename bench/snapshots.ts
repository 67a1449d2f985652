/**
 * The Skiff proxy snapshots the benchmark runs: a Bookinfo sidecar (productpage's, calling
 * reviews) and a Bookinfo ingress gateway, with the features such a proxy has on — several
 * virtual hosts, header-match routes ahead of the one hit, Istio's default retry policy,
 * LEAST_REQUEST over two endpoints with outlier detection and connection-pool limits.
 */
import { generateKeyPairSync } from 'node:crypto';
import { ISTIO_DEFAULT_RETRY_POLICY } from '../src/snapshot/index.js';
import type { Route, RouteConfig, VirtualHost, ListenerConfig, ProxySnapshot, ClusterConfigInput, EndpointConfig, LocalRateLimit } from '../src/snapshot/index.js';
import { checkSnapshot } from '../src/proxy/snapshot.js';
import type { Endpoint } from './peers.js';

/** Host header of requests to the sidecar's outbound listener (and to every non-gateway row). */
export const SIDECAR_HOST = 'reviews:9080';
/** Host header of requests to the gateway. */
export const GATEWAY_HOST = 'bookinfo.example.com';
/** Path of every request; the gateway's Bookinfo route matches it by its last URI prefix. */
export const REQUEST_PATH = '/api/v1/products/0';

const NS = 'default';
const PORT = 9080;
const SERVICES = ['details', 'productpage', 'ratings', 'reviews'] as const;

function fqdn(svc: string): string {
  return `${svc}.${NS}.svc.cluster.local`;
}

function outboundCluster(svc: string, subset = ''): string {
  return `outbound|${PORT}|${subset}|${fqdn(svc)}`;
}

/** The names Istio gives a service's outbound virtual host: short and long forms, with and without port. */
function serviceDomains(svc: string): string[] {
  const names = [fqdn(svc), `${svc}.${NS}.svc`, `${svc}.${NS}`, svc];
  return names.flatMap((n) => [n, `${n}:${PORT}`]);
}

function forward(name: string, cluster: string, match: Route['match'] = []): Route {
  return { name, match, action: { type: 'route', destinations: [{ cluster, weight: 100 }], retry: { ...ISTIO_DEFAULT_RETRY_POLICY } } };
}

/** Outbound routes for port 9080: Bookinfo's VirtualServices, the hit route last in its host. */
export function sidecarOutboundRoutes(): RouteConfig {
  const vhost = (svc: string, routes: Route[]): VirtualHost => ({ name: `${fqdn(svc)}:${PORT}`, domains: serviceDomains(svc), routes });
  return {
    name: String(PORT),
    virtualHosts: [
      vhost('details', [forward('details-v1', outboundCluster('details', 'v1'))]),
      vhost('productpage', [forward('productpage-v1', outboundCluster('productpage', 'v1'))]),
      vhost('ratings', [
        {
          ...forward('ratings-jason-delay', outboundCluster('ratings', 'v1'), [{ headers: { 'end-user': { exact: 'jason' } } }]),
          fault: { delay: { fixedDelayMs: 7000, percent: 100 } },
        },
        forward('ratings-v1', outboundCluster('ratings', 'v1')),
      ]),
      vhost('reviews', [
        forward('reviews-jason-v2', outboundCluster('reviews', 'v2'), [{ headers: { 'end-user': { exact: 'jason' } } }]),
        forward('reviews-canary-v3', outboundCluster('reviews', 'v3'), [
          { headers: { cookie: { regex: '^(.*?;\\s*)?(user=canary)(;.*)?$' } } },
          { queryParams: { canary: { exact: 'true' } } },
        ]),
        forward('reviews-v1', outboundCluster('reviews', 'v1')),
      ]),
    ],
  };
}

/** A DestinationRule-like cluster: LEAST_REQUEST, outlier detection, connection-pool limits. */
function cluster(name: string, svc: string, subset: string, endpoints: readonly Endpoint[]): ClusterConfigInput {
  const eps: EndpointConfig[] = endpoints.map((e, i) => ({
    address: e.address,
    port: e.port,
    labels: { app: svc, version: subset === '' ? 'v1' : subset },
    serviceAccount: `spiffe://cluster.local/ns/${NS}/sa/bookinfo-${svc}`,
    workload: { name: `${svc}-${subset === '' ? 'v1' : subset}-${i}`, namespace: NS },
  }));
  return {
    name,
    endpoints: eps,
    lb: { policy: 'LEAST_REQUEST' },
    connectionPool: { maxConnections: 1024, http1MaxPendingRequests: 1024, http2MaxRequests: 1024 },
    outlierDetection: { consecutive5xxErrors: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 100 },
    metadata: { serviceHost: fqdn(svc), serviceName: svc, serviceNamespace: NS, ...(subset === '' ? {} : { subset }) },
  };
}

function outboundClusters(endpoints: readonly Endpoint[]): ClusterConfigInput[] {
  return SERVICES.flatMap((svc) => ['', 'v1', 'v2', 'v3'].map((subset) => cluster(outboundCluster(svc, subset), svc, subset, endpoints)));
}

export interface SidecarPlan {
  id: string;
  /** Where the outbound clusters send requests: the backend, or the server sidecar's inbound listeners. */
  outboundEndpoints: readonly Endpoint[];
  /** The application behind the inbound listener. */
  app: Endpoint;
  /** One inbound listener per address (port chosen by the proxy). */
  inboundAddresses: readonly string[];
}

/**
 * A sidecar of productpage: an outbound listener with the Bookinfo routes and inbound listeners
 * as Istio configures them (one catch-all route to the local app, no retries).
 */
export function sidecarSnapshot(plan: SidecarPlan): ProxySnapshot {
  const listeners: ListenerConfig[] = [
    { name: `0.0.0.0_${PORT}`, address: '127.0.0.1', port: 0, direction: 'outbound', protocol: 'http', http: { routeConfig: String(PORT) } },
    ...plan.inboundAddresses.map(
      (address, i): ListenerConfig => ({
        name: `inbound_${PORT}${i === 0 ? '' : `_${i}`}`,
        address,
        port: 0,
        direction: 'inbound',
        protocol: 'http',
        http: { routeConfig: `inbound|${PORT}||` },
      }),
    ),
  ];
  const inbound: RouteConfig = {
    name: `inbound|${PORT}||`,
    virtualHosts: [{ name: `inbound|http|${PORT}`, domains: ['*'], routes: [{ name: 'default', match: [], action: { type: 'route', destinations: [{ cluster: `inbound|${PORT}||`, weight: 1 }] } }] }],
  };
  return {
    version: `bench-${plan.id}`,
    node: {
      id: `sidecar~127.0.0.1~${plan.id}.${NS}~${NS}.svc.cluster.local`,
      kind: 'sidecar',
      workload: { name: 'productpage-v1', namespace: NS, labels: { app: 'productpage', version: 'v1' }, serviceAccount: 'bookinfo-productpage' },
    },
    listeners,
    routes: [sidecarOutboundRoutes(), inbound],
    clusters: [...outboundClusters(plan.outboundEndpoints), { name: `inbound|${PORT}||`, endpoints: [{ address: plan.app.address, port: plan.app.port }] }],
  };
}

/**
 * The productpage sidecar with one ALLOW AuthorizationPolicy (GET under /api/*, as productpage's
 * viewer policy admits) and one RequestAuthentication (an issuer with an inline key set) in force
 * on its inbound listener: the requests carry no token, as most do, and are allowed by the rule.
 */
export function sidecarAuthzSnapshot(plan: SidecarPlan): ProxySnapshot {
  const base = sidecarSnapshot(plan);
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256', use: 'sig' };
  return {
    ...base,
    version: `${base.version}-authz`,
    listeners: base.listeners.map((l) => (l.direction === 'inbound' ? { ...l, policyPort: PORT } : l)),
    authorization: {
      policies: [{ name: 'productpage-viewer', namespace: NS, action: 'ALLOW', rules: [{ to: [{ operation: { methods: ['GET'], paths: ['/api/*'] } }] }] }],
    },
    requestAuthentication: { rules: [{ policy: `${NS}/productpage-jwt`, issuer: 'testing@secure.istio.io', jwks: JSON.stringify({ keys: [jwk] }) }] },
  };
}

/** An ingress gateway: Bookinfo's and httpbin's Gateway + VirtualService, routed by Host. */
/**
 * The local rate limit of the `skiff-gateway-ratelimit` row: Envoy's local_ratelimit on the
 * gateway listener, always enabled and enforced, with a bucket too large for any run to empty, so
 * every request pays the filter's work (a bucket lookup and a token taken) and none is limited.
 */
export const BENCH_LOCAL_RATE_LIMIT: LocalRateLimit = {
  statPrefix: 'http_local_rate_limiter',
  tokenBucket: { maxTokens: 2 ** 32 - 1, tokensPerFill: 2 ** 32 - 1, fillIntervalMs: 1000 },
  enabledPercent: 100,
  enforcedPercent: 100,
  responseHeaders: [{ name: 'x-local-rate-limit', value: 'true', append: false }],
};

export function gatewaySnapshot(endpoints: readonly Endpoint[], opts: { localRateLimit?: LocalRateLimit } = {}): ProxySnapshot {
  const productpage = outboundCluster('productpage');
  const routes: RouteConfig = {
    name: 'http.8080',
    virtualHosts: [
      { name: 'httpbin.example.com:80', domains: ['httpbin.example.com', 'httpbin.example.com:80'], routes: [forward('httpbin', 'outbound|8000||httpbin.default.svc.cluster.local', [{ uri: { prefix: '/status' } }, { uri: { prefix: '/delay' } }])] },
      {
        name: `${GATEWAY_HOST}:80`,
        domains: [GATEWAY_HOST, `${GATEWAY_HOST}:80`],
        routes: [
          forward('productpage-jason', outboundCluster('productpage', 'v1'), [{ headers: { 'end-user': { exact: 'jason' } }, uri: { prefix: '/productpage' } }]),
          forward('bookinfo', productpage, [
            { uri: { exact: '/productpage' } },
            { uri: { prefix: '/static' } },
            { uri: { exact: '/login' } },
            { uri: { exact: '/logout' } },
            { uri: { prefix: '/api/v1/products' } },
          ]),
        ],
      },
    ],
  };
  return {
    version: 'bench-gateway',
    node: { id: `router~127.0.0.1~istio-ingressgateway.istio-system~istio-system.svc.cluster.local`, kind: 'gateway' },
    listeners: [
      {
        name: '0.0.0.0_8080',
        address: '127.0.0.1',
        port: 0,
        direction: 'gateway',
        protocol: 'http',
        http: { routeConfig: 'http.8080', ...(opts.localRateLimit !== undefined ? { rateLimits: [{ type: 'local' as const, local: opts.localRateLimit }] } : {}) },
      },
    ],
    routes: [routes],
    clusters: [...outboundClusters(endpoints), cluster('outbound|8000||httpbin.default.svc.cluster.local', 'httpbin', '', endpoints)],
  };
}

/** Validates with the proxy's own checker, so a mistake here fails before any process starts. */
export function checked(snapshot: ProxySnapshot): ProxySnapshot {
  checkSnapshot(snapshot);
  return snapshot;
}
