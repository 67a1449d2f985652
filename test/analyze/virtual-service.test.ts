import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDocs, codes, deployment, destinationRule, gateway, service, summary, virtualService } from './fixtures.js';

const REVIEWS = [service('reviews'), deployment('reviews-v1', { app: 'reviews', version: 'v1' })];

test('IST0101: a route to a subset no DestinationRule defines', () => {
  const bad = analyzeDocs([...REVIEWS, destinationRule('reviews', 'reviews', ['v1']), virtualService('reviews', { hosts: ['reviews'], host: 'reviews', subset: 'v5' })]);
  assert.deepEqual(summary(bad), ['IST0101 VirtualService default/reviews: Referenced host+subset in destinationrule not found: "reviews+v5"']);
  // The message points at the subset field in the file.
  assert.equal(bad[0].origin?.file, 'set.yaml');
  assert.equal(bad[0].level, 'Error');
  const fixed = analyzeDocs([...REVIEWS, destinationRule('reviews', 'reviews', ['v1']), virtualService('reviews', { hosts: ['reviews'], host: 'reviews', subset: 'v1' })]);
  assert.deepEqual(summary(fixed), []);
});

test('IST0101: a subset defined for the FQDN host counts for the short name, not for another namespace', () => {
  const fqdn = analyzeDocs([...REVIEWS, destinationRule('reviews', 'reviews.default.svc.cluster.local', ['v1']), virtualService('reviews', { hosts: ['reviews'], host: 'reviews', subset: 'v1' })]);
  assert.deepEqual(summary(fqdn), []);
  const other = analyzeDocs([
    ...REVIEWS,
    destinationRule('reviews', 'reviews.other.svc.cluster.local', ['v1']),
    virtualService('reviews', { hosts: ['reviews'], host: 'reviews', subset: 'v1' }),
  ]);
  assert.ok(codes(other).includes('IST0101'), summary(other).join('\n'));
});

