import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateResource } from '../../src/api/validate.js';
import { formatPath } from '../../src/api/types.js';

function errors(kind: string, spec: unknown, apiVersion = 'security.istio.io/v1'): string[] {
  const r = validateResource({ apiVersion, kind, metadata: { name: 'p', namespace: 'ns' }, spec });
  return r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}
const ap = (spec: unknown): string[] => errors('AuthorizationPolicy', spec);
const ra = (spec: unknown): string[] => errors('RequestAuthentication', spec);
const peer = (spec: unknown): string[] => errors('PeerAuthentication', spec);

test('AuthorizationPolicy: Istio documentation examples are valid, in v1 and v1beta1', () => {
  const spec = {
    selector: { matchLabels: { app: 'httpbin', version: 'v1' } },
    action: 'ALLOW',
    rules: [{
      from: [{ source: { principals: ['cluster.local/ns/default/sa/sleep'] } }, { source: { namespaces: ['dev'] } }],
      to: [{ operation: { methods: ['GET'], paths: ['/info*'] } }],
      when: [{ key: 'request.auth.claims[iss]', values: ['https://accounts.google.com'] }],
    }],
  };
  assert.deepEqual(ap(spec), []);
  assert.deepEqual(errors('AuthorizationPolicy', spec, 'security.istio.io/v1beta1'), []);
  assert.deepEqual(ap({}), [], 'an empty ALLOW policy (deny all) is valid');
  assert.deepEqual(ap({ action: 'DENY', rules: [{}] }), []);
});

test('AuthorizationPolicy: action defaults to ALLOW', () => {
  const r = validateResource({ apiVersion: 'security.istio.io/v1', kind: 'AuthorizationPolicy', metadata: { name: 'p' }, spec: {} });
  assert.deepEqual(r.resource?.spec, { action: 'ALLOW' });
});

test('AuthorizationPolicy: CUSTOM needs a provider, provider needs CUSTOM, DENY needs rules', () => {
  assert.deepEqual(ap({ action: 'CUSTOM', rules: [{}] }), ['spec.provider.name: `provider.name` must not be empty with the CUSTOM action']);
  assert.deepEqual(ap({ action: 'CUSTOM', provider: { name: 'ext' }, rules: [{}] }), []);
  assert.match(ap({ action: 'CUSTOM', provider: { name: 'ext' } })[0] ?? '', /^spec\.rules: CUSTOM action without `rules` is meaningless/);
  assert.deepEqual(ap({ action: 'ALLOW', provider: { name: 'ext' } }), ['spec.provider: `provider` must not be with non CUSTOM action, found ALLOW']);
  assert.match(ap({ action: 'DENY' })[0] ?? '', /^spec\.rules: DENY action without `rules` is meaningless/);
  assert.deepEqual(ap({ action: 'CUSTOM', provider: { name: 'ext' }, rules: [{ from: [{ source: { principals: ['a'] } }], when: [{ key: 'source.principal', values: ['a'] }] }] }), [
    'spec.rules[0].from[0].source.principals: from.source.principals is currently not supported with CUSTOM action',
    'spec.rules[0].when[0].key: source.principal is currently not supported with CUSTOM action',
  ]);
});

test('AuthorizationPolicy: from/to/when entries must say something', () => {
  assert.deepEqual(ap({ rules: [{ from: [{}], to: [{ operation: {} }] }] }), [
    'spec.rules[0].from[0].source: `from.source` must be set',
    'spec.rules[0].to[0].operation: `to.operation` must not be empty',
  ]);
  assert.deepEqual(ap({ rules: [{ from: [{ source: { principals: [''] } }] }] }), ['spec.rules[0].from[0].source.principals[0]: empty value not allowed']);
  assert.deepEqual(ap({ rules: [{ from: [{ source: { trustDomains: ['td'] } }] }] }), ['spec.rules[0].from[0].source: `from.source` must not be empty']);
  assert.deepEqual(ap({ rules: [{ when: [{ key: 'source.ip' }] }] }), ['spec.rules[0].when[0]: at least one of `values` or `notValues` must be set for key source.ip']);
  assert.deepEqual(ap({ rules: [{ when: [{ key: '', values: ['a'] }] }] }), ['spec.rules[0].when[0].key: `key` must not be empty']);
});

