/**
 * Authorization as Envoy's RBAC filters decide it with Istio's policies, on request and
 * connection descriptions: the order of actions, every source, operation and condition field,
 * Istio's value matching, the TCP rules that drop HTTP-only fields, AUDIT and dry-run marks, and
 * the deciding rule named as the access log names it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { authzConnectionFilter, authzHttpFilter, connectionAttributes, requestAttributes } from '../../../src/proxy/filters/authz/authz-filters.js';
import { AuthzEngine } from '../../../src/proxy/filters/authz/engine.js';
import type { LocalReply, RequestAuthFacts } from '../../../src/proxy/filters/http-filter.js';
import type { ConnectionStop } from '../../../src/proxy/filters/connection-filter.js';
import { CONTINUE } from '../../../src/proxy/filters/verdict.js';
import { checkSnapshot } from '../../../src/proxy/snapshot.js';
import type { AuthzPolicyConfig, AuthzRule } from '../../../src/snapshot/index.js';
import { connection, filterRequest, type FilterRequestInit } from './helpers.js';

const policy = (name: string, action: AuthzPolicyConfig['action'], rules?: AuthzRule[], extra: Partial<AuthzPolicyConfig> = {}): AuthzPolicyConfig => ({
  name,
  namespace: 'foo',
  action,
  ...(rules === undefined ? {} : { rules }),
  ...extra,
});

/** The verdict of an HTTP request: 'allow', or the denial's details. */
function http(policies: AuthzPolicyConfig[], init: FilterRequestInit & { auth?: RequestAuthFacts } = {}, port: number | null = null): string {
  const lines: string[] = [];
  const f = authzHttpFilter(new AuthzEngine({ policies }, 'http'), port, (l) => lines.push(l));
  const { auth, ...rest } = init;
  const req = filterRequest(rest);
  if (auth !== undefined) req.facts = { requestAuth: auth };
  const v = f.decide(req);
  if (v === CONTINUE) return 'allow';
  const reply = v as LocalReply;
  assert.equal(reply.status, 403);
  assert.equal(reply.body, 'RBAC: access denied');
  return reply.details;
}

/** The verdict of a TCP connection to `port`: 'allow', or the close's details. */
function tcp(policies: AuthzPolicyConfig[], port: number, peer: string | null = null): string {
  const f = authzConnectionFilter(new AuthzEngine({ policies }, 'tcp'), null, () => undefined);
  const v = f.decide(connection({ destinationPort: port, peerIdentity: peer }));
  if (v === CONTINUE) return 'allow';
  const stop = v as ConnectionStop;
  assert.equal(stop.kind, 'close');
  return stop.details;
}

const denied = (ns: string, name: string, rule: number): string => `rbac_access_denied_matched_policy[ns[${ns}]-policy[${name}]-rule[${rule}]]`;
const NONE = 'rbac_access_denied_matched_policy[none]';
const CURL = 'spiffe://cluster.local/ns/foo/sa/curl';

describe('actions and their order', () => {
  test('no policy allows; an ALLOW policy without rules (spec: {}) denies everything, naming no rule', () => {
    assert.equal(http([]), 'allow');
    assert.equal(http([policy('allow-nothing', 'ALLOW')]), NONE);
  });

  test('ALLOW with rules: [{}] allows everything', () => {
    assert.equal(http([policy('allow-nothing', 'ALLOW'), policy('allow-all', 'ALLOW', [{}])]), 'allow');
  });

  test('DENY overrides ALLOW, and names the policy and rule that denied', () => {
    const policies = [
      policy('allow-ip', 'ALLOW', [{ to: [{ operation: { paths: ['/ip'] } }] }]),
      policy('deny-guest', 'DENY', [{ to: [{ operation: { methods: ['POST'] } }] }, { when: [{ key: 'request.headers[x-token]', notValues: ['admin'] }] }]),
    ];
    assert.equal(http(policies, { path: '/ip', headers: { 'x-token': 'admin' } }), 'allow');
    assert.equal(http(policies, { path: '/ip', headers: { 'x-token': 'guest' } }), denied('foo', 'deny-guest', 1));
    assert.equal(http(policies, { path: '/ip' }), denied('foo', 'deny-guest', 1), 'an absent header is not admin');
    assert.equal(http(policies, { path: '/get', headers: { 'x-token': 'admin' } }), NONE);
  });

  test('AUDIT changes no verdict and marks the request; CUSTOM is not decided here', () => {
    const req = filterRequest({ path: '/data' });
    const f = authzHttpFilter(new AuthzEngine({ policies: [policy('audit-data', 'AUDIT', [{ to: [{ operation: { paths: ['/data*'] } }] }])] }, 'http'), null, () => undefined);
    assert.equal(f.decide(req), CONTINUE);
    assert.deepEqual(req.facts?.authz, { audit: 'ns[foo]-policy[audit-data]-rule[0]' });
    const other = filterRequest({ path: '/other' });
    assert.equal(f.decide(other), CONTINUE);
    assert.equal(other.facts, null, 'nothing allocated for a request no policy marks');
  });

  test('dry-run: evaluated and logged as Envoy does, never enforced', () => {
    const lines: string[] = [];
    const engine = new AuthzEngine({ policies: [policy('deny-path-headers', 'DENY', [{ to: [{ operation: { paths: ['/headers'] } }] }], { dryRun: true })] }, 'http');
    const f = authzHttpFilter(engine, null, (l) => lines.push(l));
    const req = filterRequest({ path: '/headers' });
    assert.equal(f.decide(req), CONTINUE);
    assert.deepEqual(lines, ['rbac shadow denied, matched policy ns[foo]-policy[deny-path-headers]-rule[0]']);
    assert.deepEqual(req.facts?.authz?.dryRun, { result: 'denied', action: 'DENY', matched: 'ns[foo]-policy[deny-path-headers]-rule[0]' });
    const ip = filterRequest({ path: '/ip' });
    assert.equal(f.decide(ip), CONTINUE);
    assert.equal(ip.facts?.authz?.dryRun?.result, 'allowed');
  });
});