test('IST0101: a destination host no Service or ServiceEntry provides', () => {
  const bad = analyzeDocs([...REVIEWS, virtualService('reviews', { hosts: ['reviews'], host: 'reveiws' })]);
  assert.deepEqual(summary(bad), ['IST0101 VirtualService default/reviews: Referenced host not found: "reveiws"']);
  const external = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: wikipedia
spec:
  hosts: ["*.wikipedia.org"]
  ports:
  - number: 80
    name: http
    protocol: HTTP
  resolution: NONE
`;
  const fixed = analyzeDocs([...REVIEWS, external, virtualService('wiki', { hosts: ['en.wikipedia.org'], host: 'en.wikipedia.org' })]);
  assert.deepEqual(summary(fixed), []);
});

test('IST0112 and IST0101 host:port: multi-port services need a port, and it must exist', () => {
  const multi = service('api', { ports: [{ name: 'http', port: 80 }, { name: 'grpc', port: 9090 }] });
  const none = analyzeDocs([multi, virtualService('api', { hosts: ['api'], host: 'api' })]);
  assert.deepEqual(codes(none), ['IST0112']);
  assert.match(none[0].message, /exposes multiple ports \[80 9090\]/);
  const wrongPort = virtualService('api', { hosts: ['api'], host: 'api' }).replace('        host: api\n', '        host: api\n        port:\n          number: 81\n');
  assert.deepEqual(summary(analyzeDocs([multi, wrongPort])), ['IST0101 VirtualService default/api: Referenced host:port not found: "api:81"']);
  assert.deepEqual(summary(analyzeDocs([multi, wrongPort.replace('number: 81', 'number: 9090')])), []);
});

test('IST0101: a Gateway the VirtualService names must exist; IST0132: it must expose one of its hosts', () => {
  const vs = virtualService('bookinfo', { hosts: ['*'], host: 'reviews', gateways: ['bookinfo-gateway'] });
  const missing = analyzeDocs([...REVIEWS, vs]);
  assert.deepEqual(summary(missing), ['IST0101 VirtualService default/bookinfo: Referenced gateway not found: "bookinfo-gateway"']);
  // A wildcard host on a gateway VirtualService is fine with any gateway host.
  assert.deepEqual(summary(analyzeDocs([...REVIEWS, gateway('bookinfo-gateway', ['bookinfo.example.com']), vs])), []);
  const narrow = virtualService('shop', { hosts: ['shop.example.com'], host: 'reviews', gateways: ['default/bookinfo-gateway'] });
  const mismatch = analyzeDocs([...REVIEWS, gateway('bookinfo-gateway', ['bookinfo.example.com']), narrow]);
  assert.deepEqual(summary(mismatch), [
    'IST0132 VirtualService default/shop: one or more host [shop.example.com] defined in VirtualService default/shop not found in Gateway default/bookinfo-gateway.',
  ]);
  assert.equal(mismatch[0].level, 'Warning');
  assert.deepEqual(summary(analyzeDocs([...REVIEWS, gateway('bookinfo-gateway', ['*.example.com']), narrow])), []);
});

test('IST0109: two VirtualServices for the same host on the mesh gateway; gateway-bound ones merge', () => {
  const a = virtualService('reviews-a', { hosts: ['reviews'], host: 'reviews' });
  const b = virtualService('reviews-b', { hosts: ['reviews.default.svc.cluster.local'], host: 'reviews' });
  const bad = analyzeDocs([...REVIEWS, a, b]);
  assert.deepEqual(codes(bad), ['IST0109', 'IST0109']);
  assert.match(bad[0].message, /The VirtualServices default\/reviews-a,default\/reviews-b associated with mesh gateway define the same host reviews\.default\.svc\.cluster\.local/);
  const onGateway = virtualService('reviews-b', { hosts: ['reviews'], host: 'reviews', gateways: ['gw'] });
  assert.deepEqual(summary(analyzeDocs([...REVIEWS, gateway('gw', ['*']), a, onGateway])), []);
});

test('IST0130/IST0131: rules after a catch-all, and matches an earlier prefix covers, never apply', () => {
  const vs = (rules: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
${rules}`;
  const to = (subset: string) => `    route:\n    - destination:\n        host: reviews\n        subset: ${subset}\n`;
  const dr = destinationRule('reviews', 'reviews', ['v1', 'v2']);
  const catchAllFirst = analyzeDocs([...REVIEWS, dr, vs(`  - name: everything\n    match:\n    - uri:\n        prefix: /\n${to('v1')}  - match:\n    - headers:\n        end-user:\n          exact: jason\n${to('v2')}`)]);
  assert.deepEqual(summary(catchAllFirst), ['IST0130 VirtualService default/reviews: VirtualService rule #1 not used (rule "everything" before it matches every request).']);
  const covered = analyzeDocs([...REVIEWS, dr, vs(`  - match:\n    - uri:\n        prefix: /api\n${to('v1')}  - match:\n    - uri:\n        prefix: /api/v2\n${to('v2')}`)]);
  assert.deepEqual(summary(covered), ['IST0131 VirtualService default/reviews: VirtualService rule #1 match #0 of prefix /api/v2 is not used (duplicate/overlapping match in rule #0 of prefix /api on #0).']);
  assert.equal(covered[0].level, 'Info');
  // Most specific first is the fix.
  const fixed = analyzeDocs([...REVIEWS, dr, vs(`  - match:\n    - uri:\n        prefix: /api/v2\n${to('v2')}  - match:\n    - uri:\n        prefix: /api\n${to('v1')}  - route:\n    - destination:\n        host: reviews\n`)]);
  assert.deepEqual(summary(fixed), []);
});

test('IST0130 from validation keeps its code in analysis (two rules without matches)', () => {
  const doc = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
  - route:
    - destination:
        host: reviews
`;
  const msgs = analyzeDocs([...REVIEWS, doc]);
  assert.deepEqual(codes(msgs), ['IST0130']);
  assert.match(msgs[0].message, /rule #1 not used \(only the last rule can have no matches\)/);
});
