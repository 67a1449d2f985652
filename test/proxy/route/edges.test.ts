/**
 * Route compilation and matching at their edges: every malformed shape a snapshot can carry is
 * refused with the field named (never a TypeError, never silently ignored), and the boundary
 * values of Host lookup, match blocks, JWT claims, rewrites and retry policies select and rewrite
 * as Envoy does for Istio's configuration.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRouteConfig } from '../../../src/proxy/http/route/compile.js';
import { CompiledRetryPolicy } from '../../../src/proxy/http/route/retry.js';
import { stripPort } from '../../../src/proxy/http/route/domains.js';
import { findQueryParam } from '../../../src/proxy/http/route/matchers.js';
import { RouteConfigError } from '../../../src/snapshot/index.js';
import type { RetryPolicy, Route, RouteConfig } from '../../../src/snapshot/index.js';
import { compile, oneHost, request, selectName, sequence, to } from './helpers.js';

const fwd = { type: 'route', destinations: [{ cluster: 'c', weight: 1 }] } as const;

/** A config holding `route` as virtualHosts[0].routes[0]; the cast lets tests feed bad data. */
function withRoute(route: unknown): RouteConfig {
  return oneHost([route as Route]);
}

/** A config holding one virtual host built from `vh`, whose fields may be bad data. */
function withHost(vh: Record<string, unknown>): RouteConfig {
  return { name: 'x', virtualHosts: [{ name: 'a', domains: ['*'], routes: [], ...vh }] };
}

/** A route matching `match` (one block) and forwarding to `c`. */
function matching(match: unknown): RouteConfig {
  return withRoute({ name: 'r', match: [match], action: fwd });
}

function retry(p: Partial<RetryPolicy>): RouteConfig {
  return withRoute({ name: 'r', match: [], action: { ...fwd, retry: { attempts: 2, retryOn: ['5xx'], retriableStatusCodes: [], backoffBaseMs: 25, ...p } } });
}