test('AuthorizationPolicy: when keys must be known attributes with valid values', () => {
  assert.deepEqual(ap({ rules: [{ when: [{ key: 'request.headers[x-token]', values: ['a'] }, { key: 'source.ip', notValues: ['10.0.0.0/8', '::1'] }, { key: 'destination.port', values: ['8080'] }] }] }), []);
  assert.deepEqual(ap({ rules: [{ when: [{ key: 'source.trustDomain', values: ['cluster.local'] }] }] }), [], 'source.trustDomain is a known attribute');
  assert.deepEqual(ap({ rules: [{ when: [{ key: 'request.header[x]', values: ['a'] }] }] }), ['spec.rules[0].when[0].key: invalid `key` request.header[x]: unknown attribute: request.header[x]']);
  assert.deepEqual(ap({ rules: [{ when: [{ key: 'request.headers', values: ['a'] }] }] }), ['spec.rules[0].when[0].key: invalid `key` request.headers: bad key (request.headers): should have format a[b]']);
  assert.deepEqual(ap({ rules: [{ when: [{ key: 'source.ip', values: ['10.0.0.300'] }] }] }), ['spec.rules[0].when[0].key: invalid `key` source.ip: bad IP address (10.0.0.300)']);
  assert.deepEqual(ap({ rules: [{ when: [{ key: 'destination.labels[app]', values: ['a'] }] }] }), ['spec.rules[0].when[0].key: invalid `key` destination.labels[app]: attribute destination.labels[app] is replaced by the workload selector']);
});

test('AuthorizationPolicy: ipBlocks and ports are checked', () => {
  assert.deepEqual(ap({ rules: [{ from: [{ source: { ipBlocks: ['1.2.3.4', '10.0.0.0/33', 'fe80::/10', 'nope'] } }], to: [{ operation: { ports: ['80', '70000', 'http'] } }] }] }), [
    'spec.rules[0].from[0].source.ipBlocks[1]: bad CIDR range (10.0.0.0/33)',
    'spec.rules[0].from[0].source.ipBlocks[3]: bad IP address (nope)',
    'spec.rules[0].to[0].operation.ports[1]: bad port (70000): must be a number in 0-65535',
    'spec.rules[0].to[0].operation.ports[2]: bad port (http): must be a number in 0-65535',
  ]);
});

