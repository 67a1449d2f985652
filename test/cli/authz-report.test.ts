/**
 * `skiff authz check` and `skiff authz explain` on a proxy's snapshot: the policies and rules
 * listed, and requests decided by the proxy's own engine with the deciding policy and rule named,
 * as the access log names it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkReport, explainRequest, type RequestDescription } from '../../src/cli/authz-report.js';
import type { ProxySnapshot } from '../../src/snapshot/index.js';

const snap: ProxySnapshot = {
  version: '1',
  node: { id: 'httpbin.foo', kind: 'sidecar' },
  listeners: [{ name: 'inbound_8080', address: '127.0.0.1', port: 15123, direction: 'inbound', protocol: 'http', http: { routeConfig: 'r' }, policyPort: 8080 }],
  routes: [{ name: 'r', virtualHosts: [] }],
  clusters: [],
  authorization: {
    policies: [
      { name: 'deny-method-get', namespace: 'foo', action: 'DENY', rules: [{ to: [{ operation: { methods: ['GET'] } }], when: [{ key: 'request.headers[x-token]', notValues: ['admin'] }] }] },
      { name: 'allow-ip', namespace: 'foo', action: 'ALLOW', rules: [{ to: [{ operation: { paths: ['/ip'] } }] }] },
      { name: 'deny-path-headers', namespace: 'foo', action: 'DENY', dryRun: true, rules: [{ to: [{ operation: { paths: ['/headers'] } }] }] },
    ],
  },
};

const req = (d: Partial<RequestDescription>): RequestDescription => ({
  tcp: false,
  method: 'GET',
  path: '/',
  host: 'httpbin',
  headers: {},
  port: null,
  sourceIp: '127.0.0.1',
  principal: null,
  requestPrincipal: null,
  claims: {},
  ...d,
});

test('check lists each policy, its action and rules', () => {
  const out = checkReport(snap);
  assert.match(out, /^ACTION\s+AuthorizationPolicy\s+RULES\nDENY\s+deny-method-get\.foo\s+1\nALLOW\s+allow-ip\.foo\s+1\nDENY \(dry-run\)\s+deny-path-headers\.foo\s+1\n/);
  assert.match(out, /rule\[0\]: to: \[methods=GET\]; when: request\.headers\[x-token\] not in admin/);
  assert.equal(checkReport({ ...snap, authorization: undefined }), 'No AuthorizationPolicy applies: every request is allowed.\n');
});

test('explain names the rule that denies, the ALLOW that admits, and none', () => {
  const guest = explainRequest(snap, req({ path: '/ip', headers: { 'X-Token': 'guest' } }));
  assert.equal(guest.decision, 'DENY');
  assert.equal(guest.reason, 'denied by ns[foo]-policy[deny-method-get]-rule[0]');
  const admin = explainRequest(snap, req({ path: '/ip', headers: { 'x-token': 'admin' } }));
  assert.deepEqual([admin.decision, admin.reason], ['ALLOW', 'allowed by ns[foo]-policy[allow-ip]-rule[0]']);
  const other = explainRequest(snap, req({ path: '/get', headers: { 'x-token': 'admin' } }));
  assert.equal(other.decision, 'DENY');
  assert.match(other.reason, /rbac_access_denied_matched_policy\[none\]/);
  assert.deepEqual(other.trace, ['DENY foo/deny-method-get: no rule matches', 'ALLOW foo/allow-ip: no rule matches', 'DENY (dry-run) foo/deny-path-headers: no rule matches']);
  const dry = explainRequest(snap, req({ method: 'POST', path: '/headers' }));
  assert.match(dry.reason, /dry-run policies would have denied it \(ns\[foo\]-policy\[deny-path-headers\]-rule\[0\]\)/);
});

test('explain a TCP connection: HTTP-only fields dropped as the proxy drops them', () => {
  const tcp = explainRequest(snap, req({ tcp: true }));
  // DENY rules lose their method, path and header conditions for TCP and match every connection.
  assert.deepEqual([tcp.decision, tcp.reason], ['DENY', 'denied by ns[foo]-policy[deny-method-get]-rule[0]; dry-run policies would have denied it (ns[foo]-policy[deny-path-headers]-rule[0])']);
});