const rejected: [string, unknown, string, RegExp][] = [
  ['a null config', null, 'virtualHosts', /must be a list/],
  ['domains not a list', withHost({ domains: 'reviews' }), 'virtualHosts[0].domains', /must be a list/],
  ['routes not a list', withHost({ routes: { name: 'r' } }), 'virtualHosts[0].routes', /must be a list/],
  ['an empty domain', withHost({ domains: [''] }), 'virtualHosts[0].domains[0]', /domain must be a non-empty string/],
  ['a domain that is not a string', withHost({ domains: [8080] }), 'virtualHosts[0].domains[0]', /domain must be a non-empty string/],
  ['two leading wildcards', withHost({ domains: ['**.example.com'] }), 'virtualHosts[0].domains[0]', /only one leading or trailing '\*'/],
  ['a trailing wildcard after another', withHost({ domains: ['api*.*'] }), 'virtualHosts[0].domains[0]', /only one leading or trailing '\*'/],
  ['virtual host rate limits not an object', withHost({ rateLimits: 'fast' }), 'virtualHosts[0].rateLimits', /./],
  ['connect not an object', withHost({ connect: 'http' }), 'virtualHosts[0].connect', /must be an object/],
  ['connect null', withHost({ connect: null }), 'virtualHosts[0].connect', /must be an object/],
  ['connect serving tcp', withHost({ connect: { serve: 'tcp', tcpCluster: 'c' } }), 'virtualHosts[0].connect.serve', /must be "http", not "tcp"/],
  ['connect without its byte-tunnel cluster', withHost({ connect: { serve: 'http', tcpCluster: '' } }), 'virtualHosts[0].connect.tcpCluster', /non-empty string/],
  ['connect with a numeric cluster', withHost({ connect: { serve: 'http', tcpCluster: 7 } }), 'virtualHosts[0].connect.tcpCluster', /non-empty string/],
  ['a null action', withRoute({ name: 'r', match: [], action: null }), 'virtualHosts[0].routes[0].action', /is required/],
  ['a route name that is not a string', withRoute({ name: 5, match: [], action: fwd }), 'virtualHosts[0].routes[0].name', /must be a string/],
  ['route rate limits not an object', withRoute({ name: 'r', match: [], action: fwd, rateLimits: 'fast' }), 'virtualHosts[0].routes[0].rateLimits', /./],
  ['a numeric cluster name', withRoute({ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: 5, weight: 1 }] } }), 'virtualHosts[0].routes[0].action.destinations[0].cluster', /non-empty/],
  ['a fractional weight', withRoute({ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: 'a', weight: 1.5 }, { cluster: 'b', weight: 1 }] } }), 'virtualHosts[0].routes[0].action.destinations[0].weight', /non-negative integer, got 1.5/],
  ['an infinite timeout', withRoute({ name: 'r', match: [], action: { ...fwd, timeoutMs: Infinity } }), 'virtualHosts[0].routes[0].action.timeoutMs', /non-negative number, got Infinity/],
  ['a null uri match', matching({ uri: null }), 'virtualHosts[0].routes[0].match[0].uri', /must be a match object/],
  ['a match block given as a list', matching([{ uri: { prefix: '/' } }]), 'virtualHosts[0].routes[0].match[0]', /must be a match block/],
  ['a match block given as a string', matching('/reviews'), 'virtualHosts[0].routes[0].match[0]', /must be a match block/],
  ['headers given as a list', matching({ headers: [{ 'end-user': { exact: 'jason' } }] }), 'virtualHosts[0].routes[0].match[0].headers', /must be a map/],
  ['headers given as null', matching({ headers: null }), 'virtualHosts[0].routes[0].match[0].headers', /must be a map/],
  ['withoutHeaders given as a string', matching({ withoutHeaders: 'end-user' }), 'virtualHosts[0].routes[0].match[0].withoutHeaders', /must be a map/],
  ['queryParams given as a string', matching({ queryParams: 'a=b' }), 'virtualHosts[0].routes[0].match[0].queryParams', /must be a map/],
  ['sourceLabels given as a list', matching({ sourceLabels: ['app=curl'] }), 'virtualHosts[0].routes[0].match[0].sourceLabels', /must be a map/],
  ['a negative port', matching({ port: -1 }), 'virtualHosts[0].routes[0].match[0].port', /-1 is not a port number/],
  ['a fractional port', matching({ port: 80.5 }), 'virtualHosts[0].routes[0].match[0].port', /80.5 is not a port number/],
  ['a null header match', matching({ headers: { 'end-user': null } }), 'virtualHosts[0].routes[0].match[0].headers.end-user', /must be a match object/],
  ['a header match with two kinds', matching({ headers: { 'end-user': { exact: 'a', prefix: 'b' } } }), 'virtualHosts[0].routes[0].match[0].headers.end-user', /at most one of exact, prefix, regex, present \(got exact, prefix\)/],
  ['present: false', matching({ headers: { 'end-user': { present: false } } }), 'virtualHosts[0].routes[0].match[0].headers.end-user.present', /must be true when set/],
  ['a claim key with nothing after the prefix', matching({ headers: { '@request.auth.claims': { exact: 'x' } } }), 'virtualHosts[0].routes[0].match[0].headers.@request.auth.claims', /invalid claim key/],
  ['a claim key with an empty name', matching({ headers: { '@request.auth.claims.': { exact: 'x' } } }), 'virtualHosts[0].routes[0].match[0].headers.@request.auth.claims.', /invalid claim key/],
  ['a claim key with an empty segment', matching({ headers: { '@request.auth.claims.a..b': { exact: 'x' } } }), 'virtualHosts[0].routes[0].match[0].headers.@request.auth.claims.a..b', /invalid claim key/],
  ['a claim key with an empty bracket', matching({ headers: { '@request.auth.claims[a][]': { exact: 'x' } } }), 'virtualHosts[0].routes[0].match[0].headers.@request.auth.claims[a][]', /invalid claim key/],
  ['a dotted claim key holding a bracket', matching({ headers: { '@request.auth.claims.a[b': { exact: 'x' } } }), 'virtualHosts[0].routes[0].match[0].headers.@request.auth.claims.a[b', /invalid claim key/],
  ['a dotted claim key holding a closing bracket', matching({ headers: { '@request.auth.claims.a]b': { exact: 'x' } } }), 'virtualHosts[0].routes[0].match[0].headers.@request.auth.claims.a]b', /invalid claim key/],
  ['a claim key neither dotted nor bracketed', matching({ headers: { '@request.auth.claimsxyz': { exact: 'x' } } }), 'virtualHosts[0].routes[0].match[0].headers.@request.auth.claimsxyz', /invalid claim key/],
  ['a claim key opening a bracket it never closes', matching({ headers: { '@request.auth.claims[ab': { exact: 'x' } } }), 'virtualHosts[0].routes[0].match[0].headers.@request.auth.claims[ab', /invalid claim key/],
  ['a claim key closing a bracket it never opened', matching({ headers: { '@request.auth.claimsxy]': { exact: 'x' } } }), 'virtualHosts[0].routes[0].match[0].headers.@request.auth.claimsxy]', /invalid claim key/],
  ['a rewrite regex that does not compile', withRoute({ name: 'r', match: [], action: { ...fwd, rewrite: { uriRegex: { match: '(', rewrite: '/' } } } }), 'virtualHosts[0].routes[0].action.rewrite.uriRegex.match', /invalid regex "\("/],
  ['a substitution ending in a backslash', withRoute({ name: 'r', match: [], action: { ...fwd, rewrite: { uriRegex: { match: 'a', rewrite: 'b\\' } } } }), 'virtualHosts[0].routes[0].action.rewrite.uriRegex.rewrite', /invalid escape/],
  ['a substitution escaping punctuation below the digits', withRoute({ name: 'r', match: [], action: { ...fwd, rewrite: { uriRegex: { match: 'a', rewrite: '\\/' } } } }), 'virtualHosts[0].routes[0].action.rewrite.uriRegex.rewrite', /invalid escape/],
  ['a substitution naming group 9 of one', withRoute({ name: 'r', match: [], action: { ...fwd, rewrite: { uriRegex: { match: '(a)', rewrite: '\\9' } } } }), 'virtualHosts[0].routes[0].action.rewrite.uriRegex.rewrite', /refers to \\9 but the pattern has 1 capture group/],
  ['a method match given as a string', matching({ method: 'GET' }), 'virtualHosts[0].routes[0].match[0].method', /must be a match object/],
  ['an authority match given as a string', matching({ authority: 'reviews' }), 'virtualHosts[0].routes[0].match[0].authority', /must be a match object/],
  ['a scheme match given as a string', matching({ scheme: 'https' }), 'virtualHosts[0].routes[0].match[0].scheme', /must be a match object/],
  ['negative retry attempts', retry({ attempts: -1 }), 'virtualHosts[0].routes[0].action.retry.attempts', /non-negative integer, got -1/],
  ['fractional retry attempts', retry({ attempts: 1.5 }), 'virtualHosts[0].routes[0].action.retry.attempts', /non-negative integer, got 1.5/],
  ['a retriable status below 100', retry({ retriableStatusCodes: [99] }), 'virtualHosts[0].routes[0].action.retry.retriableStatusCodes[0]', /99 is not an HTTP status code/],
  ['a retriable status above 599', retry({ retriableStatusCodes: [503, 600] }), 'virtualHosts[0].routes[0].action.retry.retriableStatusCodes[1]', /600 is not an HTTP status code/],
  ['a fractional retriable status', retry({ retriableStatusCodes: [502.5] }), 'virtualHosts[0].routes[0].action.retry.retriableStatusCodes[0]', /502.5 is not an HTTP status code/],
  ['a backoff maximum below its base', retry({ backoffBaseMs: 100, backoffMaxMs: 50 }), 'virtualHosts[0].routes[0].action.retry.backoffMaxMs', /at least backoffBaseMs \(100\)/],
];

