/**
 * Route configurations used by the router tests, written as the control plane would emit them
 * from Istio VirtualServices (plain JSON data; each test compiles them through JSON).
 */
import type { RouteConfig } from '../../../src/snapshot/index.js';

const V1 = 'outbound|9080|v1|reviews.default.svc.cluster.local';
const V2 = 'outbound|9080|v2|reviews.default.svc.cluster.local';
const V3 = 'outbound|9080|v3|reviews.default.svc.cluster.local';
export const CLUSTERS = { V1, V2, V3 };

/** samples/bookinfo/networking/virtual-service-reviews-test-v2.yaml on the sidecar's port 9080 route. */
export const reviewsTestV2: RouteConfig = {
  name: '9080',
  virtualHosts: [
    {
      name: 'reviews.default.svc.cluster.local:9080',
      domains: ['reviews.default.svc.cluster.local', 'reviews', 'reviews.default', 'reviews.default.svc', '10.96.0.12'],
      routes: [
        {
          name: 'reviews-jason',
          match: [{ headers: { 'end-user': { exact: 'jason' } } }],
          action: { type: 'route', destinations: [{ cluster: V2, weight: 100 }] },
        },
        { name: 'reviews-default', match: [], action: { type: 'route', destinations: [{ cluster: V1, weight: 100 }] } },
      ],
    },
    {
      name: 'ratings.default.svc.cluster.local:9080',
      domains: ['ratings.default.svc.cluster.local', 'ratings'],
      routes: [{ name: 'ratings', match: [], action: { type: 'route', destinations: [{ cluster: 'outbound|9080||ratings.default.svc.cluster.local', weight: 0 }] } }],
    },
  ],
};

/** Virtual hosts covering every kind of domain Envoy distinguishes. */
export const domains: RouteConfig = {
  name: 'domains',
  virtualHosts: [
    { name: 'exact', domains: ['shop.example.com'], routes: [{ name: 'exact', match: [], action: { type: 'direct', status: 200 } }] },
    { name: 'with-port', domains: ['shop.example.com:8443'], routes: [{ name: 'with-port', match: [], action: { type: 'direct', status: 200 } }] },
    { name: 'suffix', domains: ['*.example.com'], routes: [{ name: 'suffix', match: [], action: { type: 'direct', status: 200 } }] },
    { name: 'longer-suffix', domains: ['*.api.example.com'], routes: [{ name: 'longer-suffix', match: [], action: { type: 'direct', status: 200 } }] },
    { name: 'dash-suffix', domains: ['*-internal.corp'], routes: [{ name: 'dash-suffix', match: [], action: { type: 'direct', status: 200 } }] },
    { name: 'prefix', domains: ['api.*'], routes: [{ name: 'prefix', match: [], action: { type: 'direct', status: 200 } }] },
    { name: 'ipv6', domains: ['[fd00::1]'], routes: [{ name: 'ipv6', match: [], action: { type: 'direct', status: 200 } }] },
    { name: 'default', domains: ['*'], routes: [{ name: 'default', match: [], action: { type: 'direct', status: 404 } }] },
  ],
};

/** Virtual hosts without a `*` fallback: unknown hosts get no route. */
export const noFallback: RouteConfig = {
  name: 'gateway-80',
  virtualHosts: [
    {
      name: 'httpbin.example.com:80',
      domains: ['httpbin.example.com'],
      routes: [
        { name: 'status', match: [{ uri: { prefix: '/status' } }, { uri: { prefix: '/delay' } }], action: { type: 'route', destinations: [{ cluster: 'outbound|8000||httpbin.default.svc.cluster.local', weight: 0 }] } },
      ],
    },
  ],
};

const direct = { type: 'direct', status: 200 } as const;

