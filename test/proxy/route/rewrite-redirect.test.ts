/**
 * Path rewrites (prefix, exact, regex with captures) and redirect locations, checked against
 * the behaviour Envoy shows for the routes Istio generates.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RedirectAction, Rewrite, RouteMatch } from '../../../src/snapshot/index.js';
import { compile, oneHost, request, type RequestInit } from './helpers.js';

function rewritten(match: RouteMatch[], rewrite: Rewrite, path: string): string {
  const t = compile(oneHost([{ name: 'r', match, action: { type: 'route', destinations: [{ cluster: 'c', weight: 1 }], rewrite } }]));
  const sel = t.select(request({ path }));
  assert.ok(sel, `no route for ${path}`);
  return sel.rewritePath(path);
}

describe('rewrite.uri', () => {
  const cases: [string, RouteMatch[], Rewrite, string, string][] = [
    ['prefix match: replaces the matched prefix', [{ uri: { prefix: '/ratings' } }], { uri: '/v1/bookRatings' }, '/ratings/0', '/v1/bookRatings/0'],
    ['prefix match keeps the query', [{ uri: { prefix: '/ratings' } }], { uri: '/v1/bookRatings' }, '/ratings/0?x=1', '/v1/bookRatings/0?x=1'],
    ['prefix "/api/" to "/"', [{ uri: { prefix: '/api/' } }], { uri: '/' }, '/api/users', '/users'],
    ['raw prefix: /static matches /staticfoo', [{ uri: { prefix: '/static' } }], { uri: '/assets' }, '/staticfoo', '/assetsfoo'],
    ['ignoreUriCase prefix replaces the same length', [{ uri: { prefix: '/API' }, ignoreUriCase: true }], { uri: '/v1' }, '/api/x', '/v1/x'],
    ['exact match: replaces the whole path, query kept', [{ uri: { exact: '/login' } }], { uri: '/auth/login' }, '/login?next=/', '/auth/login?next=/'],
    ['regex match: replaces the whole path, query kept', [{ uri: { regex: '/old/.*' } }], { uri: '/new' }, '/old/a/b?c=1', '/new?c=1'],
    ['no uri match counts as prefix "/"', [{ method: { exact: 'GET' } }], { uri: '/v2' }, '/foo', '/v2foo'],
    ['route without match blocks counts as prefix "/"', [], { uri: '/v2/' }, '/foo', '/v2/foo'],
    ['OR blocks: first block prefix', [{ uri: { prefix: '/a' } }, { uri: { prefix: '/bbb' } }], { uri: '/z' }, '/a/x', '/z/x'],
    ['OR blocks: second block prefix', [{ uri: { prefix: '/a' } }, { uri: { prefix: '/bbb' } }], { uri: '/z' }, '/bbb/x', '/z/x'],
  ];
  for (const [what, match, rw, path, want] of cases) {
    test(`${what}: ${path} → ${want}`, () => assert.equal(rewritten(match, rw, path), want));
  }

  test('no rewrite returns the path unchanged', () => {
    const t = compile(oneHost([{ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: 'c', weight: 1 }] } }]));
    const sel = t.select(request({ path: '/a?b' }))!;
    assert.equal(sel.hasPathRewrite, false);
    assert.equal(sel.rewritePath('/a?b'), '/a?b');
  });
});

describe('rewrite.uriRegex (RE2, \\N captures)', () => {
  const cases: [string, Rewrite['uriRegex'], string, string][] = [
    ['captures reordered', { match: '^/service/([^/]+)(/.*)$', rewrite: '\\2/instance/\\1' }, '/service/foo/v1/api?q=1', '/v1/api/instance/foo?q=1'],
    ['every match replaced', { match: 'one', rewrite: 'two' }, '/xxx/one/yyy/one/zzz', '/xxx/two/yyy/two/zzz'],
    ['strip a prefix', { match: '/z2m(/|$)(.*)', rewrite: '/\\2' }, '/z2m/foo/bar', '/foo/bar'],
    ['strip a prefix, empty rest', { match: '/z2m(/|$)(.*)', rewrite: '/\\2' }, '/z2m', '/'],
    ['\\0 is the whole match', { match: '[0-9]+', rewrite: '<\\0>' }, '/a/12/b/3', '/a/<12>/b/<3>'],
    ['\\\\ is a literal backslash', { match: '/x', rewrite: '/y\\\\' }, '/x', '/y\\'],
    ['no match leaves the path alone', { match: '^/nomatch', rewrite: '/z' }, '/other?q', '/other?q'],
    ['the query is never rewritten', { match: 'a', rewrite: 'b' }, '/a?a=a', '/b?a=a'],
  ];
  for (const [what, uriRegex, path, want] of cases) {
    test(`${what}: ${path} → ${want}`, () => assert.equal(rewritten([], { uriRegex }, path), want));
  }
});

describe('redirect', () => {
  function location(action: Omit<RedirectAction, 'type'>, init: RequestInit): { code: number; location: string } {
    const t = compile(oneHost([{ name: 'r', match: [], action: { type: 'redirect', ...action } }]));
    const sel = t.select(request(init))!;
    assert.equal(sel.kind, 'redirect');
    const answer = sel.filters.answer;
    assert.equal(answer?.name, 'redirect');
    return { code: sel.redirectCode, location: answer.location(request(init)) };
  }
  const base: RequestInit = { scheme: 'http', authority: 'a.com', path: '/path?x=1', port: 80 };
  const cases: [string, Omit<RedirectAction, 'type'>, RequestInit, string][] = [
    ['uri replaces the path, query kept', { uri: '/new' }, base, 'http://a.com/new?x=1'],
    ['uri with its own query replaces the query', { uri: '/new?y=2' }, base, 'http://a.com/new?y=2'],
    ['no uri keeps the path', { authority: 'b.com' }, base, 'http://b.com/path?x=1'],
    ['authority replaces the Host (port included)', { authority: 'b.com' }, { ...base, authority: 'a.com:8080' }, 'http://b.com/path?x=1'],
    ['scheme https drops the old default port', { scheme: 'https' }, { ...base, authority: 'a.com:80' }, 'https://a.com/path?x=1'],
    ['scheme https keeps a non-default port', { scheme: 'https' }, { ...base, authority: 'a.com:8080' }, 'https://a.com:8080/path?x=1'],
    ['port replaces the Host port', { port: 8443 }, { ...base, authority: 'a.com:8080' }, 'http://a.com:8443/path?x=1'],
    ['port 443 with scheme https is implicit', { port: 443, scheme: 'https' }, base, 'https://a.com/path?x=1'],
    ['port 80 on http is implicit', { port: 80 }, base, 'http://a.com/path?x=1'],
    // Istio leaves out a port equal to the scheme's default, so Envoy then keeps the request's port.
    ['port 80 on http with a Host port keeps it (Istio + Envoy)', { port: 80 }, { ...base, authority: 'a.com:8080' }, 'http://a.com:8080/path?x=1'],
    ['derivePort FROM_REQUEST_PORT', { derivePort: 'FROM_REQUEST_PORT' }, { ...base, port: 9080 }, 'http://a.com:9080/path?x=1'],
    ['derivePort FROM_REQUEST_PORT, default port omitted', { derivePort: 'FROM_REQUEST_PORT', scheme: 'http' }, base, 'http://a.com/path?x=1'],
    ['derivePort FROM_PROTOCOL_DEFAULT', { derivePort: 'FROM_PROTOCOL_DEFAULT', scheme: 'https' }, { ...base, authority: 'a.com:80' }, 'https://a.com/path?x=1'],
    ['authority and port', { authority: 'b.com', port: 8443 }, base, 'http://b.com:8443/path?x=1'],
    ['IPv6 Host with port', { scheme: 'https' }, { ...base, authority: '[fd00::1]:80' }, 'https://[fd00::1]/path?x=1'],
  ];
  for (const [what, action, init, want] of cases) {
    test(what, () => assert.equal(location(action, init).location, want));
  }

  test('redirectCode defaults to 301 and is carried', () => {
    assert.equal(location({ uri: '/x' }, base).code, 301);
    for (const code of [302, 303, 307, 308]) assert.equal(location({ uri: '/x', redirectCode: code }, base).code, code);
  });

  test('a forwarding route carries no redirect answer', () => {
    const t = compile(oneHost([{ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: 'c', weight: 1 }] } }]));
    assert.equal(t.select(request())!.filters.answer, null);
  });
});

describe('direct response', () => {
  test('status and body', () => {
    const t = compile(oneHost([{ name: 'r', match: [], action: { type: 'direct', status: 503, body: 'maintenance' } }]));
    const sel = t.select(request())!;
    assert.equal(sel.kind, 'direct');
    assert.equal(sel.directStatus, 503);
    assert.equal(sel.directBody, 'maintenance');
  });
});