test('AuthorizationPolicy: serviceAccounts excludes principals/namespaces; selector and targetRefs are exclusive', () => {
  assert.deepEqual(ap({ rules: [{ from: [{ source: { serviceAccounts: ['ns/sa'], namespaces: ['ns'] } }] }] }), ['spec.rules[0].from[0].source: Cannot set serviceAccounts with namespaces or principals']);
  assert.deepEqual(ap({ selector: { matchLabels: { app: 'a' } }, targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw' }] }), [
    'spec: only one of selector, targetRef, targetRefs may be set (found selector and targetRefs)',
  ]);
  assert.deepEqual(ap({ targetRef: { kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw', namespace: 'other' } }), ['spec.targetRef.namespace: cross namespace referencing is not currently supported']);
  assert.deepEqual(ap({ targetRefs: [{ kind: 'Service', name: 'reviews' }, { kind: 'ServiceEntry', group: 'networking.istio.io', name: 'ext' }] }), []);
  assert.deepEqual(ap({ targetRef: { kind: 'Deployment', group: 'apps', name: 'web' } }), [
    'spec.targetRef.kind: targetRef must be to one of Service, networking.istio.io/ServiceEntry, gateway.networking.k8s.io/Gateway, gateway.networking.k8s.io/GatewayClass but was apps/Deployment',
  ]);
  assert.deepEqual(ap({ selector: { matchLabels: { app: 'web-*' } } }), ['spec.selector.matchLabels.app: wildcard is not supported in selector: "app=web-*"']);
});

test('AuthorizationPolicy: unknown fields and bad enum values are schema errors with suggestions', () => {
  assert.deepEqual(ap({ rules: [{ form: [] }] }), ['spec.rules[0].form: unknown field "form"; did you mean "from"?']);
  assert.deepEqual(ap({ action: 'allow' }), ['spec.action: must be one of "ALLOW", "DENY", "AUDIT", "CUSTOM" (got "allow"); did you mean "ALLOW"?']);
});

test('RequestAuthentication: issuer required, jwksUri must be http(s), jwks exclusive with jwksUri', () => {
  const rule = { issuer: 'testing@secure.istio.io', jwksUri: 'https://example.com/jwks.json' };
  assert.deepEqual(ra({ selector: { matchLabels: { app: 'a' } }, jwtRules: [rule] }), []);
  assert.deepEqual(ra({ jwtRules: [{ jwksUri: 'https://example.com/jwks.json' }] }), ['spec.jwtRules[0].issuer: issuer must be set']);
  assert.deepEqual(ra({ jwtRules: [{ ...rule, jwksUri: 'ftp://example.com/jwks.json' }] }), [
    'spec.jwtRules[0].jwksUri: jwksUri "ftp://example.com/jwks.json": URI scheme "ftp" is not supported; use http:// or https://',
  ]);
  assert.deepEqual(ra({ jwtRules: [{ ...rule, jwks: '{"keys":[]}' }] }), ['spec.jwtRules[0]: only one of jwksUri, jwks_uri, jwks may be set (found jwksUri and jwks)']);
  assert.deepEqual(ra({ jwtRules: [{ issuer: 'i', jwks: 'not json' }] }).length, 1);
  assert.match(ra({ jwtRules: [{ issuer: 'i', jwks: 'not json' }] })[0] ?? '', /^spec\.jwtRules\[0\]\.jwks: jwks parse error: /);
  assert.deepEqual(ra({ jwtRules: [{ issuer: 'i', jwks: '{"keys":[{"kty":"RSA","e":"AQAB","n":"abc"}]}' }] }), []);
});

test('RequestAuthentication: header and parameter locations must be usable', () => {
  assert.deepEqual(ra({ jwtRules: [{ issuer: 'i', fromHeaders: [{ name: 'x-jwt-assertion', prefix: 'Bearer ' }], fromParams: ['token'], outputPayloadToHeader: 'x-jwt-payload' }] }), []);
  assert.deepEqual(ra({ jwtRules: [{ issuer: 'i', jwks: '{"keys":[]}', presence: 'REQUIRED' }] }), []);
  assert.equal(ra({ jwtRules: [{ issuer: 'i', presence: 'ALWAYS' }] }).length, 1, 'presence is OPTIONAL or REQUIRED');
  assert.deepEqual(ra({ jwtRules: [{ issuer: 'i', fromHeaders: [{ name: '' }] }] }), ['spec.jwtRules[0].fromHeaders[0].name: must not be empty']);
  assert.deepEqual(ra({ jwtRules: [{ issuer: 'i', fromHeaders: [{ name: 'bad header' }], fromParams: [''], audiences: [''] }] }), [
    'spec.jwtRules[0].fromParams[0]: must not be empty',
    'spec.jwtRules[0].audiences[0]: must not be empty',
  ]);
  assert.deepEqual(ra({ jwtRules: [{ issuer: 'i', fromHeaders: [{ name: 'bad header' }] }] }), ['spec.jwtRules[0].fromHeaders[0].name: invalid header name "bad header"']);
  assert.deepEqual(ra({ jwtRules: [{ issuer: 'i', outputClaimToHeaders: [{ header: 'x y', claim: 'sub' }] }] }), [
    'spec.jwtRules[0].outputClaimToHeaders[0].header: "x y" does not match the pattern ^[-_A-Za-z0-9]+$',
  ]);
  assert.deepEqual(ra({ jwtRules: [{ issuer: 'i', timeout: '100us' }] }), ['spec.jwtRules[0].timeout: must be a valid duration greater than 1ms']);
});

test('PeerAuthentication: portLevelMtls needs a selector and valid ports', () => {
  const selector = { matchLabels: { app: 'a' } };
  assert.deepEqual(peer({ selector, mtls: { mode: 'STRICT' }, portLevelMtls: { 8080: { mode: 'DISABLE' } } }), []);
  assert.deepEqual(peer({ selector, portLevelMtls: { 0: { mode: 'DISABLE' }, 70000: { mode: 'DISABLE' }, http: {} } }), [
    'spec.portLevelMtls.0: port must be between 1-65535 (got "0")',
    'spec.portLevelMtls.70000: port must be between 1-65535 (got "70000")',
    'spec.portLevelMtls.http: port must be between 1-65535 (got "http")',
  ]);
  assert.deepEqual(peer({ selector, portLevelMtls: {} }), ['spec.portLevelMtls: must have at least 1 entry']);
  assert.deepEqual(peer({ selector: { matchLabels: {} }, portLevelMtls: { 80: { mode: 'STRICT' } } }), [
    'spec.portLevelMtls: portLevelMtls requires selector: mesh- and namespace-wide peer authentication cannot have port level mTLS',
  ]);
  assert.deepEqual(peer({ mtls: { mode: 'STRICT', extra: 1 } }), ['spec.mtls.extra: unknown field "extra" (known fields: mode)']);
});

test('Telemetry: v1 and v1alpha1, tag override rules, sampling range, custom tag oneof', () => {
  const tel = (spec: unknown, v = 'v1'): string[] => errors('Telemetry', spec, `telemetry.istio.io/${v}`);
  const spec = {
    selector: { matchLabels: { app: 'a' } },
    tracing: [{ providers: [{ name: 'zipkin' }], randomSamplingPercentage: 10, customTags: { env: { environment: { name: 'ENV', defaultValue: 'x' } } } }],
    metrics: [{ providers: [{ name: 'prometheus' }], overrides: [{ match: { metric: 'REQUEST_COUNT', mode: 'CLIENT' }, tagOverrides: { request_host: { operation: 'REMOVE' } } }] }],
    accessLogging: [{ providers: [{ name: 'envoy' }], filter: { expression: 'response.code >= 400' } }],
  };
  assert.deepEqual(tel(spec), []);
  assert.deepEqual(tel(spec, 'v1alpha1'), []);
  assert.deepEqual(tel({ metrics: [{ overrides: [{ tagOverrides: { a: { operation: 'REMOVE', value: 'x' }, b: { operation: 'UPSERT' } } }], reportingInterval: '0s' }] }), [
    'spec.metrics[0].reportingInterval: must be a valid duration greater than 1ms',
    'spec.metrics[0].overrides[0].tagOverrides.a: value must not be set when operation is REMOVE',
    'spec.metrics[0].overrides[0].tagOverrides.b: value must be set when operation is UPSERT (the default operation)',
  ]);
  assert.deepEqual(tel({ metrics: [{ overrides: [{ tagOverrides: { c: {} } }] }] }), [
    'spec.metrics[0].overrides[0].tagOverrides.c: value must be set when operation is UPSERT (the default operation)',
  ]);
  assert.deepEqual(tel({ tracing: [{ customTags: { '': { literal: { value: 'x' } }, none: {} } }] }), [
    'spec.tracing[0].customTags.: tag name may not be empty',
    'spec.tracing[0].customTags.none: tag "none" needs one of literal, environment, header or formatter',
  ]);
  const multi = validateResource({ apiVersion: 'telemetry.istio.io/v1', kind: 'Telemetry', metadata: { name: 't' }, spec: { tracing: [{}, { providers: [{ name: 'a' }, { name: 'b' }] }] } });
  assert.ok(multi.resource, 'warnings do not block the resource');
  assert.deepEqual(multi.issues.map((i) => `${i.severity} ${formatPath(i.path)}: ${i.message}`), [
    'warning spec.tracing: multiple tracing is not currently supported',
    'warning spec.tracing[1].providers: multiple providers is not currently supported',
  ]);
  assert.deepEqual(tel({ tracing: [{ randomSamplingPercentage: 150 }] }), ['spec.tracing[0].randomSamplingPercentage: must be a number between 0 and 100 (got 150)']);
  assert.deepEqual(tel({ tracing: [{ randomSamplingPercentage: null, disableSpanReporting: null }] }), [], 'wrapper types accept null');
  assert.deepEqual(tel({ metrics: [{ overrides: [{ match: { metric: 'REQUEST_COUNT', customMetric: 'x' } }] }] }), [
    'spec.metrics[0].overrides[0].match: only one of metric, customMetric may be set (found metric and customMetric)',
  ]);
});
