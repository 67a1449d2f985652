import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeDocs, codes, deployment, destinationRule, service, summary, virtualService } from './fixtures.js';

test('IST0174: a DestinationRule for a host nothing provides', () => {
  assert.deepEqual(summary(analyzeDocs([service('reviews'), destinationRule('reviews', 'reveiws', ['v1'])])), [
    'IST0174 DestinationRule default/reviews: The host reveiws defined in the DestinationRule does not match any services in the mesh.',
  ]);
  assert.deepEqual(summary(analyzeDocs([service('reviews'), destinationRule('reviews', 'reviews', ['v1'])])), []);
});

test('SKF0003: two DestinationRules for one host defining the same subset, or each a top-level policy', () => {
  const a = destinationRule('reviews-a', 'reviews', ['v1', 'v2']);
  const b = destinationRule('reviews-b', 'reviews.default.svc.cluster.local', ['v2']);
  const bad = analyzeDocs([service('reviews'), a, b]);
  assert.deepEqual(codes(bad), ['SKF0003', 'SKF0003']);
  assert.match(bad[0].message, /The DestinationRules default\/reviews-a,default\/reviews-b for host reviews\.default\.svc\.cluster\.local each define subset "v2"/);
  // Disjoint subsets merge cleanly, as Istio merges them.
  assert.deepEqual(summary(analyzeDocs([service('reviews'), a, destinationRule('reviews-b', 'reviews', ['v3'])])), []);
  const policy = '  trafficPolicy:\n    loadBalancer:\n      simple: ROUND_ROBIN\n';
  const twoPolicies = analyzeDocs([service('reviews'), destinationRule('p1', 'reviews', [], policy), destinationRule('p2', 'reviews', [], policy)]);
  assert.deepEqual(codes(twoPolicies), ['SKF0003', 'SKF0003']);
  assert.match(twoPolicies[0].message, /each define a top-level trafficPolicy/);
});

test('IST0118: service port names must declare a protocol (or appProtocol, or a well-known port)', () => {
  const bad = analyzeDocs([service('web', { ports: [{ name: 'web', port: 8080 }] })]);
  assert.deepEqual(summary(bad), ["IST0118 Service default/web: Port name web (port: 8080, targetPort: 8080) doesn't follow the naming convention of Istio port."]);
  assert.equal(bad[0].level, 'Info');
  const ok = analyzeDocs([
    service('web', {
      ports: [
        { name: 'http-web', port: 8080 },
        { name: 'api', port: 8443, appProtocol: 'https' },
        { name: 'grpc-web', port: 9000 },
      ],
    }),
    // A single port may be unnamed; MySQL's port is treated as TCP anyway.
    service('db', { ports: [{ port: 3306 }] }),
  ]);
  assert.deepEqual(summary(ok), []);
});

test('SKF0004: a resource defined twice; the last definition is the one analyzed', () => {
  const first = virtualService('reviews', { hosts: ['reviews'], host: 'nowhere' });
  const second = virtualService('reviews', { hosts: ['reviews'], host: 'reviews' });
  const msgs = analyzeDocs([service('reviews'), first, second]);
  assert.deepEqual(codes(msgs), ['SKF0004'], summary(msgs).join('\n'));
  assert.match(msgs[0].message, /also defined at set\.yaml:\d+:1; the last definition wins/);
});

test('validation findings become IST0106 (errors), SKF0001 (unsupported kinds) and SKF0002 (bad YAML)', () => {
  const invalid = virtualService('reviews', { hosts: ['reviews'], host: 'reviews' }).replace('  hosts:\n  - "reviews"\n', '  hosts: reviews\n');
  const workloadGroup = 'apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata:\n  name: ef\nspec: {}\n';
  const msgs = analyzeDocs([service('reviews'), invalid, workloadGroup, 'a: [1, 2\nb: 3\n']);
  assert.deepEqual(codes(msgs), ['IST0106', 'SKF0002', 'SKF0001']);
  assert.equal(msgs[0].message.startsWith('Schema validation error: spec.hosts: must be a list'), true, msgs[0].message);
  assert.deepEqual(msgs[0].resource, { kind: 'VirtualService', namespace: 'default', name: 'reviews' });
  assert.equal(msgs[2].level, 'Warning');
});

test('only the analyzed namespace is reported, unless all namespaces are asked for', () => {
  const docs = [service('reviews'), virtualService('reviews', { hosts: ['reviews'], host: 'nowhere', namespace: 'other' })];
  assert.deepEqual(codes(analyzeDocs(docs)), []);
  assert.deepEqual(codes(analyzeDocs(docs, { namespace: 'other' })), ['IST0101']);
  assert.deepEqual(codes(analyzeDocs(docs, { allNamespaces: true })), ['IST0101']);
});

test('messages are sorted errors first', () => {
  const msgs = analyzeDocs([
    service('web', { ports: [{ name: 'web', port: 8080 }] }),
    deployment('web-v1', { app: 'web' }),
    destinationRule('web', 'web', ['v1']),
    virtualService('web', { hosts: ['web'], host: 'web', subset: 'v9' }),
  ]);
  assert.deepEqual(codes(msgs), ['IST0101', 'IST0118']);
});