describe('malformed route configurations are refused with the field named', () => {
  for (const [what, cfg, path, message] of rejected) {
    test(what, () => {
      assert.throws(
        () => compileRouteConfig(cfg as RouteConfig),
        (e: unknown) => {
          assert.ok(e instanceof RouteConfigError, `expected RouteConfigError, got ${String(e)}`);
          assert.equal(e.path, path);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }

  test('the boundary values are accepted', () => {
    for (const cfg of [
      matching({ port: 1 }),
      matching({ port: 65535 }),
      retry({ attempts: 0 }),
      retry({ retriableStatusCodes: [100, 599] }),
      retry({ backoffBaseMs: 100, backoffMaxMs: 100 }),
    ]) {
      assert.doesNotThrow(() => compileRouteConfig(cfg));
    }
  });
});

describe('virtual host lookup at its edges', () => {
  const table = compile({
    name: 'hosts',
    virtualHosts: [
      { name: 'a', domains: ['a'], routes: [{ name: 'a', match: [], action: to('a') }] },
      { name: 'z', domains: ['z'], routes: [{ name: 'z', match: [], action: to('z') }] },
      { name: 'za', domains: ['za'], routes: [{ name: 'za', match: [], action: to('za') }] },
      { name: 'short-prefix', domains: ['api.*'], routes: [{ name: 'short-prefix', match: [], action: to('p') }] },
      { name: 'long-prefix', domains: ['api.v1.*'], routes: [{ name: 'long-prefix', match: [], action: to('p') }] },
      { name: 'any-host-on-8080', domains: ['*:8080'], routes: [{ name: 'any-host-on-8080', match: [], action: to('p') }] },
      { name: 'local-any-port', domains: ['local:*'], routes: [{ name: 'local-any-port', match: [], action: to('p') }] },
      { name: 'default', domains: ['*'], routes: [{ name: 'default', match: [], action: to('d') }] },
    ],
  });
  const cases: [string, string, string][] = [
    ['the first uppercase letter is lowercased', 'A', 'a'],
    ['the last uppercase letter is lowercased', 'Z', 'z'],
    ['a Host of uppercase letters only', 'ZA', 'za'],
    ['the longest prefix wildcard wins whatever the order', 'api.v1.reviews', 'long-prefix'],
    ['a prefix wildcard compares its whole prefix', 'alpha.org', 'default'],
    ['a suffix wildcard naming a port matches that Host:port', 'reviews:8080', 'any-host-on-8080'],
    ['a prefix wildcard ending in a colon matches Host:port', 'local:9000', 'local-any-port'],
    ['a prefix wildcard is never compared as a suffix', 'www.api.:80', 'default'],
  ];
  for (const [what, host, want] of cases) {
    test(`${what}: ${host} → ${want}`, () => assert.equal(selectName(table, { authority: host }), want));
  }

  test('the same Host asked again gets the same virtual host', () => {
    for (let i = 0; i < 3; i++) assert.equal(selectName(table, { authority: 'api.v1.x' }), 'long-prefix');
  });
});

describe('query parameters at their edges', () => {
  const cases: [string, string, string | undefined][] = [
    ['/x', '/x', undefined],
    ['?a=1', 'a', '1'],
    ['/p?a=1#x&b=2', 'b', undefined],
    ['/p?a#x&y', 'a', ''],
    ['/p?a&b=1', 'a', ''],
    ['/p?a=%zz%41', 'a', '%zzA'],
  ];
  for (const [path, name, want] of cases) test(`${path} [${name}] → ${String(want)}`, () => assert.equal(findQueryParam(path, name), want));
});

describe('stripPort at its edges', () => {
  const cases: [string, string][] = [
    ['8080', '8080'],
    [':80', ''],
    ['[fd00::1', '[fd00::1'],
    ['reviews:80/', 'reviews:80/'],
  ];
  for (const [host, want] of cases) test(`${JSON.stringify(host)} → ${JSON.stringify(want)}`, () => assert.equal(stripPort(host), want));
});

describe('match blocks at their edges', () => {
  test('a route without a match list matches every request', () => {
    const table = compile(oneHost([{ name: 'all', action: to('c') } as Route]));
    assert.equal(selectName(table, { path: '/anything?x=1' }), 'all');
  });

  test('port 0 is no port condition; ports 1 and 65535 match themselves', () => {
    assert.equal(selectName(compile(matching({ port: 0 })), { port: 9080 }), 'r');
    assert.equal(selectName(compile(matching({ port: 1 })), { port: 1 }), 'r');
    assert.equal(selectName(compile(matching({ port: 65535 })), { port: 65535 }), 'r');
  });

  test('an empty gateways list is no gateway condition', () => {
    assert.equal(selectName(compile(matching({ gateways: [] })), {}), 'r');
  });

  test('an empty sourceNamespace is no namespace condition', () => {
    assert.equal(selectName(compile(matching({ sourceNamespace: '' })), { sourceNamespace: 'default' }), 'r');
  });

  test('withoutHeaders holds for a request without the header, whatever the match kind', () => {
    for (const m of [{ exact: 'x' }, { prefix: 'S' }, { regex: '.+' }]) {
      assert.equal(selectName(compile(matching({ withoutHeaders: { 'end-user': m } })), {}), 'r', JSON.stringify(m));
    }
  });

  test('a block without sourceNamespace matches requests from any namespace', () => {
    assert.equal(selectName(compile(matching({ uri: { prefix: '/' } })), { sourceNamespace: 'default' }), 'r');
  });

  test('header conditions keyed uri, scheme, method or authority are ignored, as Istio ignores them', () => {
    for (const key of ['uri', 'scheme', 'method', 'authority', 'Method']) {
      const table = compile(matching({ headers: { [key]: { exact: 'never-this' } } }));
      assert.equal(selectName(table, { method: 'GET', scheme: 'http', authority: 'reviews', path: '/' }), 'r', key);
    }
  });

  test('an exact uri ends where a fragment starts', () => {
    assert.equal(selectName(compile(matching({ uri: { exact: '/a' } })), { path: '/a#top' }), 'r');
  });

  test('a regex uri sees the path without its fragment', () => {
    assert.equal(selectName(compile(matching({ uri: { regex: '/a' } })), { path: '/a#top' }), 'r');
  });

  test('an exact uri holding a query never matches', () => {
    assert.equal(selectName(compile(matching({ uri: { exact: '/a?b=1' } })), { path: '/a?b=1' }), null);
  });

  test('ignoreUriCase folds ASCII letters A to Z and nothing else', () => {
    const table = compile(matching({ uri: { prefix: '/az' }, ignoreUriCase: true }));
    assert.equal(selectName(table, { path: '/AZ/x' }), 'r');
    assert.equal(selectName(compile(matching({ uri: { prefix: '/a;' }, ignoreUriCase: true })), { path: '/a[' }), null);
  });

  test('a presence match on a pseudo-header holds for any value', () => {
    assert.equal(selectName(compile(matching({ method: { present: true } })), { method: 'PATCH' }), 'r');
  });

  test('a match block with an empty name leaves the route name alone', () => {
    assert.equal(selectName(compile(matching({ name: '', uri: { prefix: '/' } })), {}), 'r');
  });

  test('an exact or regex uri match rewrites the whole path, keeping the query', () => {
    for (const uri of [{ exact: '/v1/reviews' }, { regex: '/v1/rev.*' }]) {
      const table = compile(withRoute({ name: 'r', match: [{ uri }], action: { ...fwd, rewrite: { uri: '/reviews' } } }));
      const sel = table.select(request({ path: '/v1/reviews?id=1' }));
      assert.ok(sel !== null);
      assert.equal(sel.rewritePath('/v1/reviews?id=1'), '/reviews?id=1', JSON.stringify(uri));
    }
  });
});

describe('JWT claim matches at their edges', () => {
  const claims = (match: Record<string, unknown>, field: 'headers' | 'withoutHeaders' = 'headers'): ReturnType<typeof compile> =>
    compile(matching({ [field]: match }));

  test('a presence match holds when the claim exists, whatever its value', () => {
    const table = claims({ '@request.auth.claims.group': { present: true } });
    assert.equal(selectName(table, { jwtClaims: { group: ['dev'] } }), 'r');
    assert.equal(selectName(table, { jwtClaims: { other: 'x' } }), null);
  });

  test('withoutHeaders on a claim holds when the claim is missing or differs', () => {
    const table = claims({ '@request.auth.claims.group': { exact: 'admin' } }, 'withoutHeaders');
    assert.equal(selectName(table, { jwtClaims: {} }), 'r');
    assert.equal(selectName(table, { jwtClaims: { group: 'dev' } }), 'r');
    assert.equal(selectName(table, { jwtClaims: { group: 'admin' } }), null);
  });

  test('a nested claim under a null claim is missing', () => {
    const table = claims({ '@request.auth.claims.org.team': { exact: 'mesh' } });
    assert.equal(selectName(table, { jwtClaims: { org: null } }), null);
    assert.equal(selectName(table, { jwtClaims: { org: { team: 'mesh' } } }), 'r');
  });

  test('a list claim matches on its string elements only', () => {
    const table = claims({ '@request.auth.claims.groups': { prefix: 'de' } });
    assert.equal(selectName(table, { jwtClaims: { groups: [1, 'dev'] } }), 'r');
    assert.equal(selectName(table, { jwtClaims: { groups: [1, 'ops'] } }), null);
  });
});

describe('rewrites and the selected route at their edges', () => {
  test('a capture group that took no part in the match substitutes as empty', () => {
    const table = compile(withRoute({ name: 'r', match: [], action: { ...fwd, rewrite: { uriRegex: { match: '^/(a)?b$', rewrite: '/x\\1y' } } } }));
    assert.equal(table.select(request({ path: '/b' }))?.rewritePath('/b?q'), '/xy?q');
  });

  test('an authority-only rewrite leaves the path alone and sets the authority', () => {
    const sel = compile(withRoute({ name: 'r', match: [], action: { ...fwd, rewrite: { authority: 'ratings.prod' } } })).select(request());
    assert.ok(sel !== null);
    assert.equal(sel.hasPathRewrite, false);
    assert.equal(sel.rewritePath('/ratings/1?x'), '/ratings/1?x');
    assert.equal(sel.rewriteAuthority('ratings:9080'), 'ratings.prod');
  });

  test('an empty authority rewrite keeps the request authority', () => {
    const sel = compile(withRoute({ name: 'r', match: [], action: { ...fwd, rewrite: { authority: '', uri: '/v2' } } })).select(request());
    assert.ok(sel !== null);
    assert.equal(sel.hasPathRewrite, true);
    assert.equal(sel.rewriteAuthority('ratings:9080'), 'ratings:9080');
  });

  test('a redirect has no destination and its header operations are the route own', () => {
    const sel = compile(withRoute({ name: 'r', match: [], action: { type: 'redirect', uri: '/new' } })).select(request());
    assert.ok(sel !== null);
    assert.equal(sel.pickDestination(sequence(0.5)), null);
    assert.equal(sel.headerOperations(null), sel.filters.headers);
  });
});

describe('a virtual host that serves HTTP inside CONNECT', () => {
  const cfg: RouteConfig = {
    name: 'tunnel',
    virtualHosts: [
      {
        name: 'reviews.default.svc.cluster.local:9080',
        domains: ['reviews.default.svc.cluster.local:9080'],
        routes: [{ name: 'v2', match: [{ uri: { prefix: '/reviews' } }], action: to('outbound|9080|v2|reviews') }],
        connect: { serve: 'http', tcpCluster: 'outbound|9080||reviews' },
      },
      { name: 'plain', domains: ['plain:80'], routes: [{ name: 'plain', match: [], action: to('plain') }] },
    ],
  };
  const table = compile(cfg);

  test('its CONNECT target is its own routes under any Host, and the byte-tunnel cluster', () => {
    const target = table.httpTunnelFor('reviews.default.svc.cluster.local:9080');
    assert.ok(target !== null);
    assert.equal(target.tcpCluster, 'outbound|9080||reviews');
    assert.equal(selectName(target.routes, { authority: '10.0.0.7:9080', path: '/reviews/1' }), 'v2');
    assert.equal(selectName(target.routes, { authority: 'anything', path: '/other' }), null);
  });

  test('its CONNECT target dumps as a table of that host alone under any Host, rate limits carried over', () => {
    const target = table.httpTunnelFor('reviews.default.svc.cluster.local:9080');
    assert.ok(target !== null);
    const vh = cfg.virtualHosts[0];
    assert.deepEqual(target.routes.config, {
      name: 'connect|reviews.default.svc.cluster.local:9080',
      virtualHosts: [{ name: vh.name, domains: ['*'], routes: vh.routes }],
    });
    const limited = compile({ name: 'tunnel', virtualHosts: [{ ...vh, rateLimits: {} }] }).httpTunnelFor('reviews.default.svc.cluster.local:9080');
    assert.ok(limited !== null);
    assert.deepEqual(limited.routes.config.virtualHosts, [{ name: vh.name, domains: ['*'], routes: vh.routes, rateLimits: {} }]);
  });

  test('a virtual host without connect and an unknown host have no CONNECT target', () => {
    assert.equal(table.httpTunnelFor('plain:80'), null);
    assert.equal(table.httpTunnelFor('unknown:1'), null);
  });
});

describe('retry policies at their edges', () => {
  const policy = (p: Partial<RetryPolicy>): CompiledRetryPolicy =>
    new CompiledRetryPolicy({ attempts: 2, retryOn: ['5xx'], retriableStatusCodes: [], backoffBaseMs: 25, ...p }, 'retry');

  test('zero attempts is a valid policy', () => {
    assert.equal(policy({ attempts: 0 }).attempts, 0);
  });

  test('5xx covers 500 to 599 and nothing above', () => {
    assert.equal(policy({}).shouldRetry(599), true);
    assert.equal(policy({}).shouldRetry(600), false);
  });

  test('gateway-error covers 502 to 504 only', () => {
    assert.equal(policy({ retryOn: ['gateway-error'] }).shouldRetry(505), false);
  });

  test('each gRPC condition retries its own status only', () => {
    for (const on of ['cancelled', 'deadline-exceeded', 'resource-exhausted', 'internal'] as const) {
      assert.equal(policy({ retryOn: [on] }).shouldRetry(200, 14), false, on);
    }
  });

  test('reset-before-request also retries a connect failure', () => {
    assert.equal(policy({ retryOn: ['reset-before-request'] }).shouldRetry('connect-failure'), true);
  });

  test('a zero backoff base falls back to 25 ms', () => {
    assert.equal(policy({ backoffBaseMs: 0 }).backoffMs(1, sequence(0.999999)), 24);
  });

  test('the policy keeps its conditions, codes and host options', () => {
    const p = policy({ retryOn: ['5xx', 'retriable-status-codes'], retriableStatusCodes: [409], retryRemoteLocalities: true, retryIgnorePreviousHosts: false });
    assert.deepEqual(p.retryOn, ['5xx', 'retriable-status-codes']);
    assert.deepEqual(p.retriableStatusCodes, [409]);
    assert.equal(p.retryRemoteLocalities, true);
    assert.equal(p.retryIgnorePreviousHosts, false);
    const defaults = policy({});
    assert.equal(defaults.retryRemoteLocalities, false);
    assert.equal(defaults.retryIgnorePreviousHosts, true);
  });
});
