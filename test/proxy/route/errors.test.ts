/**
 * Invalid route configurations are rejected at compile time with an error naming the field,
 * so a snapshot is refused as a whole instead of failing requests later.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRouteConfig } from '../../../src/proxy/http/route/compile.js';
import { RouteConfigError } from '../../../src/snapshot/index.js';
import type { Route, RouteConfig } from '../../../src/snapshot/index.js';
import { oneHost } from './helpers.js';

const fwd = { type: 'route', destinations: [{ cluster: 'c', weight: 1 }] } as const;

/** Builds a config holding `route` as virtualHosts[0].routes[0]; the cast lets tests feed bad data. */
function withRoute(route: unknown): RouteConfig {
  return oneHost([route as Route]);
}

const cases: [string, unknown, string, RegExp][] = [
  ['not a config', { name: 'x' }, 'virtualHosts', /must be a list/],
  [
    'duplicate domain across virtual hosts',
    { name: 'x', virtualHosts: [{ name: 'a', domains: ['Reviews'], routes: [] }, { name: 'b', domains: ['reviews'], routes: [] }] },
    'virtualHosts[1].domains[0]',
    /already used at virtualHosts\[0\]\.domains\[0\]/,
  ],
  ['wildcard in the middle', { name: 'x', virtualHosts: [{ name: 'a', domains: ['a.*.com'], routes: [] }] }, 'virtualHosts[0].domains[0]', /'\*' may only lead or trail/],
  ['bad uri regex', withRoute({ name: 'r', match: [{ uri: { regex: '(?=x)' } }], action: fwd }), 'virtualHosts[0].routes[0].match[0].uri.regex', /invalid regex "\(\?=x\)"/],
  ['two kinds in one StringMatch', withRoute({ name: 'r', match: [{ uri: { exact: '/a', prefix: '/b' } }], action: fwd }), 'virtualHosts[0].routes[0].match[0].uri', /exactly one of exact, prefix, regex/],
  ['bad header regex', withRoute({ name: 'r', match: [{ headers: { 'x-a': { regex: '[' } } }], action: fwd }), 'virtualHosts[0].routes[0].match[0].headers.x-a.regex', /invalid regex/],
  ['bad query regex', withRoute({ name: 'r', match: [{ queryParams: { q: { regex: 'a\\' } } }], action: fwd }), 'virtualHosts[0].routes[0].match[0].queryParams.q.regex', /invalid regex/],
  ['header match given as a bare string', withRoute({ name: 'r', match: [{ headers: { 'end-user': 'jason' } }], action: fwd }), 'virtualHosts[0].routes[0].match[0].headers.end-user', /must be a match object/],
  ['misspelt header match key', withRoute({ name: 'r', match: [{ headers: { 'end-user': { exakt: 'jason' } } }], action: fwd }), 'virtualHosts[0].routes[0].match[0].headers.end-user', /at most one of exact, prefix, regex, present \(got exakt\)/],
  ['uri given as a bare string', withRoute({ name: 'r', match: [{ uri: '/a' }], action: fwd }), 'virtualHosts[0].routes[0].match[0].uri', /must be a match object/],
  ['match not a list', withRoute({ name: 'r', match: { uri: { prefix: '/' } }, action: fwd }), 'virtualHosts[0].routes[0].match', /must be a list/],
  ['bad port', withRoute({ name: 'r', match: [{ port: 70000 }], action: fwd }), 'virtualHosts[0].routes[0].match[0].port', /not a port number/],
  ['malformed claim key', withRoute({ name: 'r', match: [{ headers: { '@request.auth.claims[a': { exact: 'x' } } }], action: fwd }), 'virtualHosts[0].routes[0].match[0].headers.@request.auth.claims[a', /invalid claim key/],
  ['no action', withRoute({ name: 'r', match: [] }), 'virtualHosts[0].routes[0].action', /is required/],
  ['unknown action type', withRoute({ name: 'r', match: [], action: { type: 'teleport' } }), 'virtualHosts[0].routes[0].action.type', /must be route, redirect or direct/],
  ['no destinations', withRoute({ name: 'r', match: [], action: { type: 'route', destinations: [] } }), 'virtualHosts[0].routes[0].action.destinations', /at least one destination/],
  [
    'all weights 0 with two destinations',
    withRoute({ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: 'a', weight: 0 }, { cluster: 'b', weight: 0 }] } }),
    'virtualHosts[0].routes[0].action.destinations',
    /total destination weight = 0/,
  ],
  ['negative weight', withRoute({ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: 'a', weight: -1 }, { cluster: 'b', weight: 2 }] } }), 'virtualHosts[0].routes[0].action.destinations[0].weight', /non-negative integer/],
  ['empty cluster', withRoute({ name: 'r', match: [], action: { type: 'route', destinations: [{ cluster: '', weight: 1 }] } }), 'virtualHosts[0].routes[0].action.destinations[0].cluster', /non-empty/],
  ['negative timeout', withRoute({ name: 'r', match: [], action: { ...fwd, timeoutMs: -5 } }), 'virtualHosts[0].routes[0].action.timeoutMs', /non-negative/],
  ['unknown retry condition', withRoute({ name: 'r', match: [], action: { ...fwd, retry: { attempts: 1, retryOn: ['sometimes'], retriableStatusCodes: [], backoffBaseMs: 25 } } }), 'virtualHosts[0].routes[0].action.retry.retryOn[0]', /not a valid retry condition/],
  ['mirror percent above 100', withRoute({ name: 'r', match: [], action: { ...fwd, mirrors: [{ cluster: 'm', percent: 101 }] } }), 'virtualHosts[0].routes[0].action.mirrors[0].percent', /between 0 and 100/],
  ['uri and uriRegex together', withRoute({ name: 'r', match: [], action: { ...fwd, rewrite: { uri: '/a', uriRegex: { match: 'a', rewrite: 'b' } } } }), 'virtualHosts[0].routes[0].action.rewrite', /mutually exclusive/],
  ['substitution refers to a missing group', withRoute({ name: 'r', match: [], action: { ...fwd, rewrite: { uriRegex: { match: '/(a)', rewrite: '/\\2' } } } }), 'virtualHosts[0].routes[0].action.rewrite.uriRegex.rewrite', /\\2 but the pattern has 1 capture group/],
  ['bad escape in substitution', withRoute({ name: 'r', match: [], action: { ...fwd, rewrite: { uriRegex: { match: 'a', rewrite: '\\n' } } } }), 'virtualHosts[0].routes[0].action.rewrite.uriRegex.rewrite', /invalid escape/],
  ['bad redirect code', withRoute({ name: 'r', match: [], action: { type: 'redirect', uri: '/x', redirectCode: 305 } }), 'virtualHosts[0].routes[0].action.redirectCode', /not a redirect code/],
  ['port with derivePort', withRoute({ name: 'r', match: [], action: { type: 'redirect', port: 8080, derivePort: 'FROM_REQUEST_PORT' } }), 'virtualHosts[0].routes[0].action', /mutually exclusive/],
  ['direct response status', withRoute({ name: 'r', match: [], action: { type: 'direct', status: 700 } }), 'virtualHosts[0].routes[0].action.status', /between 100 and 599/],
  ['fault percent above 100', withRoute({ name: 'r', match: [], action: fwd, fault: { delay: { fixedDelayMs: 5, percent: 150 } } }), 'virtualHosts[0].routes[0].fault.delay.percent', /between 0 and 100/],
  ['abort with both statuses', withRoute({ name: 'r', match: [], action: fwd, fault: { abort: { httpStatus: 500, grpcStatus: 'UNAVAILABLE', percent: 1 } } }), 'virtualHosts[0].routes[0].fault.abort', /exactly one of httpStatus, grpcStatus/],
  ['unknown gRPC status', withRoute({ name: 'r', match: [], action: fwd, fault: { abort: { grpcStatus: 'BROKEN', percent: 1 } } }), 'virtualHosts[0].routes[0].fault.abort.grpcStatus', /unknown gRPC status "BROKEN"/],
  ['abort status out of range', withRoute({ name: 'r', match: [], action: fwd, fault: { abort: { httpStatus: 99, percent: 1 } } }), 'virtualHosts[0].routes[0].fault.abort.httpStatus', /between 200 and 599/],
  ['cors unmatchedPreflights', withRoute({ name: 'r', match: [], action: fwd, cors: { unmatchedPreflights: 'DROP' } }), 'virtualHosts[0].routes[0].cors.unmatchedPreflights', /FORWARD or IGNORE/],
  ['cors origin regex', withRoute({ name: 'r', match: [], action: fwd, cors: { allowOrigins: [{ regex: '(' }] } }), 'virtualHosts[0].routes[0].cors.allowOrigins[0].regex', /invalid regex/],
];

describe('compile errors name the field', () => {
  for (const [what, cfg, path, message] of cases) {
    test(what, () => {
      assert.throws(
        () => compileRouteConfig(cfg as RouteConfig),
        (e: unknown) => {
          assert.ok(e instanceof RouteConfigError, `expected RouteConfigError, got ${String(e)}`);
          assert.equal(e.path, path);
          assert.match(e.message, message);
          assert.ok(e.message.startsWith(`${path}: `));
          return true;
        },
      );
    });
  }
});
