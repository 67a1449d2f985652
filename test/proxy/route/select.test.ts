/**
 * Route selection: virtual host by Host, then the first route whose match block holds, with
 * Istio's match semantics for every HTTPMatchRequest field.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fixtures from './fixtures.js';
import { compile, oneHost, request, selectName, to, type RequestInit } from './helpers.js';

describe('virtual host selection by Host', () => {
  const table = compile(fixtures.domains);
  const cases: [string, string, string][] = [
    ['exact domain', 'shop.example.com', 'exact'],
    ['exact domain is case-insensitive', 'Shop.Example.COM', 'exact'],
    ['port ignored when the domain has none', 'shop.example.com:80', 'exact'],
    ['domain naming the port wins for that port', 'shop.example.com:8443', 'with-port'],
    ['suffix wildcard', 'www.example.com', 'suffix'],
    ['suffix wildcard with port in Host', 'www.example.com:8080', 'suffix'],
    ['longest suffix wildcard wins', 'v1.api.example.com', 'longer-suffix'],
    ['wildcard needs at least one character', 'example.com', 'default'],
    ['"*." does not match the bare suffix', '.example.com', 'default'],
    ['suffix wildcard without a dot', 'billing-internal.corp', 'dash-suffix'],
    ['suffix wildcard beats prefix wildcard', 'api.example.com', 'suffix'],
    ['prefix wildcard', 'api.internal', 'prefix'],
    ['prefix wildcard with port', 'api.internal:9000', 'prefix'],
    ['IPv6 literal with port', '[fd00::1]:8080', 'ipv6'],
    ['unknown host falls back to *', 'other.org', 'default'],
  ];
  for (const [what, host, want] of cases) {
    test(`${what}: ${host} → ${want}`, () => {
      assert.equal(selectName(table, { authority: host }), want);
    });
  }

  test('no virtual host and no * → null (404 NR)', () => {
    const t = compile(fixtures.noFallback);
    assert.equal(selectName(t, { authority: 'evil.example.com', path: '/status/200' }), null);
    assert.equal(selectName(t, { authority: 'httpbin.example.com', path: '/status/200' }), 'status');
    assert.equal(selectName(t, { authority: 'httpbin.example.com:80', path: '/delay/1' }), 'status');
    assert.equal(selectName(t, { authority: 'httpbin.example.com', path: '/headers' }), null, 'path not in the VS → no route');
  });

  test('virtualHostFor names the serving virtual host', () => {
    assert.equal(table.virtualHostFor('www.example.com:80'), 'suffix');
    assert.equal(compile(fixtures.noFallback).virtualHostFor('nope'), undefined);
  });
});

describe('bookinfo reviews-test-v2: header routing, first match wins', () => {
  const table = compile(fixtures.reviewsTestV2);
  const pick = (init: RequestInit): string | undefined => table.select(request(init))?.destinations[0]?.cluster;

  const cases: [string, RequestInit, string][] = [
    ['jason → v2', { headers: { 'end-user': 'jason' } }, fixtures.CLUSTERS.V2],
    ['Jason ≠ jason (exact, case-sensitive)', { headers: { 'end-user': 'Jason' } }, fixtures.CLUSTERS.V1],
    ['another user → v1', { headers: { 'end-user': 'alice' } }, fixtures.CLUSTERS.V1],
    ['not logged in → v1', {}, fixtures.CLUSTERS.V1],
    ['short name with port', { authority: 'reviews:9080', headers: { 'end-user': 'jason' } }, fixtures.CLUSTERS.V2],
    ['FQDN', { authority: 'reviews.default.svc.cluster.local:9080' }, fixtures.CLUSTERS.V1],
    ['service IP', { authority: '10.96.0.12:9080', headers: { 'end-user': 'jason' } }, fixtures.CLUSTERS.V2],
  ];
  for (const [what, init, want] of cases) {
    test(what, () => assert.equal(pick(init), want));
  }
  test('a host of another service gets its own virtual host', () => {
    assert.equal(pick({ authority: 'ratings:9080' }), 'outbound|9080||ratings.default.svc.cluster.local');
  });
  test('an unknown host has no route', () => {
    assert.equal(pick({ authority: 'details:9080' }), undefined);
  });
});

describe('match semantics', () => {
  const table = compile(fixtures.matches);
  const cases: [string, RequestInit, string][] = [
    // uri
    ['exact uri', { path: '/exact' }, 'uri-exact'],
    ['exact uri ignores the query string', { path: '/exact?a=1&b=2' }, 'uri-exact'],
    ['exact uri does not match a longer path', { path: '/exact/more' }, 'catch-all'],
    ['exact uri is case-sensitive', { path: '/EXACT' }, 'catch-all'],
    ['ignoreUriCase exact', { path: '/nocase' }, 'uri-exact-nocase'],
    ['ignoreUriCase prefix', { path: '/upper/x' }, 'uri-prefix-nocase'],
    ['regex uri is a full match', { path: '/reviews/42' }, 'uri-regex'],
    ['regex uri full match rejects extra segments', { path: '/reviews/42/x' }, 'catch-all'],
    ['regex uri ignores the query', { path: '/reviews/42?x=1' }, 'uri-regex'],
    ['prefix is a raw string prefix: /static', { path: '/static' }, 'uri-prefix'],
    ['prefix is a raw string prefix: /staticfoo', { path: '/staticfoo' }, 'uri-prefix'],
    ['prefix is a raw string prefix: /static/css/a.css', { path: '/static/css/a.css' }, 'uri-prefix'],
    ['prefix is case-sensitive', { path: '/Static' }, 'catch-all'],
    // headers
    ['header exact', { headers: { 'end-user': 'jason' } }, 'header-exact'],
    ['header exact: Jason ≠ jason', { headers: { 'end-user': 'Jason' } }, 'catch-all'],
    ['header exact: no substring match', { headers: { 'end-user': 'jason2' } }, 'catch-all'],
    ['header prefix', { headers: { 'x-tenant': 'team-a' } }, 'header-prefix'],
    ['header regex is a full match', { headers: { 'x-version': 'v12' } }, 'header-regex'],
    ['header regex full match rejects more', { headers: { 'x-version': 'v12-beta' } }, 'catch-all'],
    ['header {} = presence', { headers: { 'x-debug': '' } }, 'header-present'],
    ['header regex "*" = presence', { headers: { 'x-trace': 'anything' } }, 'header-star'],
    ['header present: true', { headers: { 'x-canary': '1' } }, 'header-present-explicit'],
    ['repeated header values are joined with ","', { headers: { 'x-version': ['v1', 'v2'] } }, 'catch-all'],
    // AND / OR
    ['AND within a block: all hold', { path: '/and', headers: { 'x-a': '1', 'x-b': '2' } }, 'and-block'],
    ['AND within a block: one missing', { path: '/and', headers: { 'x-a': '1' } }, 'catch-all'],
    ['OR across blocks: first', { path: '/or' }, 'or-blocks.by-uri'],
    ['OR across blocks: second', { path: '/elsewhere', headers: { 'x-or': 'yes' } }, 'or-blocks.by-header'],
    // query parameters
    ['query exact', { path: '/q?tab=reviews' }, 'query-exact'],
    ['query exact among others', { path: '/q?a=1&tab=reviews&b=2' }, 'query-exact'],
    ['query exact is not a prefix', { path: '/q?tab=reviewsx' }, 'catch-all'],
    ['query first occurrence counts', { path: '/q?tab=other&tab=reviews' }, 'catch-all'],
    ['query value is percent-decoded', { path: '/q?tab=rev%69ews' }, 'query-exact'],
    ['query exact "" matches ?key', { path: '/q?flag' }, 'query-empty'],
    ['query exact "" matches ?key=', { path: '/q?flag=' }, 'query-empty'],
    ['query exact "" does not match a value', { path: '/q?flag=1' }, 'catch-all'],
    ['query regex', { path: '/q?id=123' }, 'query-regex'],
    ['query regex full match', { path: '/q?id=1234' }, 'catch-all'],
    ['query present', { path: '/q?x=1&debug=true' }, 'query-present'],
    ['query name must match whole', { path: '/q?debugger=1' }, 'catch-all'],
    ['fragment is not part of the query', { path: '/q?x=1#debug' }, 'catch-all'],
    // withoutHeaders
    ['withoutHeaders: header absent → matches', { path: '/without' }, 'without-header'],
    ['withoutHeaders: other value → matches', { path: '/without', headers: { 'x-user': 'alice' } }, 'without-header'],
    ['withoutHeaders: value present → no match', { path: '/without', headers: { 'x-user': 'jason' } }, 'catch-all'],
    ['withoutHeaders presence: absent → matches', { path: '/absent' }, 'without-present'],
    ['withoutHeaders presence: present → no match', { path: '/absent', headers: { 'x-skip': '1' } }, 'catch-all'],
    // method, scheme, authority, port
    ['method', { path: '/m', method: 'POST' }, 'method'],
    ['method mismatch', { path: '/m', method: 'GET' }, 'catch-all'],
    ['scheme', { path: '/s', scheme: 'https' }, 'scheme'],
    ['scheme mismatch', { path: '/s' }, 'catch-all'],
    ['authority prefix sees the Host as sent', { path: '/a', authority: 'admin.example.com:8080' }, 'authority'],
    ['authority mismatch', { path: '/a', authority: 'www.example.com' }, 'catch-all'],
    ['port', { path: '/p', port: 8080 }, 'port'],
    ['port mismatch', { path: '/p', port: 9080 }, 'catch-all'],
    // source and gateways
    ['sourceLabels all present', { path: '/src', sourceLabels: { app: 'productpage', version: 'v1', extra: 'x' } }, 'source-labels'],
    ['sourceLabels one differs', { path: '/src', sourceLabels: { app: 'productpage', version: 'v2' } }, 'catch-all'],
    ['sourceLabels unknown caller', { path: '/src' }, 'catch-all'],
    ['sourceNamespace', { path: '/ns', sourceNamespace: 'frontend' }, 'source-namespace'],
    ['sourceNamespace mismatch', { path: '/ns', sourceNamespace: 'backend' }, 'catch-all'],
    ['gateways: the named gateway', { path: '/gw', gateway: 'istio-system/public' }, 'gateway'],
    ['gateways: no gateway = mesh', { path: '/gw' }, 'mesh-only'],
    ['gateways: another gateway', { path: '/gw', gateway: 'istio-system/private' }, 'catch-all'],
    // JWT claims
    ['claim string', { path: '/claims', jwtClaims: { groups: 'admin' } }, 'claim'],
    ['claim list contains', { path: '/claims', jwtClaims: { groups: ['dev', 'admin'] } }, 'claim'],
    ['claim nested', { path: '/claims', jwtClaims: { org: { team: 'platform' } } }, 'claim-nested'],
    ['claim missing', { path: '/claims', jwtClaims: { groups: ['dev'] } }, 'catch-all'],
    ['claims without a JWT', { path: '/claims' }, 'catch-all'],
    // ignored keys
    ['headers keys uri/scheme/method/authority are ignored', { path: '/ignored' }, 'ignored-keys'],
  ];
  for (const [what, init, want] of cases) {
    test(`${what} → ${want}`, () => assert.equal(selectName(table, init), want));
  }
});

describe('route order', () => {
  test('a catch-all placed first shadows later routes', () => {
    const t = compile(
      oneHost([
        { name: 'everything', match: [], action: to('v1') },
        { name: 'jason', match: [{ headers: { 'end-user': { exact: 'jason' } } }], action: to('v2') },
      ]),
    );
    assert.equal(selectName(t, { headers: { 'end-user': 'jason' } }), 'everything');
  });

  test('a specific route placed first takes precedence', () => {
    const t = compile(
      oneHost([
        { name: 'jason', match: [{ headers: { 'end-user': { exact: 'jason' } } }], action: to('v2') },
        { name: 'everything', match: [], action: to('v1') },
      ]),
    );
    assert.equal(selectName(t, { headers: { 'end-user': 'jason' } }), 'jason');
    assert.equal(selectName(t, {}), 'everything');
  });

  test('no route matching → null (404 NR)', () => {
    const t = compile(oneHost([{ name: 'api', match: [{ uri: { prefix: '/api' } }], action: to('api') }]));
    assert.equal(selectName(t, { path: '/web' }), null);
  });

  test('select returns the same compiled route object each time (no per-request allocation)', () => {
    const t = compile(oneHost([{ name: 'r', match: [{ uri: { prefix: '/' } }], action: to('c') }]));
    const a = t.select(request({ path: '/x' }));
    const b = t.select(request({ path: '/y' }));
    assert.ok(a !== null);
    assert.equal(a, b);
  });
});