/** One route per match feature; order matters, the last is a catch-all. */
export const matches: RouteConfig = {
  name: 'matches',
  virtualHosts: [
    {
      name: 'vh',
      domains: ['*'],
      routes: [
        { name: 'uri-exact', match: [{ uri: { exact: '/exact' } }], action: direct },
        { name: 'uri-exact-nocase', match: [{ uri: { exact: '/NoCase' }, ignoreUriCase: true }], action: direct },
        { name: 'uri-prefix-nocase', match: [{ uri: { prefix: '/Upper' }, ignoreUriCase: true }], action: direct },
        { name: 'uri-regex', match: [{ uri: { regex: '/reviews/[0-9]+' } }], action: direct },
        { name: 'uri-prefix', match: [{ uri: { prefix: '/static' } }], action: direct },
        { name: 'header-exact', match: [{ headers: { 'end-user': { exact: 'jason' } } }], action: direct },
        { name: 'header-prefix', match: [{ headers: { 'x-tenant': { prefix: 'team-' } } }], action: direct },
        { name: 'header-regex', match: [{ headers: { 'x-version': { regex: 'v[0-9]+' } } }], action: direct },
        { name: 'header-present', match: [{ headers: { 'x-debug': {} } }], action: direct },
        { name: 'header-star', match: [{ headers: { 'x-trace': { regex: '*' } } }], action: direct },
        { name: 'header-present-explicit', match: [{ headers: { 'x-canary': { present: true } } }], action: direct },
        {
          name: 'and-block',
          match: [{ uri: { prefix: '/and' }, headers: { 'x-a': { exact: '1' }, 'x-b': { exact: '2' } } }],
          action: direct,
        },
        { name: 'or-blocks', match: [{ name: 'by-uri', uri: { prefix: '/or' } }, { name: 'by-header', headers: { 'x-or': { exact: 'yes' } } }], action: direct },
        { name: 'query-exact', match: [{ uri: { prefix: '/q' }, queryParams: { tab: { exact: 'reviews' } } }], action: direct },
        { name: 'query-empty', match: [{ uri: { prefix: '/q' }, queryParams: { flag: { exact: '' } } }], action: direct },
        { name: 'query-regex', match: [{ uri: { prefix: '/q' }, queryParams: { id: { regex: '[0-9]{3}' } } }], action: direct },
        { name: 'query-present', match: [{ uri: { prefix: '/q' }, queryParams: { debug: {} } }], action: direct },
        { name: 'without-header', match: [{ uri: { prefix: '/without' }, withoutHeaders: { 'x-user': { exact: 'jason' } } }], action: direct },
        { name: 'without-present', match: [{ uri: { prefix: '/absent' }, withoutHeaders: { 'x-skip': {} } }], action: direct },
        { name: 'method', match: [{ method: { exact: 'POST' }, uri: { prefix: '/m' } }], action: direct },
        { name: 'scheme', match: [{ scheme: { exact: 'https' }, uri: { prefix: '/s' } }], action: direct },
        { name: 'authority', match: [{ authority: { prefix: 'admin.' }, uri: { prefix: '/a' } }], action: direct },
        { name: 'port', match: [{ port: 8080, uri: { prefix: '/p' } }], action: direct },
        { name: 'source-labels', match: [{ sourceLabels: { app: 'productpage', version: 'v1' }, uri: { prefix: '/src' } }], action: direct },
        { name: 'source-namespace', match: [{ sourceNamespace: 'frontend', uri: { prefix: '/ns' } }], action: direct },
        { name: 'gateway', match: [{ gateways: ['istio-system/public'], uri: { prefix: '/gw' } }], action: direct },
        { name: 'mesh-only', match: [{ gateways: ['mesh'], uri: { prefix: '/gw' } }], action: direct },
        { name: 'claim', match: [{ headers: { '@request.auth.claims.groups': { exact: 'admin' } }, uri: { prefix: '/claims' } }], action: direct },
        { name: 'claim-nested', match: [{ headers: { '@request.auth.claims[org][team]': { prefix: 'plat' } }, uri: { prefix: '/claims' } }], action: direct },
        { name: 'ignored-keys', match: [{ headers: { uri: { exact: '/never' } }, uri: { prefix: '/ignored' } }], action: direct },
        { name: 'catch-all', match: [], action: direct },
      ],
    },
  ],
};
