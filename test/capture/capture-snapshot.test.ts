/**
 * Capture listeners in the snapshot: what a proxy accepts and what it refuses, each refusal
 * naming the field. A target is a listener that binds no port; a capture listener binds its own.
 * A cluster's upstream bind address (where a captured sidecar's inbound connections leave from)
 * is an IP address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotError, validateSnapshot, type ListenerConfig, type ProxySnapshot } from '../../src/snapshot/index.js';
import { ClusterConfigError, withDefaults } from '../../src/snapshot/cluster-defaults.js';

const TCP = { routes: [{ destinations: [{ cluster: 'PassthroughCluster', weight: 1 }] }] };

function snap(listeners: ListenerConfig[]): ProxySnapshot {
  return { version: '1', node: { id: 'app-0.default', kind: 'sidecar' }, listeners, routes: [], clusters: [{ name: 'PassthroughCluster', discovery: 'original-dst', protocol: 'tcp' }] };
}

const outbound = (targets: { destination: string; listener: string }[]): ListenerConfig => ({ name: 'virtualOutbound', address: '0.0.0.0', port: 15001, direction: 'outbound', protocol: 'tcp', tcp: TCP, capture: { targets } });
const standIn = (name: string, port: number, extra: Partial<ListenerConfig> = {}): ListenerConfig => ({ name, address: '10.96.0.50', port, bindToPort: false, direction: 'outbound', protocol: 'tcp', tcp: TCP, ...extra });

function refusal(listeners: ListenerConfig[]): string {
  try {
    validateSnapshot(snap(listeners), () => null);
  } catch (err) {
    assert.ok(err instanceof SnapshotError, String(err));
    return err.message;
  }
  assert.fail('the snapshot was accepted');
}

test('a capture listener with targets of address:port, [ipv6]:port and :port is accepted, keys normalised', () => {
  const v = validateSnapshot(
    snap([outbound([{ destination: '10.96.0.50:9080', listener: 'a' }, { destination: '[fd00::1]:9080', listener: 'b' }, { destination: ':8080', listener: 'c' }]), standIn('a', 9080), standIn('b', 9080, { address: 'fd00::1' }), standIn('c', 8080, { address: '0.0.0.0' })]),
    () => null,
  );
  assert.deepEqual(
    v.snapshot.listeners[0].capture?.targets.map((t) => t.destination),
    ['10.96.0.50:9080', '[fd00::1]:9080', ':8080'],
  );
});

test('a target may be a block of addresses, IPv4 or IPv6; a /32 or /128 is its one address', () => {
  const v = validateSnapshot(
    snap([
      outbound([
        { destination: '10.0.0.0/24:5432', listener: 'a' },
        { destination: '[2001:db8::/64]:5432', listener: 'a' },
        { destination: '10.0.1.7/32:5432', listener: 'a' },
        { destination: '[2001:db8::7/128]:5432', listener: 'a' },
      ]),
      standIn('a', 5432),
    ]),
    () => null,
  );
  assert.deepEqual(
    v.snapshot.listeners[0].capture?.targets.map((t) => t.destination),
    ['10.0.0.0/24:5432', '[2001:db8::/64]:5432', '10.0.1.7:5432', '[2001:db8::7]:5432'],
  );
  // The block of one address is that address: a second target for it is refused.
  assert.equal(
    refusal([outbound([{ destination: '10.0.1.7:5432', listener: 'a' }, { destination: '10.0.1.7/32:5432', listener: 'a' }]), standIn('a', 5432)]),
    'listeners[0].capture.targets[1].destination: 10.0.1.7/32:5432 is already a target',
  );
});

test('listeners that bind no port may share an address and port with a bound one', () => {
  const v = validateSnapshot(snap([outbound([{ destination: ':15001', listener: 'x' }]), standIn('x', 15001, { address: '0.0.0.0' })]), () => null);
  assert.equal(v.snapshot.listeners.length, 2);
});

test('a target destination that is not address:port is refused, naming it', () => {
  assert.equal(refusal([outbound([{ destination: 'reviews:9080', listener: 'a' }]), standIn('a', 9080)]), 'listeners[0].capture.targets[0].destination: must be address:port, [ipv6]:port, cidr:port, [ipv6-cidr]:port or :port, got "reviews:9080"');
  assert.match(refusal([outbound([{ destination: '10.0.0.1:70000', listener: 'a' }]), standIn('a', 9080)]), /targets\[0\]\.destination: must be address:port/);
  assert.equal(refusal([outbound([{ destination: '10.0.0.0/33:5432', listener: 'a' }]), standIn('a', 5432)]), 'listeners[0].capture.targets[0].destination: the prefix length of 10.0.0.0 is at most 32, got 33, got "10.0.0.0/33:5432"');
  assert.equal(refusal([outbound([{ destination: '300.0.0.1:5432', listener: 'a' }]), standIn('a', 5432)]), 'listeners[0].capture.targets[0].destination: 300.0.0.1 is not an IPv4 address, got "300.0.0.1:5432"');
});

test('the same destination twice is refused', () => {
  assert.equal(refusal([outbound([{ destination: ':9080', listener: 'a' }, { destination: ':9080', listener: 'a' }]), standIn('a', 9080)]), 'listeners[0].capture.targets[1].destination: :9080 is already a target');
});

test('a target naming no listener, or one that binds its own port, is refused', () => {
  assert.equal(refusal([outbound([{ destination: ':9080', listener: 'nope' }])]), 'listeners[0].capture.targets[0].listener: no listener named "nope"');
  assert.match(refusal([outbound([{ destination: ':9080', listener: 'a' }]), standIn('a', 9080, { bindToPort: true })]), /targets\[0\]\.listener: listener "a" binds a port of its own/);
});

test('a capture listener that binds no port, or an unbound listener on port 0, is refused', () => {
  assert.match(refusal([{ ...outbound([]), bindToPort: false }]), /^listeners\[0\]\.bindToPort: a capture listener binds its port/);
  assert.match(refusal([standIn('a', 0)]), /^listeners\[0\]\.port: a listener that binds no port stands for a destination port/);
});

test("a cluster's upstream bind address is an IP address, or the cluster is refused naming the field", () => {
  assert.equal(withDefaults({ name: 'inbound|9080||', upstreamBindAddress: '127.0.0.6' }).upstreamBindAddress, '127.0.0.6');
  assert.equal(withDefaults({ name: 'inbound|9080||', upstreamBindAddress: '::6' }).upstreamBindAddress, '::6');
  assert.equal(withDefaults({ name: 'inbound|9080||' }).upstreamBindAddress, undefined);
  assert.throws(
    () => withDefaults({ name: 'inbound|9080||', upstreamBindAddress: 'localhost' }),
    (err: unknown) => err instanceof ClusterConfigError && err.message === 'cluster[inbound|9080||].upstreamBindAddress: must be an IPv4 or IPv6 address, got "localhost"',
  );
});