describe('sources', () => {
  test('principals and namespaces read the peer identity without spiffe://; none without a verified peer', () => {
    const p = [policy('viewer', 'ALLOW', [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/bookinfo-productpage'] } }] }])];
    assert.equal(http(p, { connection: { peerIdentity: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage' } }), 'allow');
    assert.equal(http(p, { connection: { peerIdentity: CURL } }), NONE);
    assert.equal(http(p), NONE, 'plaintext: no principal');
    const ns = [policy('ns', 'ALLOW', [{ from: [{ source: { namespaces: ['fo*'] } }] }])];
    assert.equal(http(ns, { connection: { peerIdentity: CURL } }), 'allow');
    assert.equal(http(ns, { connection: { peerIdentity: 'spiffe://cluster.local/ns/bar/sa/curl' } }), NONE);
  });

  test('notPrincipals ["*"] matches a plaintext peer; principals ["*"] only an authenticated one', () => {
    const deny = [policy('mtls-only', 'DENY', [{ from: [{ source: { notPrincipals: ['*'] } }] }])];
    assert.equal(http(deny), denied('foo', 'mtls-only', 0));
    assert.equal(http(deny, { connection: { peerIdentity: CURL } }), 'allow');
  });

  test('serviceAccounts and trustDomains match parts of the principal', () => {
    const sa = [policy('sa', 'ALLOW', [{ from: [{ source: { serviceAccounts: ['foo/curl'] } }] }])];
    assert.equal(http(sa, { connection: { peerIdentity: CURL } }), 'allow');
    assert.equal(http(sa, { connection: { peerIdentity: 'spiffe://cluster.local/ns/foo/sa/other' } }), NONE);
    const td = [policy('td', 'DENY', [{ from: [{ source: { notTrustDomains: ['cluster.local'] } }] }])];
    assert.equal(http(td, { connection: { peerIdentity: CURL } }), 'allow');
    assert.equal(http(td, { connection: { peerIdentity: 'spiffe://other.example/ns/foo/sa/curl' } }), denied('foo', 'td', 0));
  });

  test('ipBlocks and remoteIpBlocks take addresses and CIDRs, IPv4-mapped addresses included', () => {
    const p = [policy('ingress-policy', 'ALLOW', [{ from: [{ source: { ipBlocks: ['1.2.3.4', '5.6.7.0/24'] } }] }])];
    assert.equal(http(p), NONE, '127.0.0.1 is not listed');
    assert.equal(http(p, { connection: { remoteAddress: '5.6.7.8' } }), 'allow');
    assert.equal(http(p, { connection: { remoteAddress: '::ffff:1.2.3.4' } }), 'allow');
    const withClient = [policy('ingress-policy', 'ALLOW', [{ from: [{ source: { remoteIpBlocks: ['1.2.3.4', '5.6.7.0/24', '127.0.0.1'] } }] }])];
    assert.equal(http(withClient), 'allow');
    const deny = [policy('ingress-policy', 'DENY', [{ from: [{ source: { ipBlocks: ['127.0.0.1'] } }] }])];
    assert.equal(http(deny), denied('foo', 'ingress-policy', 0));
  });

  test('requestPrincipals read the verified JWT: absent without one', () => {
    const auth: RequestAuthFacts = { principal: 'testing@secure.istio.io/testing@secure.istio.io', audiences: ['a'], presenter: '', claims: { groups: ['group1', 'group2'], nested: { key: 'v' } } };
    const p = [policy('require-jwt', 'ALLOW', [{ from: [{ source: { requestPrincipals: ['testing@secure.istio.io/testing@secure.istio.io'] } }] }])];
    assert.equal(http(p, { auth }), 'allow');
    assert.equal(http(p), NONE);
    const j2 = [policy('frontend-ingress', 'DENY', [{ from: [{ source: { notRequestPrincipals: ['*'] } }] }])];
    assert.equal(http(j2), denied('foo', 'frontend-ingress', 0));
    assert.equal(http(j2, { auth }), 'allow');
  });
});

describe('operations', () => {
  test('paths: exact, prefix, suffix, presence and templates; the query is not part of the path', () => {
    const p = (paths: string[]): AuthzPolicyConfig[] => [policy('p', 'ALLOW', [{ to: [{ operation: { paths } }] }])];
    assert.equal(http(p(['/ip']), { path: '/ip?x=1' }), 'allow');
    assert.equal(http(p(['/ip']), { path: '/ipx' }), NONE);
    assert.equal(http(p(['/api/*']), { path: '/api/v1' }), 'allow');
    assert.equal(http(p(['*/status']), { path: '/x/status' }), 'allow');
    assert.equal(http(p(['*']), { path: '/' }), 'allow');
    assert.equal(http(p(['/books/{*}/reviews']), { path: '/books/7/reviews' }), 'allow');
    assert.equal(http(p(['/books/{*}/reviews']), { path: '/books/7/8/reviews' }), NONE);
    assert.equal(http(p(['/books/{**}']), { path: '/books/7/8' }), 'allow');
  });

  test('methods, hosts (any case, with or without the port) and ports', () => {
    const p = [policy('p', 'ALLOW', [{ to: [{ operation: { methods: ['GET'], hosts: ['*.example.com'], ports: ['8000'] } }] }])];
    assert.equal(http(p, { method: 'GET', authority: 'API.example.com:8000', port: 8000 }), 'allow');
    assert.equal(http(p, { method: 'POST', authority: 'api.example.com', port: 8000 }), NONE);
    assert.equal(http(p, { method: 'GET', authority: 'api.example.com', port: 9000 }), NONE);
    // A sidecar's inbound listener names the container port its mesh port stands for.
    assert.equal(http(p, { method: 'GET', authority: 'api.example.com', port: 15006 }, 8000), 'allow');
  });
});

describe('conditions', () => {
  const auth: RequestAuthFacts = { principal: 'iss/sub', audiences: ['app', 'web'], presenter: 'client', claims: { groups: ['group1'], realm: { roles: ['admin'] }, scope: 'read' } };
  const when = (key: string, values: string[], notValues?: string[]): AuthzPolicyConfig[] => [
    policy('w', 'ALLOW', [{ when: [{ key, values, ...(notValues === undefined ? {} : { notValues }) }] }]),
  ];
  test('JWT claims, nested claims, audiences and presenter', () => {
    assert.equal(http(when('request.auth.claims[groups]', ['group1']), { auth }), 'allow');
    assert.equal(http(when('request.auth.claims[groups]', ['group2']), { auth }), NONE);
    assert.equal(http(when('request.auth.claims[realm][roles]', ['admin']), { auth }), 'allow');
    assert.equal(http(when('request.auth.claims[scope]', ['read']), { auth }), 'allow');
    assert.equal(http(when('request.auth.audiences', ['web']), { auth }), 'allow');
    assert.equal(http(when('request.auth.presenter', ['client']), { auth }), 'allow');
    assert.equal(http(when('request.auth.principal', ['iss/*']), { auth }), 'allow');
    assert.equal(http(when('request.auth.claims[groups]', ['group1'])), NONE, 'no token');
  });

  test('addresses, ports, peers and SNI', () => {
    assert.equal(http(when('source.ip', ['127.0.0.0/8'])), 'allow');
    assert.equal(http(when('remote.ip', ['10.0.0.0/8'])), NONE);
    assert.equal(http(when('destination.ip', ['127.0.0.1'])), 'allow');
    assert.equal(http(when('destination.port', ['8080']), { port: 8080 }), 'allow');
    assert.equal(http(when('source.namespace', ['foo']), { connection: { peerIdentity: CURL } }), 'allow');
    assert.equal(http(when('source.principal', ['cluster.local/ns/foo/sa/curl']), { connection: { peerIdentity: CURL } }), 'allow');
    assert.equal(http(when('source.trustDomain', ['cluster.local']), { connection: { peerIdentity: CURL } }), 'allow');
    assert.equal(http(when('connection.sni', ['*.local']), { connection: { sni: 'outbound_.80_._.a.local' } }), 'allow');
    assert.equal(http(when('request.headers[User-Agent]', ['curl/*'], ['curl/7*']), { headers: { 'user-agent': 'curl/8.5' } }), 'allow');
    assert.equal(http(when('request.headers[User-Agent]', ['curl/*'], ['curl/7*']), { headers: { 'user-agent': 'curl/7.8' } }), NONE);
  });

  test('a key the proxy cannot evaluate refuses the snapshot, naming the field', () => {
    assert.throws(
      () => checkSnapshot({ version: '1', node: { id: 'n', kind: 'sidecar' }, listeners: [], routes: [], clusters: [], authorization: { policies: [policy('x', 'ALLOW', [{ when: [{ key: 'experimental.envoy.filters.a[b]', values: ['c'] }] }])] } }),
      /authorization\.policies\[0\]\.rules\[0\]\.when\[0\]\.key: condition key "experimental\.envoy\.filters\.a\[b\]" is not supported/,
    );
    assert.throws(
      () => checkSnapshot({ version: '1', node: { id: 'n', kind: 'sidecar' }, listeners: [], routes: [], clusters: [], authorization: { policies: [policy('x', 'ALLOW', [{ from: [{ source: { ipBlocks: ['10.0.0.0/40'] } }] }])] } }),
      /authorization\.policies\[0\]\.rules\[0\]\.from\[0\]\.source\.ipBlocks\[0\]: bad prefix length/,
    );
  });
});

describe('TCP: HTTP-only fields dropped as Istio drops them', () => {
  test('ALLOW by port', () => {
    const p = [policy('tcp-policy', 'ALLOW', [{ to: [{ operation: { ports: ['9000', '9001'] } }] }])];
    assert.equal(tcp(p, 9000), 'allow');
    assert.equal(tcp(p, 9001), 'allow');
    assert.equal(tcp(p, 9002), NONE);
  });

  test('an ALLOW rule with an HTTP-only field matches nothing', () => {
    const p = [policy('tcp-policy', 'ALLOW', [{ to: [{ operation: { methods: ['GET'], ports: ['9000'] } }] }])];
    assert.equal(tcp(p, 9000), NONE);
    assert.equal(tcp(p, 9001), NONE);
  });

  test('a DENY rule loses the HTTP-only field and matches every connection', () => {
    const p = [policy('tcp-policy', 'DENY', [{ to: [{ operation: { methods: ['GET'] } }] }])];
    assert.equal(tcp(p, 9000), denied('foo', 'tcp-policy', 0));
    assert.equal(tcp(p, 9001), denied('foo', 'tcp-policy', 0));
  });

  test('DENY with method and port denies the port only', () => {
    const p = [policy('tcp-policy', 'DENY', [{ to: [{ operation: { methods: ['GET'], ports: ['9000'] } }] }])];
    assert.equal(tcp(p, 9000), denied('foo', 'tcp-policy', 0));
    assert.equal(tcp(p, 9001), 'allow');
  });

  test('request.* conditions and request principals are HTTP-only too', () => {
    const allow = [policy('a', 'ALLOW', [{ from: [{ source: { requestPrincipals: ['*'] } }] }, { when: [{ key: 'request.headers[x]', values: ['y'] }] }])];
    assert.equal(tcp(allow, 9000), NONE);
    const deny = [policy('d', 'DENY', [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/curl'], requestPrincipals: ['*'] } }] }])];
    assert.equal(tcp(deny, 9000, CURL), denied('foo', 'd', 0));
    assert.equal(tcp(deny, 9000), 'allow', 'the principal part still decides');
  });

  test('a TCP connection is described by its peer, addresses and destination port', () => {
    const a = connectionAttributes(connection({ destinationPort: 9000, peerIdentity: CURL, remoteAddress: '10.1.2.3' }), null);
    assert.deepEqual([a.protocol, a.port, a.principal, a.sourceIp], ['tcp', 9000, 'cluster.local/ns/foo/sa/curl', '10.1.2.3']);
    const r = requestAttributes(filterRequest({ path: '/a?b' }), 8000);
    assert.deepEqual([r.protocol, r.path, r.port], ['http', '/a', 8000]);
  });
});
