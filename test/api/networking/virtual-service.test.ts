import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VirtualServiceSpec } from '../../../src/api/kinds/networking/index.js';
import { assertClean, render, runCases, validate, type Case } from './helpers.js';

const dest = (host: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ destination: { host, ...extra } });
/** A VirtualService for `reviews` with one HTTP rule: a route to reviews plus `extra` fields. */
const http = (extra: Record<string, unknown>, vs: Record<string, unknown> = {}): Record<string, unknown> => ({
  hosts: ['reviews'],
  http: [{ route: [dest('reviews')], ...extra }],
  ...vs,
});
const match = (m: Record<string, unknown>): Record<string, unknown> => http({ match: [m] });

test('VirtualService: a full, valid spec comes back typed', () => {
  const spec = {
    hosts: ['reviews', '*.example.com'],
    gateways: ['mesh', 'istio-system/ingress'],
    http: [
      {
        name: 'v2',
        match: [{ headers: { 'end-user': { exact: 'jason' }, 'x-present': {} }, uri: { prefix: '/' }, queryParams: { q: {} }, withoutHeaders: { 'x-no': { regex: '*' } } }],
        route: [{ destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } }, weight: 80, headers: { request: { set: { 'x-a': '%HOSTNAME%' } } } }, { ...dest('reviews', { subset: 'v1' }), weight: 20 }],
        timeout: '10s',
        retries: { attempts: 3, perTryTimeout: '2s', retryOn: 'gateway-error,connect-failure,503' },
        fault: { delay: { fixedDelay: '7s', percentage: { value: 0.5 } }, abort: { grpcStatus: 'UNAVAILABLE', percentage: { value: 10 } } },
        mirror: { host: 'reviews', subset: 'v3' },
        mirrorPercentage: { value: 50 },
        corsPolicy: { allowOrigins: [{ regex: 'https://.*\\.example\\.com' }], allowMethods: ['GET', 'POST'], allowHeaders: ['*'], maxAge: '24h' },
        rewrite: { uriRegexRewrite: { match: '^/v1/(.*)', rewrite: '/v2/\\1' } },
      },
      { redirect: { uri: '/new', derivePort: 'FROM_REQUEST_PORT', redirectCode: 308 } },
    ],
    tcp: [{ match: [{ port: 27017, destinationSubnets: ['10.0.0.0/8'] }], route: [dest('mongo.backend.svc.cluster.local')] }],
    tls: [{ match: [{ sniHosts: ['login.example.com'] }], route: [dest('login.example.com')] }],
    exportTo: ['.'],
  };
  const result = validate('VirtualService', spec);
  assert.deepEqual(render(result.issues), []);
  const typed = result.resource?.spec as VirtualServiceSpec;
  assert.equal(typed.http?.[0]?.route?.[1]?.weight, 20);
  assert.equal(typed.http?.[1]?.redirect?.derivePort, 'FROM_REQUEST_PORT');
});

test('VirtualService: every served version uses the same schema', () => {
  for (const version of ['v1', 'v1beta1', 'v1alpha3']) {
    const ok = validate('VirtualService', http({}), undefined, version);
    assert.deepEqual(render(ok.issues), [], version);
    assert.equal(ok.resource?.apiVersion, `networking.istio.io/${version}`);
    const bad = validate('VirtualService', http({ route: [{ ...dest('a'), weight: 0 }, dest('b')] }), undefined, version);
    assert.deepEqual(render(bad.issues), ['error spec.http[0].route: total destination weight = 0'], version);
  }
});

test('VirtualService: a delegate (no hosts) and its root validate', () => {
  assertClean('VirtualService', { http: [{ match: [{ uri: { prefix: '/reviews' } }], route: [dest('reviews')] }] });
  assertClean('VirtualService', { hosts: ['bookinfo.com'], gateways: ['bookinfo-gateway'], http: [{ match: [{ uri: { prefix: '/reviews' } }], delegate: { name: 'reviews', namespace: 'ns1' } }] });
});

test('VirtualService: a single destination needs no weight; weights need not add up to 100', () => {
  assertClean('VirtualService', http({ route: [{ ...dest('reviews'), weight: 0 }] }));
  assertClean('VirtualService', http({ route: [{ ...dest('a'), weight: 1 }, { ...dest('b'), weight: 2 }] }));
});

test('VirtualService: protobuf wrapper fields accept null (unset)', () => {
  const result = validate('VirtualService', http({ retries: { attempts: 1, retryRemoteLocalities: null }, corsPolicy: { allowCredentials: null } }));
  assert.deepEqual(render(result.issues), []);
  const typed = result.resource?.spec as VirtualServiceSpec;
  assert.equal(typed.http?.[0]?.retries?.retryRemoteLocalities, null);
  const notNullable = validate('VirtualService', http({ retries: { attempts: null } }));
  assert.deepEqual(render(notNullable.issues), ['error spec.http[0].retries.attempts: must be an integer between -2147483648 and 2147483647 (got null)']);
});

test('VirtualService: uppercase header names still work but draw a warning', () => {
  const result = validate('VirtualService', match({ headers: { 'End-User': { exact: 'jason' } } }));
  assert.ok(result.resource);
  assert.deepEqual(render(result.issues), ['warning spec.http[0].match[0].headers.End-User: header name "End-User" should be lowercase (header names are matched case-insensitively)']);
});

const cases: Case[] = [
  // hosts and gateways
  { name: 'host with a wildcard inside', spec: { ...http({}), hosts: ['foo.*.com'] }, expect: 'error spec.hosts[0]: domain name "*.com" invalid (label "*" invalid)' },
  { name: 'host with a bad label', spec: { ...http({}), hosts: ['bad_host'] }, expect: 'error spec.hosts[0]: domain name "bad_host" invalid (label "bad_host" invalid)' },
  { name: '* for the mesh', spec: { ...http({}), hosts: ['*'] }, expect: 'error spec.hosts[0]: wildcard host * is not allowed for virtual services bound to the mesh gateway' },
  { name: 'duplicate hosts', spec: { ...http({}), hosts: ['*.foo.com', 'a.foo.com'] }, expect: 'error spec.hosts[1]: duplicate hosts in virtual service: *.foo.com & a.foo.com' },
  { name: 'gateway reference with bad namespace', spec: http({}, { gateways: ['Bad_NS/gw'] }), expect: 'error spec.gateways[0]: invalid value for namespace: "Bad_NS"' },
  { name: 'gateway reference with empty name', spec: http({}, { gateways: ['ns/'] }), expect: 'error spec.gateways[0]: config namespace and gateway name cannot be empty' },
  { name: 'legacy gateway reference', spec: http({}, { gateways: ['gw.istio-system'] }), expect: 'warning spec.gateways[0]: using legacy gatewayName format "gw.istio-system"; prefer the <namespace>/<name> format: "istio-system/gw"' },
  { name: 'no rules at all', spec: { hosts: ['reviews'] }, expect: 'error spec: http, tcp or tls must be provided in virtual service' },
  { name: 'bad exportTo', spec: http({}, { exportTo: ['default', '.'] }), expect: 'error spec.exportTo: duplicate entries in exportTo: . and current namespace default' },
  // delegates
  { name: 'delegate with gateways', spec: { gateways: ['gw'], http: [{ route: [dest('a')] }] }, expect: 'error spec.gateways: delegate virtual service must have no gateways specified' },
  { name: 'delegate with tcp', spec: { http: [{ route: [dest('a')] }], tcp: [{ route: [dest('a')] }] }, expect: 'error spec.tcp: delegate virtual service must have no tcp route specified' },
  { name: 'delegate rule delegating again', spec: { http: [{ delegate: { name: 'x' }, route: [dest('a')] }] }, expect: 'error spec.http[0].delegate: delegate HTTP route cannot contain delegate' },
  { name: 'root rule with route', spec: http({ delegate: { name: 'r' } }), expect: 'error spec.http[0].route: root HTTP route  must not specify route' },
  // actions
  { name: 'rule without action', spec: { hosts: ['a'], http: [{ timeout: '1s' }] }, expect: 'error spec.http[0]: HTTP route, redirect or direct_response is required' },
  { name: 'route and redirect', spec: http({ redirect: { uri: '/x' } }), expect: 'error spec.http[0]: HTTP route cannot contain both route and redirect' },
  { name: 'rewrite and redirect', spec: { hosts: ['a'], http: [{ redirect: { uri: '/x' }, rewrite: { uri: '/y' } }] }, expect: 'error spec.http[0]: HTTP route rule cannot contain both rewrite and redirect' },
  { name: 'fault and direct response', spec: { hosts: ['a'], http: [{ directResponse: { status: 503 }, fault: { abort: { httpStatus: 500 } } }] }, expect: 'error spec.http[0]: HTTP route cannot contain both fault and direct_response' },
  { name: 'redirect and direct response', spec: { hosts: ['a'], http: [{ redirect: { uri: '/x' }, directResponse: { status: 200 } }] }, expect: 'error spec.http[0]: HTTP route rule cannot contain both direct_response and redirect' },
  { name: 'mirror and mirrors', spec: http({ mirror: { host: 'a' }, mirrors: [dest('b')] }), expect: 'error spec.http[0]: HTTP route cannot contain both mirror and mirrors' },
  // weights and destinations
  { name: 'all weights zero', spec: http({ route: [{ ...dest('a'), weight: 0 }, dest('b')] }), expect: 'error spec.http[0].route: total destination weight = 0' },
  { name: 'negative weight', spec: http({ route: [{ ...dest('a'), weight: -10 }, { ...dest('b'), weight: 110 }] }), expect: 'error spec.http[0].route[0].weight: weight -10 < 0' },
  { name: 'weight beyond int32', spec: http({ route: [{ ...dest('a'), weight: 2 ** 31 }] }), expect: 'error spec.http[0].route[0].weight: must be an integer between -2147483648 and 2147483647 (got 2147483648)' },
  { name: 'destination without host', spec: http({ route: [{ destination: { subset: 'v1' } }] }), expect: 'error spec.http[0].route[0].destination.host: required field "host" is missing' },
  { name: 'destination host *', spec: http({ route: [dest('*')] }), expect: 'error spec.http[0].route[0].destination.host: invalid destination host *' },
  { name: 'destination host is an IP', spec: http({ route: [dest('10.0.0.1')] }), expect: 'error spec.http[0].route[0].destination.host: domain name "0.0.1" invalid (top level domain "1" cannot be all-numeric)' },
  { name: 'destination port out of range', spec: http({ route: [dest('a', { port: { number: 70000 } })] }), expect: 'error spec.http[0].route[0].destination.port.number: port number 70000 must be in the range 1..65535' },
  { name: 'destination subset not a DNS label', spec: http({ route: [dest('a', { subset: 'V_1' })] }), expect: 'error spec.http[0].route[0].destination.subset: subset name is invalid: V_1' },
  // matches
  { name: 'two of exact/prefix/regex', spec: match({ uri: { exact: '/a', prefix: '/' } }), expect: 'error spec.http[0].match[0].uri: only one of exact, prefix, regex may be set (found exact and prefix)' },
  { name: 'empty uri match', spec: match({ uri: {} }), expect: 'error spec.http[0].match[0].uri: "uri": one of exact, prefix or regex must be set' },
  { name: 'empty method prefix', spec: match({ method: { prefix: '' } }), expect: 'error spec.http[0].match[0].method: "method": prefix string match should not be empty' },
  { name: 'empty regex', spec: match({ authority: { regex: '' } }), expect: 'error spec.http[0].match[0].authority: "authority": regex string match should not be empty' },
  { name: 'invalid header name', spec: match({ headers: { 'x foo': { exact: 'a' } } }), expect: 'error spec.http[0].match[0].headers.x foo: header name x foo is not a valid header name' },
  { name: 'RE2-invalid regex (lookahead)', spec: match({ uri: { regex: '/a(?=b)' } }), expect: /^error spec\.http\[0\]\.match\[0\]\.uri\.regex: invalid regular expression "\/a\(\?=b\)" \(RE2 syntax\)/ },
  { name: 'RE2-invalid regex in withoutHeaders', spec: match({ withoutHeaders: { 'x-a': { regex: '(a' } } }), expect: /^error spec\.http\[0\]\.match\[0\]\.withoutHeaders\.x-a: "withoutHeaders": .*missing closing \)/ },
  { name: 'regex longer than 1024', spec: match({ headers: { 'x-a': { regex: 'a'.repeat(1025) } } }), expect: 'error spec.http[0].match[0].headers.x-a: "headers": regex is too large, max length allowed is 1024' },
  { name: 'match port out of range', spec: match({ port: 65536 }), expect: 'error spec.http[0].match[0].port: port number 65536 must be in the range 1..65535' },
  { name: 'bad source namespace', spec: match({ sourceNamespace: 'Bad.NS' }), expect: 'error spec.http[0].match[0].sourceNamespace: sourceNamespace match Bad.NS is invalid' },
  { name: 'bad source label', spec: match({ sourceLabels: { 'app!': 'x' } }), expect: 'error spec.http[0].match[0].sourceLabels: invalid tag key: "app!"' },
  { name: 'JWT claim route without gateway', spec: match({ headers: { '@request.auth.claims.group': { exact: 'admin' } } }), expect: 'error spec.http[0].match[0].headers.@request.auth.claims.group: JWT claim based routing (key: @request.auth.claims.group) is only supported for gateway, found no gateways: []' },
  // header manipulation
  { name: 'setting a pseudo-header', spec: http({ headers: { request: { set: { ':path': '/x' } } } }), expect: 'error spec.http[0].headers.request.set.:path: invalid header ":path": header cannot have ":" prefix' },
  { name: 'setting Host in a response', spec: http({ headers: { response: { add: { host: 'x' } } } }), expect: 'error spec.http[0].headers.response.add.host: invalid header "host": cannot set Host header' },
  { name: 'bad %VAR% header value', spec: http({ headers: { request: { add: { 'x-a': 'abc%' } } } }), expect: 'error spec.http[0].headers.request.add.x-a: header value configuration: invalid header configuration. Un-escaped %' },
  { name: 'authority rewritten twice', spec: http({ rewrite: { authority: 'a' }, headers: { request: { set: { host: 'b' } } } }), expect: 'error spec.http[0].headers.request.set.host: authority header cannot be set multiple times: have "a", attempting to set "b"' },
  // rewrite and redirect
  { name: 'rewrite uri and regex rewrite', spec: http({ rewrite: { uri: '/a', uriRegexRewrite: { match: 'a', rewrite: 'b' } } }), expect: 'error spec.http[0].rewrite: rewrite may only contain one of URI or UriRegexRewrite' },
  { name: 'empty rewrite', spec: http({ rewrite: {} }), expect: 'error spec.http[0].rewrite: rewrite must specify at least one of URI, UriRegexRewrite, or authority. Only one of URI or UriRegexRewrite may be specified' },
  { name: 'regex rewrite without rewrite', spec: http({ rewrite: { uriRegexRewrite: { match: 'a' } } }), expect: 'error spec.http[0].rewrite.uriRegexRewrite: UriRegexRewrite has errors: UriRegexRewrite requires both Rewrite and Match fields to be specified' },
  { name: 'empty redirect', spec: { hosts: ['a'], http: [{ redirect: { redirectCode: 301 } }] }, expect: 'error spec.http[0].redirect: redirect must specify URI, authority, scheme, or port' },
  { name: 'redirect code not 3xx', spec: { hosts: ['a'], http: [{ redirect: { uri: '/a', redirectCode: 200 } }] }, expect: 'error spec.http[0].redirect.redirectCode: 200 is not a valid redirect code, must be 3xx' },
  { name: 'redirect scheme', spec: { hosts: ['a'], http: [{ redirect: { scheme: 'ftp' } }] }, expect: 'error spec.http[0].redirect.scheme: invalid redirect scheme, must be "http" or "https"' },
  { name: 'redirect port and derivePort', spec: { hosts: ['a'], http: [{ redirect: { port: 8080, derivePort: 'FROM_REQUEST_PORT' } }] }, expect: 'error spec.http[0].redirect: only one of port, derivePort may be set (found port and derivePort)' },
  { name: 'redirect port out of range', spec: { hosts: ['a'], http: [{ redirect: { port: 70000 } }] }, expect: 'error spec.http[0].redirect.port: port number 70000 must be in the range 1..65535' },
  { name: 'direct response status', spec: { hosts: ['a'], http: [{ directResponse: { status: 999 } }] }, expect: 'error spec.http[0].directResponse.status: HTTP status 999 is not in range 200-599' },
  { name: 'direct response body string and bytes', spec: { hosts: ['a'], http: [{ directResponse: { status: 200, body: { string: 'a', bytes: 'YQ==' } } }] }, expect: 'error spec.http[0].directResponse.body: only one of string, bytes may be set (found string and bytes)' },
  // retries, timeouts
  { name: 'negative attempts', spec: http({ retries: { attempts: -1 } }), expect: 'error spec.http[0].retries.attempts: attempts cannot be negative' },
  { name: 'retry policy with zero attempts', spec: http({ retries: { attempts: 0, retryOn: '5xx' } }), expect: 'error spec.http[0].retries: http retry policy configured when attempts are set to 0 (disabled)' },
  { name: 'unknown retryOn condition', spec: http({ retries: { attempts: 2, retryOn: '5xx,bogus' } }), expect: 'error spec.http[0].retries.retryOn: "bogus" is not a valid retryOn policy' },
  { name: 'unknown retryOn status code', spec: http({ retries: { attempts: 2, retryOn: '599' } }), expect: 'error spec.http[0].retries.retryOn: "599" is not a valid retryOn policy' },
  { name: 'perTryTimeout under 1ms', spec: http({ retries: { attempts: 2, perTryTimeout: '500us' } }), expect: 'error spec.http[0].retries.perTryTimeout: duration must be greater than 1ms' },
  { name: 'timeout of zero', spec: http({ timeout: '0s' }), expect: 'error spec.http[0].timeout: duration must be greater than 1ms' },
  { name: 'timeout below ms precision', spec: http({ timeout: '1.5ms' }), expect: 'error spec.http[0].timeout: only durations to ms precision are supported' },
  { name: 'timeout not a duration', spec: http({ timeout: '10' }), expect: /^error spec\.http\[0\]\.timeout: invalid duration "10"/ },
  { name: 'backoff under 1ms', spec: http({ retries: { attempts: 2, backoff: '0s' } }), expect: 'error spec.http[0].retries.backoff: duration must be greater than 1ms' },
  // fault injection
  { name: 'empty fault', spec: http({ fault: {} }), expect: 'error spec.http[0].fault: HTTP fault injection must have an abort and/or a delay' },
  { name: 'fixed delay too short', spec: http({ fault: { delay: { fixedDelay: '0.1ms' } } }), expect: 'error spec.http[0].fault.delay.fixedDelay: duration must be greater than 1ms' },
  { name: 'delay percentage above 100', spec: http({ fault: { delay: { fixedDelay: '1s', percentage: { value: 101 } } } }), expect: 'error spec.http[0].fault.delay.percentage: percentage 101 is neither 0.0, nor in range [0.0001, 100.0]' },
  { name: 'deprecated delay percent out of range', spec: http({ fault: { delay: { fixedDelay: '1s', percent: 120 } } }), expect: 'error spec.http[0].fault.delay.percent: percentage 120 is not in range 0..100' },
  { name: 'exponential delay', spec: http({ fault: { delay: { exponentialDelay: '1s' } } }), expect: 'error spec.http[0].fault.delay.exponentialDelay: exponentialDelay not supported yet' },
  { name: 'abort status out of range', spec: http({ fault: { abort: { httpStatus: 150 } } }), expect: 'error spec.http[0].fault.abort.httpStatus: HTTP status 150 is not in range 200-599' },
  { name: 'abort gRPC status unknown', spec: http({ fault: { abort: { grpcStatus: 'BROKEN' } } }), expect: /^error spec\.http\[0\]\.fault\.abort\.grpcStatus: gRPC status "BROKEN" is not supported/ },
  { name: 'abort http2Error', spec: http({ fault: { abort: { http2Error: 'x' } } }), expect: 'error spec.http[0].fault.abort.http2Error: HTTP/2 abort fault injection not supported yet' },
  { name: 'abort negative percentage', spec: http({ fault: { abort: { httpStatus: 500, percentage: { value: -1 } } } }), expect: 'error spec.http[0].fault.abort.percentage: percentage -1 is neither 0.0, nor in range [0.0001, 100.0]' },
  { name: 'abort without error type', spec: http({ fault: { abort: { percentage: { value: 1 } } } }), expect: 'warning spec.http[0].fault.abort: abort configured, but error type not set' },
  // mirroring
  { name: 'mirror to *', spec: http({ mirror: { host: '*' } }), expect: 'error spec.http[0].mirror.host: invalid destination host *' },
  { name: 'mirror percentage above 100', spec: http({ mirror: { host: 'a' }, mirrorPercentage: { value: 150 } }), expect: 'error spec.http[0].mirrorPercentage: mirror_percentage must have a max value of 100 (it has 150)' },
  { name: 'deprecated mirrorPercent above 100', spec: http({ mirror: { host: 'a' }, mirrorPercent: 101 }), expect: 'error spec.http[0].mirrorPercent: mirror_percent must have a max value of 100 (it has 101)' },
  { name: 'deprecated mirror_percent', spec: http({ mirror: { host: 'a' }, mirror_percent: 50 }), expect: 'warning spec.http[0].mirror_percent: using deprecated setting "mirrorPercent", use "mirrorPercentage" instead' },
  { name: 'mirrors entry without destination', spec: http({ mirrors: [{ percentage: { value: 5 } }] }), expect: 'error spec.http[0].mirrors[0].destination: required field "destination" is missing' },
  { name: 'mirrors percentage negative', spec: http({ mirrors: [{ ...dest('b'), percentage: { value: -5 } }] }), expect: 'error spec.http[0].mirrors[0].percentage: mirror percentage must have a min value of 0 (it has -5)' },
  // CORS
  { name: 'CORS empty origin', spec: http({ corsPolicy: { allowOrigins: [{ exact: '' }] } }), expect: "error spec.http[0].corsPolicy.allowOrigins[0]: '' is not a valid match type for CORS allow origins" },
  { name: 'CORS unknown method', spec: http({ corsPolicy: { allowMethods: ['FETCH'] } }), expect: 'error spec.http[0].corsPolicy.allowMethods[0]: "FETCH" is not a supported HTTP method' },
  { name: 'CORS bad header', spec: http({ corsPolicy: { exposeHeaders: ['a b'] } }), expect: 'error spec.http[0].corsPolicy.exposeHeaders[0]: header name a b is not a valid header name' },
  { name: 'CORS maxAge with fractions of a second', spec: http({ corsPolicy: { maxAge: '1500ms' } }), expect: 'error spec.http[0].corsPolicy.maxAge: max_age duration is accurate only to seconds precision' },
  { name: 'CORS unknown preflight mode', spec: http({ corsPolicy: { unmatchedPreflights: 'DROP' } }), expect: 'error spec.http[0].corsPolicy.unmatchedPreflights: must be one of "UNSPECIFIED", "FORWARD", "IGNORE" (got "DROP")' },
  // TCP and TLS
  { name: 'TLS route without SNI hosts', spec: { hosts: ['a.com'], tls: [{ match: [{ sniHosts: [] }], route: [dest('a.com')] }] }, expect: 'error spec.tls[0].match[0].sniHosts: TLS match must have at least one SNI host' },
  { name: 'TLS match without sniHosts field', spec: { hosts: ['a.com'], tls: [{ match: [{ port: 443 }], route: [dest('a.com')] }] }, expect: 'error spec.tls[0].match[0].sniHosts: required field "sniHosts" is missing' },
  { name: 'TLS SNI outside the hosts', spec: { hosts: ['a.com'], tls: [{ match: [{ sniHosts: ['b.com'] }], route: [dest('a.com')] }] }, expect: 'error spec.tls[0].match[0].sniHosts[0]: SNI host "b.com" is not a compatible subset of any of the virtual service hosts: [a.com]' },
  { name: 'TLS route without destinations', spec: { hosts: ['a.com'], tls: [{ match: [{ sniHosts: ['a.com'] }] }] }, expect: 'error spec.tls[0].route: TLS route is required' },
  { name: 'TCP route without destinations', spec: { hosts: ['a'], tcp: [{ match: [{ port: 80 }] }] }, expect: 'error spec.tcp[0].route: TCP route is required' },
  { name: 'TCP bad subnet', spec: { hosts: ['a'], tcp: [{ match: [{ destinationSubnets: ['10.0.0.0/33'] }], route: [dest('a')] }] }, expect: 'error spec.tcp[0].match[0].destinationSubnets[0]: 10.0.0.0/33 is not a valid CIDR block' },
  { name: 'TCP weights all zero', spec: { hosts: ['a'], tcp: [{ route: [dest('a'), dest('b')] }] }, expect: 'error spec.tcp[0].route: total destination weight = 0' },
  // unreachable rules
  { name: 'catch-all before the last rule', spec: { hosts: ['a'], http: [{ route: [dest('a')] }, { route: [dest('b')] }] }, expect: 'warning spec.http[1]: virtualService rule #1 not used (only the last rule can have no matches)' },
  { name: 'duplicate match', spec: { hosts: ['a'], http: [{ name: 'one', match: [{ uri: { exact: '/x' } }], route: [dest('a')] }, { match: [{ uri: { exact: '/x' } }], route: [dest('b')] }] }, expect: 'warning spec.http[1]: virtualService rule #1 not used (all matches used by prior rules)' },
  // schema
  { name: 'misspelt field', spec: http({ timeuot: '1s' }), expect: 'error spec.http[0].timeuot: unknown field "timeuot"; did you mean "timeout"?' },
];

runCases('VirtualService', cases);
